"""The REST API (django-ninja): OpenAPI schema at /api/openapi.json, browsable docs at /api/docs.

Same scope, same services, same audit as the pages: every endpoint goes through
``qiao.customers.selectors`` (scope) and ``qiao.customers.services`` (rules), and one
:class:`ApplicationError` becomes one JSON error shape ``{"error": ..., "fields": {...}}``.
"""

from __future__ import annotations

import json
from typing import Any, cast

from django.contrib.auth import authenticate
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Status, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer

from qiao.api.schemas import (
    AssessmentIn,
    AssessmentOut,
    CustomerDetail,
    CustomerList,
    ProfilePatch,
    RevealIn,
    RevealOut,
    TokenIn,
    TokenList,
    TokenOut,
)
from qiao.api.services import (
    api_token_issue,
    api_token_lookup,
    api_token_revoke,
    api_tokens_for_staff,
)
from qiao.audit.models import Action
from qiao.audit.services import audit_list_shown, audit_record
from qiao.campaigns.api import campaigns_router
from qiao.core.errors import ApplicationError
from qiao.customers.forms import CustomerFilterForm
from qiao.customers.models import ChangeSource, Customer
from qiao.customers.rules import CUSTOMER_FIELDS
from qiao.customers.selectors import (
    customer_completeness,
    customer_get_for_staff,
    customer_ownership_history,
    customers_filter,
    customers_filter_count,
    mask_field,
)
from qiao.customers.services import customer_reveal, customer_update_profile
from qiao.engagement.api import engagement_router
from qiao.org.http import ErrorOut
from qiao.org.models import Staff
from qiao.org.permissions import ASSESS_RISK, VIEW_BALANCES, staff_has_perm
from qiao.performance.api import performance_router
from qiao.reports.api import reports_router
from qiao.risk.api import risk_router
from qiao.suitability.api import suggestions_router
from qiao.suitability.assessments import tolerance_on
from qiao.suitability.services import assessment_record
from qiao.suitability.shelf_api import shelf_router
from qiao.surveys.api import surveys_router


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = api_token_lookup(raw=token)
        if found is None:
            return None
        # The audit trail and the services read the actor from request.user, as on the pages;
        # the token itself is kept for the routes that revoke it.
        request.user = found.staff
        request.api_token = found  # type: ignore[attr-defined]
        return found.staff


class BodyNotJSON(ValueError):
    """The request body does not parse as JSON (ninja turns any parser error into a 400)."""


class JsonParser(Parser):
    """JSON bodies whose text holds no NUL character (PostgreSQL stores none, in text or JSON)."""

    def parse_body(self, request: HttpRequest) -> Any:
        try:
            data = super().parse_body(request)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            raise BodyNotJSON(_("The request body is not valid JSON.")) from exc
        if _has_nul(data):
            raise BodyNotJSON(_("Text may not contain NUL characters."))
        return data


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


#: Largest page number and page size of a list (a million pages of the largest size is far more
#: customers than any bank has; beyond it the offset only overflows the database's integers).
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 100

_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


class QiaoAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document lists the answers every route can give besides its own:
    401 on every route behind the token, 422 on every route that takes typed input (a parameter
    or a body that does not parse). Routes declare their other statuses (400, 403, 404, 429)."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if operation.get("security"):
                    responses.setdefault(
                        401, _error_response(_("No token, or an unknown, expired or revoked one."))
                    )
                typed = operation.get("requestBody") or any(
                    _can_fail(p) for p in operation.get("parameters", [])
                )
                if typed:
                    responses.setdefault(
                        422, _error_response(_("A parameter or the body is not of the right type."))
                    )
                operation["responses"] = dict(sorted(responses.items(), key=lambda i: int(i[0])))
        return schema


def _can_fail(parameter: dict[str, Any]) -> bool:
    """Whether a parameter's value can fail to parse: not text, or a required query parameter."""
    schema = parameter.get("schema", {})
    text = schema.get("type") == "string" or (
        schema.get("type") == "array" and schema.get("items", {}).get("type") == "string"
    )
    return not text or (parameter.get("required", False) and parameter.get("in") != "path")


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


api = QiaoAPI(
    title="Qiao API",
    version="1",
    urls_namespace="api",
    description=(
        "Customer data for Qiao's customer managers. Log in with `POST /api/auth/token`, then send "
        "`Authorization: Bearer <token>`. Personal data is masked; revealing needs a reason and is "
        "audited. See docs/api.md."
    ),
    # Swagger UI from django-ninja's bundled static files (no CDN; the CSP allows 'self' only).
    docs=Swagger(settings={"persistAuthorization": False}),
    auth=BearerToken(),
    parser=JsonParser(),
)


