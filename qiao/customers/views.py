"""Thin views: parse the request, call a selector or service, render (a partial under htmx)."""

from __future__ import annotations

import csv
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import cached_property, partial
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qiao.audit.models import Action
from qiao.audit.services import audit_list_shown, audit_record
from qiao.core.csvsafe import csv_safe_row
from qiao.core.errors import ApplicationError
from qiao.core.masking import mask_name
from qiao.core.reports import Column, Report, Table
from qiao.core.tiers import tier_label
from qiao.core.xlsx import report_to_xlsx
from qiao.customers.forms import (
    REVEAL_SECTIONS,
    AssignForm,
    CustomerFilterForm,
    ProfileForm,
    RevealForm,
    SavedGroupForm,
    reveal_choices,
)
from qiao.customers.models import ChangeSource, Customer, ExportRequest, SavedGroup
from qiao.customers.selectors import (
    RECENT_MONTHS,
    customer_changes,
    customer_completeness,
    customer_get_for_staff,
    customer_ownership_history,
    customer_search,
    customer_transactions_shown,
    customers_filter,
    customers_filter_count,
    customers_missing_owner,
    customers_visible_to,
    mask_field,
    reassignment_queue,
    saved_group_customers,
    saved_group_get_for_staff,
    saved_groups_for,
    search_query_for_audit,
    search_terms,
    staff_assignable_by,
)
from qiao.customers.services import (
    customer_assign,
    customer_reveal,
    customer_update_profile,
    export_request_create,
    export_request_decide,
    export_requests_for,
    plain_export_limits,
    saved_group_add_customers,
    saved_group_create,
    saved_group_delete,
    staff_offboard,
)
from qiao.customers.services import (
    export_request_download as export_request_download_start,
)
from qiao.customers.templatetags.customers_format import BALANCE_MASK
from qiao.org.http import StaffRequest
from qiao.org.models import Staff
from qiao.org.permissions import (
    APPROVE_EXPORT,
    ASSIGN_CUSTOMERS,
    EDIT_CUSTOMERS,
    EXPORT_CUSTOMERS,
    EXPORT_PLAIN,
    SAVE_GROUPS,
    VIEW_BALANCES,
    require_perm,
    staff_has_perm,
)


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class _Paginator(Paginator):
    """A paginator that may be told how to count (a cheaper query than the list's own)."""

    def __init__(self, object_list: Any, per_page: int, count: Callable[[], int] | None) -> None:
        super().__init__(object_list, per_page)
        self._count = count

    @cached_property
    def count(self) -> int:
        return self._count() if self._count is not None else Paginator.count.func(self)  # type: ignore[attr-defined]


def _page(
    request: HttpRequest,
    qs: Any,
    per_page: int | None = None,
    *,
    count: Callable[[], int] | None = None,
) -> Any:
    paginator = _Paginator(qs, per_page or settings.QIAO["PAGE_SIZE"], count)
    return paginator.get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _audit_shown(
    request: HttpRequest,
    page: Any,
    detail: dict[str, Any],
    *,
    lead: list[tuple[str, str, dict[str, Any]]] | None = None,
) -> None:
    """Record the customers a list page shows: one VIEW_LIST row each, after ``lead`` events,
    in one insert (docs/privacy.md, "What is audited"). ``page`` is evaluated here, once: the
    template then iterates the same rows."""
    if hasattr(page, "object_list"):
        page.object_list = list(page.object_list)
        shown = page.object_list
    else:
        shown = list(page)
    audit_list_shown(
        request_or_staff=request,
        customer_nos=(c.customer_no for c in shown),
        detail=detail,
        lead=lead or (),
    )


# ---------------------------------------------------------------- list, groups, export

#: Rendered filter forms, newest last: (language, the form's data, tier choices) → HTML.
_FILTER_HTML: OrderedDict[tuple[Any, ...], SafeString] = OrderedDict()
_FILTER_HTML_SIZE = 256
_filter_html_lock = threading.Lock()