@api.exception_handler(ApplicationError)
def _application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    # Missing and out of scope are the same answer.
    return api.create_response(request, {"error": _("Not found."), "fields": {}}, status=404)


@api.exception_handler(AuthenticationError)
def _unauthorised(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request, {"error": _("A valid bearer token is required."), "fields": {}}, status=401
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, BodyNotJSON):
        # Not JSON is a body that does not match the schema: 422, as for a missing field.
        return api.create_response(
            request,
            {
                "error": _("The request is not valid."),
                "fields": {"body": str(exc.__cause__)},
            },
            status=422,
        )
    return api.create_response(request, {"error": str(exc), "fields": {}}, status=exc.status_code)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "payload")]
        fields[".".join(loc) or "body"] = str(err.get("msg", ""))
    return api.create_response(
        request, {"error": _("The request is not valid."), "fields": fields}, status=422
    )


def _staff(request: HttpRequest) -> Staff:
    # BearerToken.authenticate put the token's staff member there (every endpoint but /auth/token).
    return cast(Staff, request.user)


def _customer(request: HttpRequest, customer_no: str) -> Customer:
    """The customer in the caller's scope, else 404 (a NUL character is in no customer number, and
    PostgreSQL refuses it in a query)."""
    if "\x00" in customer_no:
        raise Http404
    return customer_get_for_staff(staff=_staff(request), customer_no=customer_no)


def _item(c: Customer, *, balances: bool) -> dict[str, Any]:
    """``balances``: the caller holds ``org.view_balances`` (else AUM and contribution are null)."""
    return {
        "customer_no": c.customer_no,
        "name": c.name,
        "customer_type": c.customer_type,
        "tier": c.tier,
        "aum": c.aum if balances else None,
        "contribution": c.contribution if balances else None,
        "owner": c.primary_manager.username if c.primary_manager else None,
        "outlet": c.branch.code,
        "id_no": mask_field("id_no", c.id_no),
        "mobile": mask_field("mobile", c.mobile),
        "last_contact_at": c.last_contact_at,
    }


#: The customer fields the detail shows in their own way: in the list item (``branch_code`` as
#: ``outlet``), as a birth year, as numbers or a date.
_SHOWN_APART = frozenset(
    {
        *("customer_no", "customer_type", "name", "id_no", "mobile", "branch_code"),
        *("birth_date", "annual_income", "registered_capital", "open_date"),
    }
)
#: Every other customer field (their one list: qiao.customers.rules), as text, masked if personal.
_TEXT_FIELDS = tuple(f for f in CUSTOMER_FIELDS if f not in _SHOWN_APART)


def _detail(c: Customer, staff: Staff) -> dict[str, Any]:
    completeness = customer_completeness(c)
    out = _item(c, balances=staff_has_perm(staff, VIEW_BALANCES))
    out.update({f: mask_field(f, getattr(c, f)) for f in _TEXT_FIELDS})
    out.update(
        {
            "birth_year": c.birth_date.year if c.birth_date else None,
            "annual_income": c.annual_income,
            "registered_capital": c.registered_capital,
            "open_date": c.open_date,
            **_assessment(c),
            "completeness": {
                "score": completeness.score,
                "missing": [field for field, _label in completeness.missing],
            },
            "owners": [
                {
                    "username": o.staff.username,
                    "role": o.role,
                    "start_date": o.start_date,
                    "end_date": o.end_date,
                }
                for o in customer_ownership_history(c)[:50]
            ],
        }
    )
    return out


@api.post(
    "/auth/token",
    auth=None,
    response={200: TokenOut, 401: ErrorOut, 429: ErrorOut},
    summary="Log in: a bearer token for a username and password",
)
def token(request: HttpRequest, payload: TokenIn) -> Any:
    # Through django-axes (AxesStandaloneBackend): failures count towards the same lock-out as
    # the log-in page, per username and address.
    staff = authenticate(request=request, username=payload.username, password=payload.password)
    if getattr(request, "axes_locked_out", False):
        audit_record(
            request_or_staff=request,
            action=Action.LOGIN_FAILED,
            username=payload.username[:150],
            detail={"locked_out": True},
        )
        return Status(
            429, {"error": _("Too many failed log-in attempts; try again later."), "fields": {}}
        )
    if staff is None or not staff.is_active:
        audit_record(
            request_or_staff=request, action=Action.LOGIN_FAILED, username=payload.username[:150]
        )
        return Status(401, {"error": _("The username or password is wrong."), "fields": {}})
    raw, issued = api_token_issue(staff=staff)
    request.user = staff
    audit_record(
        request_or_staff=request, action=Action.API_TOKEN, detail={"prefix": issued.prefix}
    )
    return Status(200, {"token": raw, "expires_at": issued.expires_at})