def _filter_fields_html(form: CustomerFilterForm) -> SafeString:
    """The list's filter fields as HTML, rendered once per language, data and tier labels.

    Django renders every widget and every ``<option>`` through templates: the fourteen fields
    were ~20 % of the list page's CPU (bench/bench_request_cpu.py), for HTML that depends only on
    what is keyed here (the errors and the ``is-invalid`` marks follow from the data)."""
    tiers = form.fields["tiers"]
    given: Any = form.data  # the request's QueryDict (an empty MultiValueDict when unbound)
    data = tuple(
        (name, tuple(values)) for name, values in sorted(given.lists()) if name in form.fields
    )
    key = (translation.get_language(), form.is_bound, data, tuple(tiers.choices))  # type: ignore[attr-defined]
    with _filter_html_lock:
        html = _FILTER_HTML.get(key)
        if html is not None:
            _FILTER_HTML.move_to_end(key)
            return html
    html = SafeString(render_to_string("customers/_filter_fields.html", {"form": form}))
    with _filter_html_lock:
        _FILTER_HTML[key] = html
        while len(_FILTER_HTML) > _FILTER_HTML_SIZE:
            _FILTER_HTML.popitem(last=False)
    return html


@login_required
@require_GET
def customer_list(request: StaffRequest) -> HttpResponse:
    staff = request.user
    group: SavedGroup | None = None
    count: Callable[[], int] | None = None  # the list's own count, unless a cheaper one is known
    group_id = request.GET.get("group", "")
    if group_id.isdigit():
        group = saved_group_get_for_staff(staff=staff, group_id=int(group_id))
        qs = saved_group_customers(staff=staff, group=group)
        form = CustomerFilterForm(None)
        shown: dict[str, Any] = {"page": "group", "group": group.name}
    else:
        form = CustomerFilterForm(request.GET or None)
        filters = form.filters()
        qs = customers_filter(staff=staff, filters=filters)
        count = partial(customers_filter_count, staff=staff, filters=filters)
        shown = {"page": "list", "filter": filters.to_json()}
    page = _page(request, qs, count=count)
    _audit_shown(request, page, shown)
    context = {
        "form": form,
        "page": page,
        "query": _query_without_page(request),
        "group": group,
        "filter_fields": "" if group or request.htmx else _filter_fields_html(form),
        "groups": saved_groups_for(staff=staff),
        "group_form": SavedGroupForm(use_required_attribute=False),
        "can_export": True,
        "can_export_plain": staff_has_perm(staff, EXPORT_PLAIN),
        "show_balances": staff_has_perm(staff, VIEW_BALANCES),
    }
    if request.htmx:
        return render(request, "customers/_list_results.html", context)
    return render(request, "customers/list.html", context)


@login_required
@require_POST
def group_create(request: StaffRequest) -> HttpResponse:
    staff = request.user
    require_perm(staff, SAVE_GROUPS)
    form = SavedGroupForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the group a name and a kind."))
        return redirect("customers:list")
    filters = CustomerFilterForm(request.POST).filters()
    try:
        group = saved_group_create(
            owner=staff,
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            filters=filters,
            customer_nos=request.POST.getlist("customer_no"),
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("customers:list")
    messages.success(request, _("Group “%(name)s” saved.") % {"name": group.name})
    return redirect(f"{reverse('customers:list')}?group={group.pk}")


@login_required
@require_POST
def group_add(request: StaffRequest) -> HttpResponse:
    staff = request.user
    group_id = request.POST.get("target_group", "")
    if not group_id.isdigit():
        messages.error(request, _("Choose a static group."))
        return redirect("customers:list")
    group = saved_group_get_for_staff(staff=staff, group_id=int(group_id))
    try:
        added = saved_group_add_customers(
            group=group, by=staff, customer_nos=request.POST.getlist("customer_no")
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("customers:list")
    messages.success(
        request, _("%(n)d customers added to “%(name)s”.") % {"n": added, "name": group.name}
    )
    return redirect(f"{reverse('customers:list')}?group={group.pk}")


@login_required
@require_POST
def group_delete(request: StaffRequest, group_id: int) -> HttpResponse:
    staff = request.user
    group = saved_group_get_for_staff(staff=staff, group_id=group_id)
    saved_group_delete(group=group, by=staff)
    messages.success(request, _("Group deleted."))
    return redirect("customers:list")


# Lazy: the header is written in the exporting reader's language, not the import's.
EXPORT_COLUMNS = [
    ("customer_no", gettext_lazy("customer number")),
    ("name", gettext_lazy("name")),
    ("customer_type", gettext_lazy("type")),
    ("tier", gettext_lazy("tier")),
    ("aum", gettext_lazy("AUM (yuan)")),
    ("contribution", gettext_lazy("contribution (yuan)")),
    ("owner", gettext_lazy("owner")),
    ("outlet", gettext_lazy("outlet")),
    ("id_no", gettext_lazy("ID number")),
    ("mobile", gettext_lazy("mobile")),
    ("last_contact_at", gettext_lazy("last contact")),
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _export_values(c: Any, *, plain: bool, show_balances: bool) -> list[Any]:
    """One customer's cells in :data:`EXPORT_COLUMNS`' order, masked as every export is:
    personal fields unless ``plain``, amounts (``Decimal``) unless ``show_balances``."""
    return [
        c.customer_no,
        # A company's name is not personal information (issue 13 item 5).
        c.name if plain or c.is_corporate else mask_name(c.name),
        c.get_customer_type_display(),
        tier_label(c.tier) if c.tier else "",
        c.aum if show_balances else BALANCE_MASK,
        c.contribution if show_balances else BALANCE_MASK,
        c.primary_manager.display_name if c.primary_manager else "",
        c.branch.name,
        c.id_no if plain else mask_field("id_no", c.id_no),
        c.mobile if plain else mask_field("mobile", c.mobile),
        timezone.localtime(c.last_contact_at).isoformat() if c.last_contact_at else "",
    ]


def _watermark(staff: Staff, stamp: Any, note: str) -> str:
    # Who exported (by name; the audit trail keeps the login), when (compliance R9), and the
    # approved request if any.
    mark = _("Exported by %(user)s at %(at)s") % {
        "user": staff.display_name,
        "at": stamp.isoformat(),
    }
    return mark + note


def _export_response(
    staff: Staff, qs: Any, *, plain: bool, show_balances: bool, note: str = "", xlsx: bool = False
) -> HttpResponseBase:
    """The CSV (or, with ``xlsx``, the workbook): a watermark (who, when), a header, one row per
    customer; every cell through :func:`csv_safe_row` (formula injection); personal fields
    masked unless ``plain``; amounts masked unless ``show_balances``."""
    stamp = timezone.localtime()
    if xlsx:
        return _export_xlsx(staff, qs, plain=plain, show_balances=show_balances, note=note)

    # The rows are written after the view returns: in the request's language, not the default.
    language = translation.get_language()

    def lines() -> Any:
        with translation.override(language):
            yield from _lines()

    def money(value: Any) -> Any:
        return f"{value:.2f}" if show_balances else value

    def _lines() -> Any:
        writer = csv.writer(_Echo())
        yield "\ufeff" + writer.writerow(csv_safe_row([_watermark(staff, stamp, note)]))
        yield writer.writerow(csv_safe_row(label for _key, label in EXPORT_COLUMNS))
        for c in qs.iterator(chunk_size=2000):
            # Every cell through csv_safe: a name like =HYPERLINK(…) must not run (issue 11).
            cells = _export_values(c, plain=plain, show_balances=show_balances)
            cells[4], cells[5] = money(cells[4]), money(cells[5])
            yield writer.writerow(csv_safe_row(cells))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="customers-{staff.username}-{stamp:%Y%m%d-%H%M}.csv"'
    )
    return response


def _export_xlsx(
    staff: Staff, qs: Any, *, plain: bool, show_balances: bool, note: str = ""
) -> HttpResponse:
    """The same export as a workbook (:func:`qiao.core.xlsx.report_to_xlsx`): the same cells,
    masked the same way, amounts as numbers when shown; the watermark on its "About" sheet."""
    stamp = timezone.localtime()
    money_keys = {"aum", "contribution"} if show_balances else set()
    columns = [
        Column(key, str(label), "money" if key in money_keys else "text")
        for key, label in EXPORT_COLUMNS
    ]
    keys = [key for key, _label in EXPORT_COLUMNS]
    rows = [
        dict(zip(keys, _export_values(c, plain=plain, show_balances=show_balances), strict=True))
        for c in qs.iterator(chunk_size=2000)
    ]
    report = Report(
        name="customers",
        title=_("Customers"),
        tables=[Table("customers", _("Customers"), columns, rows)],
        notes=[_watermark(staff, stamp, note)],
    )
    response = HttpResponse(
        report_to_xlsx(report),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="customers-{staff.username}-{stamp:%Y%m%d-%H%M}.xlsx"'
    )
    return response


@login_required
@require_POST
def customer_export(request: StaffRequest) -> HttpResponseBase:
    """CSV of the filtered list, always masked; more than ``QIAO["EXPORT_LIMIT"]`` rows needs
    ``org.export_customers``. Always audited. ``plain=1`` asks for a plain export instead: a
    request with a reason that a second person approves (:func:`export_request_create`)."""
    staff = request.user
    group_id = request.POST.get("group", "")
    if group_id.isdigit():
        group = saved_group_get_for_staff(staff=staff, group_id=int(group_id))
        qs = saved_group_customers(staff=staff, group=group)
        described: dict[str, Any] = {"group": group.name}
        count: Callable[[], int] = qs.count
    else:
        filters = CustomerFilterForm(request.POST).filters()
        qs = customers_filter(staff=staff, filters=filters)
        described = filters.to_json()
        count = partial(customers_filter_count, staff=staff, filters=filters)
    back = f"{reverse('customers:list')}?{request.POST.get('query', '')}"
    if request.POST.get("plain") == "1":
        return _export_request_new(request, staff, qs, described, back)
    rows = count()
    limit = settings.QIAO["EXPORT_LIMIT"]
    if rows > limit and not staff_has_perm(staff, EXPORT_CUSTOMERS):
        audit_record(
            request_or_staff=request,
            action=Action.EXPORT,
            detail={"rows": rows, "filter": described, "refused": "limit"},
        )
        messages.error(
            request,
            _(
                "This list has %(rows)d customers; exporting more than %(limit)d needs the export permission."
            )
            % {"rows": rows, "limit": limit},
        )
        return redirect(back)
    xlsx = request.POST.get("format") == "xlsx"
    audit_record(
        request_or_staff=request,
        action=Action.EXPORT,
        # The CSV's entry as it always was; a workbook says so.
        detail={"rows": rows, "filter": described, "masked": True}
        | ({"format": "xlsx"} if xlsx else {}),
    )
    return _export_response(
        staff, qs, plain=False, show_balances=staff_has_perm(staff, VIEW_BALANCES), xlsx=xlsx
    )


def _export_request_new(
    request: HttpRequest, staff: Staff, qs: Any, described: dict[str, Any], back: str
) -> HttpResponse:
    limits = plain_export_limits()
    # One column, at most one more than the limit: enough to refuse a list that is too long.
    numbers = list(qs.values_list("customer_no", flat=True)[: limits["max_rows"] + 1])
    try:
        export_request_create(
            by=staff,
            customer_nos=numbers,
            source=described,
            reason=request.POST.get("reason", ""),
            ip=_ip(request),
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect(back)
    messages.success(
        request,
        _(
            "Your plain export of %(n)s customers waits for a second person's approval; you will find it here."
        )
        % {"n": f"{len(numbers):,}"},
    )
    return redirect("customers:exports")


@login_required
@require_GET
def export_requests(request: StaffRequest) -> HttpResponse:
    """Plain exports: one's own requests (with the download once approved) and, for an approver,
    the requests of others waiting for a decision."""
    staff = request.user
    if not (staff_has_perm(staff, EXPORT_PLAIN) or staff_has_perm(staff, APPROVE_EXPORT)):
        raise PermissionDenied
    found = export_requests_for(staff=staff)
    now = timezone.now()
    for r in found["mine"] + found["to_decide"]:
        r.described = describe_export_source(r.source)  # type: ignore[attr-defined]
        r.downloadable = (  # type: ignore[attr-defined]
            r.status == ExportRequest.Status.APPROVED
            and r.expires_at is not None
            and r.expires_at > now
        )
    context = {
        **found,
        "can_approve": staff_has_perm(staff, APPROVE_EXPORT),
        "limits": plain_export_limits(),
    }
    return render(request, "customers/export_requests.html", context)


def _decide(request: StaffRequest, request_id: int, *, approve: bool) -> HttpResponse:
    staff = request.user
    try:
        decided = export_request_decide(
            request_id=request_id,
            by=staff,
            approve=approve,
            note=request.POST.get("note", ""),
            ip=_ip(request),
        )
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404("No export request matches the given query.") from None
        if exc.status == 403:
            raise PermissionDenied(str(exc.message)) from None
        messages.error(request, str(exc.message))
        return redirect("customers:exports")
    message = (
        _("Approved: %(name)s may download the export once.")
        if approve
        else _("Refused: %(name)s has been told.")
    )
    messages.success(request, message % {"name": decided.requested_by.display_name})
    return redirect("customers:exports")


@login_required
@require_POST
def export_request_approve(request: StaffRequest, request_id: int) -> HttpResponse:
    return _decide(request, request_id, approve=True)


@login_required
@require_POST
def export_request_refuse(request: StaffRequest, request_id: int) -> HttpResponse:
    return _decide(request, request_id, approve=False)


@login_required
@require_POST
def export_request_download(request: StaffRequest, request_id: int) -> HttpResponseBase:
    staff = request.user
    try:
        approved, qs = export_request_download_start(
            request_id=request_id, by=staff, ip=_ip(request)
        )
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404("No export request matches the given query.") from None
        messages.error(request, str(exc.message))
        return redirect("customers:exports")
    note = " · " + _("plain export %(no)d, approved by %(name)s") % {
        "no": approved.pk,
        "name": approved.decided_by.display_name if approved.decided_by else "",
    }
    return _export_response(
        staff,
        qs,
        plain=True,
        show_balances=staff_has_perm(staff, VIEW_BALANCES),
        note=note,
        xlsx=request.POST.get("format") == "xlsx",
    )


def describe_export_source(source: dict[str, Any]) -> str:
    """A plain export's filter in words: the group's name, or each filter as label: value."""
    if "group" in source:
        return str(_("Saved group “%(name)s”") % {"name": source["group"]})
    form = CustomerFilterForm()
    parts: list[str] = []
    for key, value in source.items():
        if key == "sort" or key not in form.fields:
            continue
        field = form.fields[key]
        choices = dict(getattr(field, "choices", []) or [])
        values = value if isinstance(value, list) else [value]
        shown = ", ".join(str(choices.get(v, v)) for v in values)
        parts.append(f"{field.label}: {shown}")
    return "; ".join(parts) if parts else str(_("All customers you see"))


# ---------------------------------------------------------------- search


_SEARCH_SESSION_KEY = "qiao_search"


def _query_hashes(query: str) -> list[str]:
    # The session keeps keyed hashes of the query and its prefixes, never the query (a mobile or
    # an ID number typed into the box).
    return [
        salted_hmac("qiao.search", query[:i]).hexdigest()[:16] for i in range(1, len(query) + 1)
    ]


def _search_recorded(request: HttpRequest, terms: str) -> set[str] | None:
    """The customers already audited for this search, or None when it is a new search.

    The navbar's typeahead asks the server after each pause in typing. A query that extends the
    previous one, or is one of its prefixes (the user deleted a letter), asked within
    ``QIAO["SEARCH_SETTLE_SECONDS"]`` of it, is the same search: one SEARCH entry, and each
    customer it shows recorded once (decision 0008).
    """
    last = request.session.get(_SEARCH_SESSION_KEY)
    if not isinstance(last, dict):
        return None
    settle = settings.QIAO.get("SEARCH_SETTLE_SECONDS", 30)
    if time.time() - float(last.get("at", 0)) >= settle:
        return None
    mine = _query_hashes(terms)
    theirs = list(last.get("prefixes") or [])
    if not mine or not theirs:
        return None
    if theirs[-1] in mine or mine[-1] in theirs:
        return set(last.get("shown") or [])
    return None


def _search_remember(
    request: HttpRequest, terms: str, results: Sequence[Customer], recorded: set[str]
) -> None:
    shown = recorded | {c.customer_no for c in results}
    request.session[_SEARCH_SESSION_KEY] = {
        "at": time.time(),
        "prefixes": _query_hashes(terms),
        "shown": sorted(shown)[:200],
    }


@login_required
@require_http_methods(["GET", "POST"])
def search(request: StaffRequest) -> HttpResponse:
    """Search by POST so that an ID number or a mobile never lands in a URL or an access log."""
    staff = request.user
    query = request.POST.get("q", "") if request.method == "POST" else ""
    results = customer_search(staff=staff, query=query, limit=20) if query.strip() else []
    terms = search_terms(query)
    audited = search_query_for_audit(terms, results) if terms else None
    if audited is not None:
        recorded = _search_recorded(request, terms) if request.htmx else None
        if recorded is None:
            # The search and the customers it showed, in one insert.
            search_event = (
                Action.SEARCH,
                audited.customer_no,
                {"query": audited.query, "kind": audited.kind, "results": len(results)},
            )
            _audit_shown(request, results, {"page": "search"}, lead=[search_event])
        else:
            # Typing on within the same search: only the customers it shows for the first time.
            new = [c for c in results if c.customer_no not in recorded]
            _audit_shown(request, new, {"page": "search"})
        _search_remember(request, terms, results, recorded or set())
    # The page echoes a name back into the box, never a mobile or an ID number.
    echo = query if sum(ch.isdigit() for ch in query) < 7 else ""
    context = {
        "results": results,
        "query": echo,
        "searched": bool(terms),
        "show_balances": staff_has_perm(staff, VIEW_BALANCES),
    }
    if request.htmx:
        return render(request, "customers/_search_results.html", context)
    return render(request, "customers/search.html", context)


# ---------------------------------------------------------------- the 360 (served by qiao.web)


@login_required
@require_GET
def customer_transactions(request: StaffRequest, customer_no: str) -> HttpResponse:
    """The 360's transactions over more months (htmx partial): ``?months=12`` or ``all``."""
    staff = request.user
    customer = customer_get_for_staff(staff=staff, customer_no=customer_no)
    raw = request.GET.get("months", "")
    months = None if raw == "all" else int(raw) if raw.isdigit() else RECENT_MONTHS
    audit_record(
        request_or_staff=request,
        action=Action.VIEW,
        customer_no=customer.customer_no,
        detail={"section": "transactions", "months": raw or RECENT_MONTHS},
    )
    context = {
        "customer": customer,
        **customer_transactions_shown(customer=customer, months=months),
        "show_balances": staff_has_perm(staff, VIEW_BALANCES),
    }
    return render(request, "customers/_transactions.html", context)


@login_required
@require_POST
def customer_reveal_view(request: StaffRequest, customer_no: str) -> HttpResponse:
    staff = request.user
    customer = customer_get_for_staff(staff=staff, customer_no=customer_no)
    form = RevealForm(request.POST)
    section = request.POST.get("section", "")
    # One control per 360 section: it offers the section's masked values and comes back after each.
    section_ctx = (
        {"section": section, "choices": reveal_choices(customer=customer, section=section)}
        if section in REVEAL_SECTIONS
        else {}
    )
    if not form.is_valid():
        return render(
            request,
            "customers/_reveal.html",
            {
                "customer": customer,
                "field": request.POST.get("field", ""),
                "error": _("This field cannot be revealed."),
                **section_ctx,
            },
            status=400,
        )
    field = form.cleaned_data["field"]
    try:
        value = customer_reveal(
            customer=customer,
            by=staff,
            field=field,
            reason=form.cleaned_data["reason"],
            ip=_ip(request),
            channel="WEB",
        )
    except ApplicationError as exc:
        return render(
            request,
            "customers/_reveal.html",
            {
                "customer": customer,
                "field": field,
                "error": exc.message,
                "reason": form.cleaned_data["reason"],
                **section_ctx,
            },
            status=exc.status,
        )
    return render(
        request,
        "customers/_revealed.html",
        {"customer": customer, "value": value or "—", "field": field, **section_ctx},
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_edit(request: StaffRequest, customer_no: str) -> HttpResponse:
    staff = request.user
    customer = customer_get_for_staff(staff=staff, customer_no=customer_no)
    if not staff_has_perm(staff, EDIT_CUSTOMERS):
        raise PermissionDenied
    status = 200
    if request.method == "POST":
        form = ProfileForm(request.POST, customer=customer)
        form.is_valid()
        try:
            changes = customer_update_profile(
                customer=customer,
                by=staff,
                data=form.changed_data_for_service(),
                source=ChangeSource.WEB,
                ip=_ip(request),
            )
        except ApplicationError as exc:
            for field, message in exc.fields.items():
                form.add_error(field if field in form.fields else None, str(message))
            if not exc.fields:
                form.add_error(None, str(exc.message))
            status = 400
        else:
            if changes:
                messages.success(request, _("%(n)d changes saved.") % {"n": len(changes)})
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("customers:detail", customer_no=customer.customer_no)
    else:
        form = ProfileForm(customer=customer)
    # The form shows the profile (personal fields masked): a view of the customer.
    audit_record(
        request_or_staff=request,
        action=Action.VIEW,
        customer_no=customer.customer_no,
        detail={"page": "edit"},
    )
    context = {
        "customer": customer,
        "form": form,
        "changes": customer_changes(customer, limit=30),
        "completeness": customer_completeness(customer),
    }
    return render(request, "customers/edit.html", context, status=status)


# ---------------------------------------------------------------- assignment


def _require_assign(staff: Staff) -> None:
    if not staff_has_perm(staff, ASSIGN_CUSTOMERS):
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def customer_assign_view(request: StaffRequest, customer_no: str) -> HttpResponse:
    staff = request.user
    customer = customer_get_for_staff(staff=staff, customer_no=customer_no)
    _require_assign(staff)
    managers = list(staff_assignable_by(by=staff))
    form = AssignForm(request.POST or None, managers=managers)
    status = 200
    if request.method == "POST" and form.is_valid():
        manager = next(m for m in managers if m.username == form.cleaned_data["manager"])
        try:
            customer_assign(
                customers=[customer],
                manager=manager,
                role=form.cleaned_data["role"],
                by=staff,
                note=form.cleaned_data["note"],
                ip=_ip(request),
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            status = exc.status
        else:
            messages.success(
                request,
                _("%(customer)s is now managed by %(manager)s.")
                % {"customer": customer.name, "manager": manager.display_name},
            )
            return redirect("customers:detail", customer_no=customer.customer_no)
    elif request.method == "POST":
        status = 400
    audit_record(
        request_or_staff=request,
        action=Action.VIEW,
        customer_no=customer.customer_no,
        detail={"page": "assign"},
    )
    context = {
        "customer": customer,
        "form": form,
        "owners": customer_ownership_history(customer),
    }
    return render(request, "customers/assign.html", context, status=status)


@login_required
@require_GET
def assignment(request: StaffRequest) -> HttpResponse:
    """The outlet head's page: reassignment queue, must-have-owner report, bulk assignment, leavers."""
    staff = request.user
    _require_assign(staff)
    tab = request.GET.get("tab", "queue")
    qs = (
        customers_missing_owner(staff=staff)
        if tab == "missing"
        else reassignment_queue(staff=staff)
    )
    managers = list(staff_assignable_by(by=staff))
    tab = "missing" if tab == "missing" else "queue"
    page = _page(request, qs)
    _audit_shown(request, page, {"page": "assignment", "tab": tab})
    context = {
        "tab": tab,
        "page": page,
        "query": _query_without_page(request),
        "form": AssignForm(managers=managers),
        "team": staff_assignable_by(by=staff, include_inactive=True),
        "queue_count": reassignment_queue(staff=staff).count(),
        "missing_count": customers_missing_owner(staff=staff).count(),
        "show_balances": staff_has_perm(staff, VIEW_BALANCES),
    }
    if request.htmx:
        return render(request, "customers/_assignment_table.html", context)
    return render(request, "customers/assignment.html", context)


@login_required
@require_POST
def assign_bulk(request: StaffRequest) -> HttpResponse:
    staff = request.user
    _require_assign(staff)
    managers = list(staff_assignable_by(by=staff))
    form = AssignForm(request.POST, managers=managers)
    back = reverse("customers:assignment") + "?tab=" + request.POST.get("tab", "queue")
    if not form.is_valid():
        messages.error(request, _("Choose a customer manager."))
        return redirect(back)
    numbers = request.POST.getlist("customer_no")[:1000]
    customers = list(customers_visible_to(staff=staff).filter(customer_no__in=numbers))
    manager = next(m for m in managers if m.username == form.cleaned_data["manager"])
    try:
        n = customer_assign(
            customers=customers,
            manager=manager,
            role=form.cleaned_data["role"],
            by=staff,
            note=form.cleaned_data["note"],
            ip=_ip(request),
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("%(n)d customers assigned to %(manager)s.")
            % {"n": n, "manager": manager.display_name},
        )
    return redirect(back)


@login_required
@require_POST
def staff_leave(request: StaffRequest, username: str) -> HttpResponse:
    staff = request.user
    _require_assign(staff)
    member = staff_assignable_by(by=staff, include_inactive=True).filter(username=username).first()
    if member is None:
        raise Http404("No staff member matches the given query.")
    try:
        queued = staff_offboard(staff=member, by=staff, ip=_ip(request))
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("%(name)s has left; %(n)d customers wait in the reassignment queue.")
            % {"name": member.display_name, "n": queued},
        )
    return redirect(reverse("customers:assignment") + "?tab=queue")