@api.delete(
    "/auth/token",
    response={204: None},
    summary="Log out: revoke the token this request is sent with",
)
def token_revoke_current(request: HttpRequest) -> Any:
    current = request.api_token  # type: ignore[attr-defined]
    api_token_revoke(staff=_staff(request), token_id=current.pk)
    audit_record(
        request_or_staff=request,
        action=Action.TOKEN_REVOKE,
        detail={"prefix": current.prefix, "how": "itself"},
    )
    return Status(204, None)


@api.get(
    "/auth/tokens",
    response={200: TokenList},
    summary="Your unexpired tokens (never the tokens themselves)",
)
def tokens(request: HttpRequest) -> Any:
    current = request.api_token  # type: ignore[attr-defined]
    return {
        "items": [
            {
                "id": t.pk,
                "prefix": t.prefix,
                "created_at": t.created_at,
                "expires_at": t.expires_at,
                "last_used_at": t.last_used_at,
                "current": t.pk == current.pk,
            }
            for t in api_tokens_for_staff(staff=_staff(request))
        ]
    }


@api.delete(
    "/auth/tokens/{token_id}",
    response={204: None, 404: ErrorOut},
    summary="Revoke one of your tokens (another device's, a leaked one)",
)
def token_revoke(request: HttpRequest, token_id: int) -> Any:
    revoked = api_token_revoke(staff=_staff(request), token_id=token_id)
    if revoked is None:  # nobody's, or somebody else's: the same answer
        raise Http404
    audit_record(
        request_or_staff=request,
        action=Action.TOKEN_REVOKE,
        detail={"prefix": revoked.prefix, "how": "by id"},
    )
    return Status(204, None)


def _bounded(value: int, field: str, low: int, high: int) -> dict[str, str]:
    if low <= value <= high:
        return {}
    return {
        field: _("%(field)s must be between %(low)s and %(high)s.")
        % {"field": field, "low": low, "high": f"{high:,}"}
    }


@api.get(
    "/customers",
    response={200: CustomerList, 400: ErrorOut},
    summary="Customers in your scope, filtered",
)
def customers(
    request: HttpRequest,
    tiers: list[str] = Query([]),  # noqa: B008
    customer_type: str = "",
    aum_min: str = "",
    aum_max: str = "",
    age_band: str = "",
    gender: str = "",
    occupation: str = "",
    product: str = "",
    category: str = "",
    ebanking: str = "",
    payroll: str = "",
    owner: str = "",
    outlet: str = "",
    sort: str = "-aum",
    page: int = Query(1, description=f"From 1 to {MAX_PAGE:,}."),
    page_size: int = Query(25, description=f"From 1 to {MAX_PAGE_SIZE}."),
) -> Any:
    """The same filter as the customer list page (amounts in yuan); ``page`` from 1, ``page_size``
    at most 100 (400 outside). ``id_no`` and ``mobile`` are masked."""
    bounds = {
        **_bounded(page, "page", 1, MAX_PAGE),
        **_bounded(page_size, "page_size", 1, MAX_PAGE_SIZE),
    }
    data: dict[str, Any] = {
        "customer_type": customer_type,
        "aum_min": aum_min,
        "aum_max": aum_max,
        "age_band": age_band,
        "gender": gender,
        "occupation": occupation,
        "product": product,
        "category": category,
        "ebanking": ebanking,
        "payroll": payroll,
        "owner": owner,
        "outlet": outlet,
        "sort": sort,
    }
    form = CustomerFilterForm(data={**data, "tiers": tiers})
    if not form.is_valid() or bounds:
        raise ApplicationError(
            _("The filter is not valid."),
            fields={
                **{f: " ".join(str(m) for m in msgs) for f, msgs in form.errors.items()},
                **bounds,
            },
        )
    staff, filters = _staff(request), form.filters()
    qs = customers_filter(staff=staff, filters=filters)
    start = (page - 1) * page_size
    shown = list(qs[start : start + page_size])
    # One VIEW_LIST row per customer shown, in one insert, as the list pages do.
    audit_list_shown(
        request_or_staff=request,
        customer_nos=(c.customer_no for c in shown),
        detail={"page": "api list"},
    )
    balances = staff_has_perm(staff, VIEW_BALANCES)
    items = [_item(c, balances=balances) for c in shown]
    return {"items": items, "count": customers_filter_count(staff=staff, filters=filters)}


@api.get(
    "/customers/{customer_no}",
    response={200: CustomerDetail, 404: ErrorOut},
    summary="One customer (personal data masked)",
)
def customer(request: HttpRequest, customer_no: str) -> Any:
    c = _customer(request, customer_no)
    audit_record(request_or_staff=request, action=Action.VIEW, customer_no=c.customer_no)
    return _detail(c, _staff(request))


@api.patch(
    "/customers/{customer_no}",
    response={200: CustomerDetail, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Change profile fields (same validation as the pages)",
)
def customer_patch(request: HttpRequest, customer_no: str, payload: ProfilePatch) -> Any:
    c = _customer(request, customer_no)
    # The schema documents and type-checks the known fields; the raw body also carries any
    # unknown ones, which the service refuses by name (rather than silently dropping them).
    try:
        raw = json.loads(request.body or b"{}")
    except ValueError:
        raw = None
    if not isinstance(raw, dict):
        raise ApplicationError(_("Send a JSON object of fields to change."))
    data = {**payload.model_dump(exclude_unset=True), **raw}
    if not data:
        raise ApplicationError(_("Send at least one field to change."))
    customer_update_profile(
        customer=c,
        by=_staff(request),
        data=data,
        source=ChangeSource.API,
        ip=request.META.get("REMOTE_ADDR"),
    )
    return _detail(c, _staff(request))


@api.post(
    "/customers/{customer_no}/reveal",
    response={200: RevealOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    summary="Reveal one masked value, for a reason (audited, rate-limited)",
)
def customer_reveal_api(request: HttpRequest, customer_no: str, payload: RevealIn) -> Any:
    c = _customer(request, customer_no)
    value = customer_reveal(
        customer=c,
        by=_staff(request),
        field=payload.field,
        reason=payload.reason,
        ip=request.META.get("REMOTE_ADDR"),
        channel="API",
    )
    return {"field": payload.field, "value": value}


def _assessment(c: Customer) -> dict[str, Any]:
    """``risk_tolerance`` (the latest assessment's, while valid) and ``assessment_expires``."""
    tolerance, until = tolerance_on(c)
    return {"risk_tolerance": tolerance or None, "assessment_expires": until}


@api.post(
    "/customers/{customer_no}/assessments",
    response={201: AssessmentOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Record a risk assessment made today with the customer (audited)",
)
def customer_assessment_api(request: HttpRequest, customer_no: str, payload: AssessmentIn) -> Any:
    c = _customer(request, customer_no)
    staff = _staff(request)
    if not staff_has_perm(staff, ASSESS_RISK):
        raise ApplicationError(_("You do not have permission to assess customers."), status=403)
    a = assessment_record(
        customer=c,
        by=staff,
        answers=payload.answers,
        customer_signed=payload.customer_signed,
        qualified_investor=payload.qualified_investor,
        qualified_evidence=payload.qualified_evidence,
        assessed_on=payload.assessed_on,
        ip=request.META.get("REMOTE_ADDR"),
        channel="API",
    )
    return Status(
        201,
        {
            "customer_no": c.customer_no,
            "tolerance": a.tolerance,
            "score": a.score,
            "assessed_on": a.assessed_on,
            "valid_until": a.valid_until,
            "questionnaire_version": a.questionnaire_version,
            "source": a.source,
            "elderly": a.elderly,
            "qualified_investor": a.qualified_investor,
        },
    )


# The engagement endpoints (work list, contacts) share the token auth and the error shape.
api.add_router("/", engagement_router)
# The next-best products of a customer (qiao.suitability.api).
api.add_router("/", suggestions_router)
# The product shelf (qiao.suitability.shelf_api).
api.add_router("/", shelf_router)
# Campaigns and segments (qiao.campaigns.api).
api.add_router("/", campaigns_router)
# Early warning and group exposure (qiao.risk.api).
api.add_router("/", risk_router)
# Scorecards, reports and surveys (qiao.performance.api, qiao.reports.api, qiao.surveys.api).
api.add_router("/", performance_router)
api.add_router("/", reports_router)
api.add_router("/", surveys_router)
