"""The persona matrix: every URL and API route of every app, read and write, with every role.

``POLICY`` holds one decision per route (keyed by its pattern and name, as Django resolves it):
the requests that exercise it and, for each persona, the status it must answer. A route added
to any app without a row here fails :func:`test_every_route_has_a_decision`; each persona then
walks every row (:func:`test_the_matrix`). The bank is the workbench bank (tests/workbench/
conftest.py) plus the roles it lacks, a former manager of X, and the engagement objects about X.

Out of scope answers as missing does (404); in scope without the permission is 403.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from qiao.api.services import api_token_issue
from qiao.customers.models import Ownership, SavedGroup
from qiao.customers.services import export_request_create
from qiao.engagement.models import Complaint, Plan, Task, WorkItem
from qiao.engagement.services import (
    complaint_create,
    contact_log,
    plan_create,
    prospect_create,
    referral_create,
)
from qiao.engagement.worklist import worklist_generate
from qiao.org.models import Role, Staff
from qiao.products.models import Product
from qiao.suitability.models import Suggestion
from tests.workbench.conftest import PASSWORD, _staff

PERSONAS = [
    "anonymous",
    "cm_owner",  # X's manager
    "cm_peer",  # a CM of X's outlet who does not manage X
    "cm_other",  # a CM of the other outlet
    "outlet_head",  # head of X's outlet
    "team_lead",  # team lead at X's outlet
    "head_office",  # analyst
    "auditor",
    "product_manager",
    "risk_manager",
    "marketing",  # marketing manager at head office: bank-wide reader of customers, masked
    "lobby",  # lobby manager at X's outlet
    "teller",  # the lobby / teller role at the other outlet
    "superuser",  # an administrator with superuser status
    "former",  # managed X until the outlet head reassigned X to cm_owner
]
STAFF = [p for p in PERSONAS if p != "anonymous"]

SEES_X = {
    "cm_owner",
    "outlet_head",
    "team_lead",
    "head_office",
    "auditor",
    "product_manager",
    "risk_manager",
    "marketing",
    "superuser",
}
SERVE = {"cm_owner", "cm_peer", "cm_other", "outlet_head", "team_lead", "former"}
LOBBY = {"lobby", "teller"}
READERS = {"head_office", "auditor", "product_manager", "risk_manager", "marketing", "superuser"}
#: Subtree and bank-wide readers of engagement objects owned by X's outlet's staff.
OVER_X = {"outlet_head", "team_lead"} | READERS


@dataclass
class World:
    staff: dict[str, Staff]
    x: Any
    y: Any
    ids: dict[str, Any]
    tokens: dict[str, str] = field(default_factory=dict)


def everyone(status: int, *, anonymous: int = 302) -> Callable[[str], int]:
    return lambda p: anonymous if p == "anonymous" else status


def only(allowed: set[str], ok: int, *, denied: int = 403, anonymous: int = 302) -> Callable:
    """``ok`` for ``allowed``, ``denied`` for other staff (no permission, not out of scope)."""

    def expect(p: str) -> int:
        if p == "anonymous":
            return anonymous
        return ok if p in allowed else denied

    return expect


def on_x(ok: int, allowed: set[str] | None = None, *, anonymous: int = 302) -> Callable:
    """About customer X: 404 out of scope, 403 in scope without the permission, else ``ok``."""

    def expect(p: str) -> int:
        if p == "anonymous":
            return anonymous
        if p not in SEES_X:
            return 404
        return ok if allowed is None or p in allowed else 403

    return expect


def walk_in(expect: Callable[[str], int], ok: int) -> Callable[[str], int]:
    """``expect``, but ``ok`` for the lobby and teller: a walk-in customer of their sub-branch."""
    return lambda p: ok if p in LOBBY else expect(p)


def table(**by: int) -> Callable[[str], int]:
    """Spelled out: ``default`` for anyone not named."""
    default = by.pop("default")
    return lambda p: by.get(p, default)


@dataclass
class Probe:
    method: str
    url: Callable[[World], str]
    expect: Callable[[str], int]
    data: Callable[[World], dict[str, Any]] | dict[str, Any] | None = None
    api: bool = False


def _get(url: str | Callable[[World], str], expect: Callable, **kw: Any) -> Probe:
    return Probe("get", url if callable(url) else (lambda w, u=url: u), expect, **kw)


def _post(url: str | Callable[[World], str], expect: Callable, data: Any = None, **kw: Any):
    return Probe("post", url if callable(url) else (lambda w, u=url: u), expect, data, **kw)


def _x(path: str) -> Callable[[World], str]:
    return lambda w: path.format(x=w.x.customer_no, **w.ids)


API = {"anonymous": 401}


def _api(method: str, path: str, expect: Callable, data: Any = None) -> Probe:
    return Probe(method, _x(path), expect, data, api=True)


def _contact(w: World) -> dict[str, Any]:
    return {"channel": "PHONE", "at": timezone.localtime().strftime("%Y-%m-%d %H:%M")}


def _plan(w: World) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "title": "开门红",
        "period": "QUARTERLY",
        "start": today.isoformat(),
        "end": (today + dt.timedelta(days=80)).isoformat(),
        "target_amount": "100000",
        "customer_no": w.x.customer_no,
    }


def _answers(prefix: str) -> dict[str, str]:
    """The first answer to every question of the risk questionnaire (the file's)."""
    from qiao.suitability.questionnaire import parse_questionnaire

    return {prefix + q.id: q.answers[0].id for q in parse_questionnaire(None).questions}


#: Who sets and splits targets (performance, issue 17): SET_TARGETS.
TARGET_SETTERS = {"head_office", "outlet_head", "team_lead"}


def _perf_target_form(w: World) -> dict[str, Any]:
    """A target for X's manager (performance, issue 17)."""
    return {
        "staff": w.staff["cm_owner"].pk,
        "period": "2026-11",
        "measure": "contacts",
        "value": "10",
    }


def _perf_split_form(w: World) -> dict[str, Any]:
    """A year's target of X's manager, split into quarters (performance, issue 17)."""
    from qiao.performance.models import Target

    target, _created = Target.objects.get_or_create(
        staff=w.staff["cm_owner"],
        period_kind="YEAR",
        period_start=dt.date(2026, 1, 1),
        measure="contacts",
        defaults={"value": Decimal(120)},
    )
    return {"target": target.pk, "to": "QUARTER"}


#: Satisfaction surveys (issue 17 item 6): who records answers and who edits the surveys.
SURVEY_RECORDERS = SERVE | {"lobby", "teller"}
SURVEY_MANAGERS = {"head_office", "marketing", "outlet_head"}


def _survey_url(path: str) -> Callable[[World], str]:
    """A built-in survey's page (surveys, issue 17): the built-in surveys loaded on first use."""

    def url(w: World) -> str:
        from qiao.surveys.services import surveys_load_builtin

        surveys_load_builtin()
        return path

    return url


def _survey_answer(w: World) -> dict[str, Any]:
    """An anonymous paper answer to the after-contact survey (surveys, issue 17)."""
    return {"survey": "after-contact", "q_csat": "5", "q_nps": "9", "valid": "on"}


def _survey_edit(w: World) -> dict[str, Any]:
    """The after-contact survey's texts, unchanged but for its English name (surveys, issue 17)."""
    from qiao.surveys.models import Survey

    s = Survey.objects.get(code="after-contact")
    data = {
        f: getattr(s, f)
        for f in (
            "name_zh_hans",
            "name_zh_hant",
            "invitation",
            "invitation_zh_hans",
            "invitation_zh_hant",
        )
    }
    return {**data, "name": "After a contact (edited)", "active": "on"}


#: Key accounts and early warning (docs/keyaccounts.md): X's objects, made on first use.
RISKY = SERVE | {"risk_manager"}  # who proposes a closer watch or keeps an exit plan


def _risk_url(kind: str, path: str) -> Callable[[World], str]:
    def url(w: World) -> str:
        from qiao.customers.models import CustomerGroup, GroupMembership
        from qiao.risk.models import ExitPlan, ExitStep, KeyAccount, WarningTransition

        today = timezone.localdate()
        if kind == "ka":
            # Next year's list: apart from this year's, which the propose row adds to.
            ka = KeyAccount.objects.filter(customer=w.x, year=today.year + 1).first()
            if ka is None:
                ka = KeyAccount.objects.create(
                    customer=w.x,
                    year=today.year + 1,
                    grade="KA3",
                    source="MANUAL",
                    proposed_by=w.staff["cm_owner"],
                    proposed_at=timezone.now(),
                )
            return path.format(pk=ka.pk)
        if kind == "change":
            t = WarningTransition.objects.filter(customer=w.x, status="PROPOSED").first()
            if t is None:
                t = WarningTransition.objects.create(
                    customer=w.x,
                    from_state="NORMAL",
                    to_state="WATCH",
                    reasons=[{"code": "OVERDUE", "params": {"state": "WATCH", "days": 5}}],
                    as_of=today,
                    proposed_at=timezone.now(),
                )
            return path.format(pk=t.pk)
        if kind == "step":
            plan = ExitPlan.objects.filter(customer=w.x).first() or ExitPlan.objects.create(
                customer=w.x,
                start=today,
                target_date=today + dt.timedelta(days=90),
                start_exposure=Decimal("1000"),
                exposure=Decimal("1000"),
                measured_on=today,
            )
            step = plan.steps.first() or ExitStep.objects.create(
                plan=plan, kind="RECOVER", due=today
            )
            return path.format(pk=plan.pk, step=step.pk)
        group, _ = CustomerGroup.objects.get_or_create(code="G-X", defaults={"name": "张氏家族"})
        GroupMembership.objects.get_or_create(
            group=group, customer=w.x, defaults={"member_role": "OTHER", "link_type": "FAMILY"}
        )
        return path.format(pk=group.pk)

    return url


RESOLVE = {"status": "IN_PROGRESS", "resolution": "", "service_recovery": ""}
#: Who makes campaigns (org.manage_campaigns, org.approve_campaigns): marketing and outlet heads.
CAMPAIGNERS = {"marketing", "outlet_head"}


def on_campaign(ok: int, allowed: set[str] | None = None, *, anonymous: int = 302) -> Callable:
    """About a campaign of X's outlet head: read by the outlet's head and team lead and by the
    bank-wide roles (OVER_X); 404 for anyone else, 403 to a reader without the permission."""

    def expect(p: str) -> int:
        if p == "anonymous":
            return anonymous
        if p not in OVER_X:
            return 404
        return ok if allowed is None or p in allowed else 403

    return expect


def _campaign_post(w: World) -> dict[str, Any]:
    return {
        "name": "白金客户短信",
        "aim": "CROSS_SELL",
        "segment": w.ids["segment_o"],
        "products": ["SUG1"],
        "starts_on": (timezone.localdate() + dt.timedelta(days=1)).isoformat(),
        "window_days": "30",
        "budget": "1000",
        "control_pct": "10",
        "exclude_contacted_days": "7",
        "exclude_complaints": "on",
        "s1_channel": "SMS",
        "s1_delay_days": "0",
        "s1_cost_per_contact": "0.05",
        "s1_A_zh_hans_body": "{name}您好，{product}上新。",
    }


def _segment_file(w: World) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = f"{w.x.customer_no}\nNOPE!\n".encode()
    return {"name": "名单", "file": SimpleUploadedFile("list.csv", data, "text/csv")}


API_READ = on_x(200, anonymous=401)

#: One decision per route: "pattern name" → the requests that exercise it.
POLICY: dict[str, list[Probe]] = {
    # ------------------------------------------------------------------ web: home, log-in
    " home": [_get("/", everyone(200))],
    "login/ login": [_get("/login/", everyone(200, anonymous=200))],
    "logout/ logout": [],  # walked last by test_the_matrix: it ends the session
    # The menu's language switch (Django's set_language): anyone, the log-in page too; it keeps
    # the choice in a cookie and redirects back (a GET changes nothing and redirects as well).
    "i18n/setlang/ set_language": [
        _post("/i18n/setlang/", everyone(302, anonymous=302), {"language": "en", "next": "/"}),
        _get("/i18n/setlang/", everyone(302, anonymous=302)),
    ],
    # ------------------------------------------------------------------ customers
    "customers/ list": [_get("/customers/", everyone(200))],
    "customers/search/ search": [
        _get("/customers/search/", everyone(200)),
        _post("/customers/search/", everyone(200), {"q": "张三"}),
    ],
    "customers/export/ export": [_post("/customers/export/", everyone(200), {})],
    # Plain exports (maker-checker): a deputy outlet head of X's outlet asked for two.
    "customers/exports/ exports": [_get("/customers/exports/", only({"outlet_head"}, 200))],
    "customers/exports/<int:request_id>/approve/ export_approve": [
        _post(_x("/customers/exports/{export}/approve/"), only({"outlet_head"}, 302), {})
    ],
    "customers/exports/<int:request_id>/refuse/ export_refuse": [
        _post(
            _x("/customers/exports/{export2}/refuse/"),
            only({"outlet_head"}, 302),
            {"note": "理由不充分"},
        )
    ],
    # Only the one who asked downloads: for every persona here, another's request is missing.
    "customers/exports/<int:request_id>/download/ export_download": [
        _post(_x("/customers/exports/{export}/download/"), table(anonymous=302, default=404))
    ],
    "customers/groups/ group_create": [
        _post(
            "/customers/groups/",
            # The role table gives org.save_groups to the serving roles and the analysts,
            # auditors, product and risk managers, not to marketing (asked of the lead).
            only(SERVE | READERS - {"superuser", "marketing"}, 302),
            {"name": "我的分组", "kind": "STATIC"},
        )
    ],
    "customers/groups/add/ group_add": [
        _post(
            "/customers/groups/add/",
            table(cm_owner=302, anonymous=302, default=404),  # another's group is missing
            lambda w: {"target_group": w.ids["group"], "customer_no": [w.x.customer_no]},
        )
    ],
    "customers/groups/<int:group_id>/delete/ group_delete": [
        _post(
            _x("/customers/groups/{group}/delete/"), table(cm_owner=302, anonymous=302, default=404)
        )
    ],
    "customers/assignment/ assignment": [
        _get("/customers/assignment/", only({"outlet_head"}, 200))
    ],
    "customers/assignment/assign/ assign_bulk": [
        _post(
            "/customers/assignment/assign/",
            only({"outlet_head"}, 302),
            lambda w: {"customers": [w.x.customer_no], "manager": w.staff["cm_owner"].pk},
        )
    ],
    "customers/assignment/staff/<str:username>/leave/ staff_leave": [
        _get("/customers/assignment/staff/cm_peer/leave/", everyone(405)),
        _post("/customers/assignment/staff/cm_peer/leave/", only({"outlet_head"}, 302)),
    ],
    "customers/<str:customer_no>/ detail": [_get(_x("/customers/{x}/"), on_x(200))],
    "customers/<str:customer_no>/reveal/ reveal": [
        _post(
            _x("/customers/{x}/reveal/"),
            on_x(200, SERVE),
            {"field": "mobile", "reason": "回访客户"},
        )
    ],
    "customers/<str:customer_no>/transactions/ transactions": [
        _get(_x("/customers/{x}/transactions/"), on_x(200))
    ],
    "customers/<str:customer_no>/edit/ edit": [
        _get(_x("/customers/{x}/edit/"), on_x(200, SERVE | {"superuser"})),
        _post(_x("/customers/{x}/edit/"), on_x(302, SERVE | {"superuser"}), {}),
    ],
    "customers/<str:customer_no>/assign/ assign": [
        _get(_x("/customers/{x}/assign/"), on_x(200, {"outlet_head"})),
    ],
    # The risk assessment (qiao.suitability): those who serve customers (org.assess_risk), on a
    # customer in their scope. The page's POST leaves out the signature (a form error, nothing
    # kept), so the API's POST below records the day's one assessment.
    "customers/<str:customer_no>/assess/ assessment_new": [
        _get(_x("/customers/{x}/assess/"), on_x(200, SERVE)),
        _post(_x("/customers/{x}/assess/"), on_x(200, SERVE), lambda w: _answers("q_")),
    ],
    # Marketing consent and contact preferences (qiao.customers.consent): those who serve the
    # customer (org.edit_consent) on a customer in their scope; readers 403, out of scope 404.
    # The GET is the page; the POST records SMS consent given today (a change, audited: 302).
    "customers/<str:customer_no>/consent/ consent": [
        _get(_x("/customers/{x}/consent/"), on_x(200, SERVE)),
        _post(
            _x("/customers/{x}/consent/"),
            on_x(302, SERVE),
            lambda w: {
                "form": "consent",
                "c-channel": "SMS",
                "c-state": "GIVEN",
                "c-on": timezone.localdate().isoformat(),
                "c-evidence": "签字授权书",
            },
        ),
    ],
    # ------------------------------------------------------------------ audit, analyst
    "audit/ list": [_get("/audit/", only({"auditor"}, 200))],
    "analyst/ analyst": [
        _get(
            # Others get 404, as decided with the page (tests/scoring/test_analyst.py).
            "/analyst/",
            # The bank-wide roles but the auditor (ANALYST_ROLES): marketing too.
            only(
                {"head_office", "risk_manager", "product_manager", "marketing", "superuser"},
                200,
                denied=404,
            ),
        )
    ],
    # ------------------------------------------------------------------ the product shelf
    "products/ shelf": [_get("/products/", everyone(200))],
    "products/new/ product_new": [
        _get("/products/new/", only({"product_manager"}, 200)),
        _post(
            "/products/new/",
            only({"product_manager"}, 302),
            {
                "code": "NEW1",
                "name": "新产品",
                "category": "DEMAND",
                "currency": "CNY",
                "sale_status": "NEW_ISSUE",
            },
        ),
    ],
    # The catalogue is for everyone; the customers on a product page are the viewer's scope's.
    "products/<str:code>/ product": [_get("/products/FND1/", everyone(200))],
    "products/<str:code>/edit/ product_edit": [
        _get("/products/FND1/edit/", only({"product_manager"}, 200)),
        _post(
            "/products/FND1/edit/",
            only({"product_manager"}, 302),
            {
                "name": "稳健基金",
                "category": "FUND",
                "seller_risk_level": "R3",
                "currency": "CNY",
                "sale_status": "ON_SALE",
                "rate": "2.5",
            },
        ),
    ],
    # ------------------------------------------------------------------ next-best products
    # A suggestion for X: decided by those who serve X (the permission), 404 out of scope.
    "suggestions/<int:suggestion_id>/decide/ suggestion_decide": [
        _post(
            _x("/suggestions/{suggestion}/decide/"),
            on_x(302, SERVE),  # a permission over customers: not by superuser status alone
            {"status": "NOT_NOW"},
        )
    ],
    # ------------------------------------------------------------------ key accounts, risk
    # The risk page: the risk manager (confirms warnings) and the outlet head (approves key
    # accounts); the key-account list is everyone's, scoped. Proposals by those who serve X
    # (404 out of scope), decisions by the outlet head (key accounts) and the risk manager.
    "risk/ home": [_get("/risk/", only({"risk_manager", "outlet_head"}, 200))],
    "risk/key-accounts/ key_accounts": [_get("/risk/key-accounts/", everyone(200))],
    "risk/key-accounts/propose/ key_account_propose": [
        _post(
            "/risk/key-accounts/propose/",
            table(
                cm_owner=302,
                outlet_head=302,
                team_lead=302,
                cm_peer=404,
                cm_other=404,
                former=404,
                anonymous=302,
                default=403,
            ),
            {"customer_no": "{x}", "grade": "KA3", "note": "结算量大"},
        )
    ],
    # The yearly freeze: an outlet head freezes their own outlet's list only (KeyAccountYear.unit;
    # docs/keyaccounts.md, "The yearly freeze"); nobody else holds org.approve_key_accounts.
    "risk/key-accounts/freeze/ key_accounts_freeze": [
        _post("/risk/key-accounts/freeze/", only({"outlet_head"}, 302), {})
    ],
    "risk/key-accounts/<int:pk>/decide/ key_account_decide": [
        _post(
            _risk_url("ka", "/risk/key-accounts/{pk}/decide/"),
            only({"outlet_head"}, 302),
            {"decision": "approve"},
        )
    ],
    "risk/key-accounts/<int:pk>/remove/ key_account_remove": [
        _post(
            _risk_url("ka", "/risk/key-accounts/{pk}/remove/"),
            table(
                cm_owner=302,
                outlet_head=302,
                team_lead=302,
                cm_peer=404,
                cm_other=404,
                former=404,
                anonymous=302,
                default=403,
            ),
            {"note": "不再符合"},
        )
    ],
    "risk/key-accounts/<int:pk>/team/ key_account_team": [
        _post(
            _risk_url("ka", "/risk/key-accounts/{pk}/team/"),
            table(
                cm_owner=302,
                outlet_head=302,
                team_lead=302,
                cm_peer=404,
                cm_other=404,
                former=404,
                anonymous=302,
                default=403,
            ),
            {"username": "cm_peer", "role": "BACKUP_CM"},
        )
    ],
    "risk/changes/<int:pk>/decide/ transition_decide": [
        _post(
            _risk_url("change", "/risk/changes/{pk}/decide/"),
            only({"risk_manager"}, 302),
            {"decision": "confirm"},
        )
    ],
    "risk/customers/<str:customer_no>/propose/ warning_propose": [
        _post(
            _x("/risk/customers/{x}/propose/"), on_x(302, RISKY), {"state": "DOUBTFUL", "note": "x"}
        )
    ],
    "risk/customers/<str:customer_no>/exit-plan/ exit_plan_new": [
        _post(_x("/risk/customers/{x}/exit-plan/"), on_x(302, RISKY), {"target_date": "2099-01-01"})
    ],
    "risk/exit-plans/<int:pk>/steps/<int:step_id>/done/ exit_step_done": [
        _post(_risk_url("step", "/risk/exit-plans/{pk}/steps/{step}/done/"), on_x(302, RISKY))
    ],
    # ------------------------------------------------------------------ engagement
    "today/ today": [_get("/today/", everyone(200))],
    "today/items/<int:item_id>/done/ item_done": [
        _post(_x("/today/items/{item}/done/"), table(cm_owner=302, anonymous=302, default=404))
    ],
    "tasks/<int:task_id>/done/ task_done": [
        _post(_x("/tasks/{task}/done/"), table(cm_owner=302, anonymous=302, default=404)),
        # The former manager's own task about X: gone with the reassignment.
        _post(_x("/tasks/{former_task}/done/"), table(anonymous=302, default=404)),
    ],
    "contacts/new/<str:customer_no>/ contact_new": [
        _get(_x("/contacts/new/{x}/"), on_x(200, SERVE)),
        _post(_x("/contacts/new/{x}/"), on_x(302, SERVE), _contact),
    ],
    "coverage/ coverage": [_get("/coverage/", everyone(200))],
    "prospects/ prospects": [_get("/prospects/", everyone(200))],
    "prospects/new/ prospect_new": [
        _get("/prospects/new/", only(SERVE, 200)),
        _post(
            "/prospects/new/",
            only(SERVE, 302),
            {
                "kind": "PERSON",
                "name": "王五",
                "classification": "RETIREE",
                "source": "OTHER",
                "expected_value": "50000",
                "likelihood": "50",
            },
        ),
    ],
    "prospects/<str:number>/ prospect": [
        _get(
            _x("/prospects/{prospect}/"),
            table(cm_owner=200, anonymous=302, default=404, **dict.fromkeys(OVER_X, 200)),
        ),
        _post(
            _x("/prospects/{prospect}/"),
            table(cm_owner=302, anonymous=302, default=404, **dict.fromkeys(OVER_X, 403)),
            {"action": "review", "expected_value": "80000", "likelihood": "60"},
        ),
    ],
    "plans/ plans": [_get("/plans/", everyone(200))],
    "plans/new/ plan_new": [
        _get("/plans/new/", only(SERVE, 200)),
        _post(
            "/plans/new/",
            table(
                anonymous=302,
                default=403,
                cm_owner=302,
                outlet_head=302,
                team_lead=302,
                cm_peer=404,
                cm_other=404,
                former=404,
            ),
            _plan,
        ),
    ],
    "plans/<int:plan_id>/ plan": [
        _get(
            _x("/plans/{plan}/"),
            table(cm_owner=200, anonymous=302, default=404, **dict.fromkeys(OVER_X, 200)),
        ),
        # The former manager's plan for X: X is no longer theirs.
        _get(
            _x("/plans/{former_plan}/"),
            table(anonymous=302, default=404, **dict.fromkeys(OVER_X, 200)),
        ),
    ],
    "referrals/ referrals": [_get("/referrals/", everyone(200))],
    "referrals/new/ referral_new": [_get("/referrals/new/", only(SERVE | LOBBY, 200))],
    "referrals/lookup/ referral_lookup": [
        _get(_x("/referrals/lookup/?customer_no={x}"), only(SERVE | LOBBY, 200))
    ],
    "referrals/<int:referral_id>/status/ referral_status": [
        _post(
            _x("/referrals/{referral}/status/"),
            table(
                cm_owner=302, lobby=403, anonymous=302, default=404, **dict.fromkeys(OVER_X, 403)
            ),
            {"status": "CONTACTED"},
        )
    ],
    "complaints/ complaints": [_get("/complaints/", everyone(200))],
    # The lobby (X's outlet O1) and the teller (O2, the same sub-branch S01) file for a walk-in
    # customer of their sub-branch without seeing X otherwise (issue 13 item 3; decision 0006).
    "complaints/new/<str:customer_no>/ complaint_new": [
        _get(_x("/complaints/new/{x}/"), walk_in(on_x(200, SERVE | LOBBY), 200)),
        _post(
            _x("/complaints/new/{x}/"),
            walk_in(on_x(302, SERVE | LOBBY), 302),
            {"subject": "排队太久"},
        ),
    ],
    "notifications/ notifications": [_get("/notifications/", everyone(200))],
    "walk-in/ walk_in": [
        _get("/walk-in/", only(SERVE | LOBBY, 200)),
        _post("/walk-in/", only(SERVE | LOBBY, 200), {"q": "张三"}),
    ],
    "complaints/<int:complaint_id>/ complaint": [
        _get(_x("/complaints/{complaint}/"), on_x(200)),
        _post(_x("/complaints/{complaint}/"), on_x(302, {"cm_owner", "outlet_head"}), RESOLVE),
        # Filed while the former manager had X: X's current manager handles it now.
        _post(
            _x("/complaints/{former_complaint}/"), on_x(302, {"cm_owner", "outlet_head"}), RESOLVE
        ),
    ],
    # ------------------------------------------------------------------ campaigns
    # Read by those who make them and the bank-wide and subtree roles (campaigns_visible_to);
    # a customer manager's list is empty. Made by marketing and outlet heads; a campaign is
    # approved or refused by someone other than its author (docs/campaigns.md, "Pages").
    "campaigns/ list": [_get("/campaigns/", everyone(200))],
    "campaigns/new/ new": [
        _get("/campaigns/new/", only(CAMPAIGNERS, 200)),
        _post("/campaigns/new/", only(CAMPAIGNERS, 302), _campaign_post),
    ],
    "campaigns/segments/ segments": [_get("/campaigns/segments/", everyone(200))],
    "campaigns/segments/new/ segment_new": [
        _get("/campaigns/segments/new/", only(CAMPAIGNERS, 200)),
        _post(
            "/campaigns/segments/new/",
            only(CAMPAIGNERS, 302),
            {"name": "白金无网银", "tiers": ["PLATINUM"], "ebanking": "NONE"},
        ),
    ],
    "campaigns/segments/count/ segment_count": [
        _get("/campaigns/segments/count/?tiers=GOLD", only(CAMPAIGNERS, 200))
    ],
    "campaigns/segments/upload/ segment_upload": [
        _get("/campaigns/segments/upload/", only(CAMPAIGNERS, 200)),
        # X is in both campaigners' scope: saved, the bad line reported on the page.
        _post("/campaigns/segments/upload/", only(CAMPAIGNERS, 200), _segment_file),
    ],
    # The outlet head's segment: its owner and bank-wide marketing change it; other bank-wide
    # roles read it (403); the team lead, without the permission, sees only their own (404).
    "campaigns/segments/<int:segment_id>/edit/ segment_edit": [
        _get(
            _x("/campaigns/segments/{segment_o}/edit/"),
            table(
                anonymous=302,
                default=404,
                outlet_head=200,
                marketing=200,
                **dict.fromkeys(READERS - {"marketing"}, 403),
            ),
        )
    ],
    "campaigns/<int:campaign_id>/ detail": [
        _get(_x("/campaigns/{c_submitted}/"), on_campaign(200))
    ],
    # Only its author changes a draft (before it is submitted below).
    "campaigns/<int:campaign_id>/edit/ edit": [
        _get(_x("/campaigns/{c_draft}/edit/"), on_campaign(200, {"outlet_head"})),
        _post(_x("/campaigns/{c_draft}/edit/"), on_campaign(302, {"outlet_head"}), _campaign_post),
    ],
    "campaigns/<int:campaign_id>/progress/ progress": [
        _get(_x("/campaigns/{c_submitted}/progress/"), on_campaign(200))
    ],
    "campaigns/<int:campaign_id>/submit/ submit": [
        _post(_x("/campaigns/{c_draft}/submit/"), on_campaign(302, {"outlet_head"}))
    ],
    # Maker–checker: the author (the outlet head) may not approve or refuse their own.
    "campaigns/<int:campaign_id>/approve/ approve": [
        _post(_x("/campaigns/{c_submitted}/approve/"), on_campaign(302, {"marketing"}))
    ],
    "campaigns/<int:campaign_id>/refuse/ refuse": [
        _post(
            _x("/campaigns/{c_refusable}/refuse/"),
            on_campaign(302, {"marketing"}),
            {"note": "预算不足"},
        )
    ],
    "campaigns/<int:campaign_id>/stop/ stop": [
        _post(_x("/campaigns/{c_approved}/stop/"), on_campaign(302, CAMPAIGNERS))
    ],
    "campaigns/<int:campaign_id>/results.xlsx results_xlsx": [
        _get(_x("/campaigns/{c_submitted}/results.xlsx"), on_campaign(200))
    ],
    # ------------------------------------------------------------------ reports (qiao/reports)
    "reports/ index": [_get("/reports/", everyone(200))],
    "reports/<slug:name>/ report": [
        _get("/reports/pyramid/", only(SERVE | READERS, 200)),
        _get("/reports/pyramid/?period=2026-13", only(SERVE | READERS, 400)),
        _get("/reports/no-such-report/", everyone(404)),
    ],
    "reports/<slug:name>/xlsx xlsx": [
        _get("/reports/pyramid/xlsx", only(SERVE | READERS - {"superuser"}, 200))
    ],
    # peer benchmarks: anyone reads them, the analyst (EDIT_BENCHMARKS) enters them
    "reports/benchmarks/ benchmarks": [
        _get("/reports/benchmarks/", everyone(200)),
        _post(
            "/reports/benchmarks/",
            only({"head_office"}, 400),
            {
                "measure": "ebanking.substitution_rate",
                "period": "2026-13",
                "peer": "P",
                "value": "40",
            },
        ),
    ],
    "reports/benchmarks/<int:benchmark_id>/delete/ benchmark_delete": [
        _post("/reports/benchmarks/999999/delete/", only({"head_office"}, 404))
    ],
    # the e-banking offers: a CM's own payroll customers without e-banking onto the work list
    "reports/ebanking/offers/ ebanking_offers": [
        _get("/reports/ebanking/offers/", only(SERVE, 200)),
        _post("/reports/ebanking/offers/", only(SERVE, 302)),
    ],
    "reports/exports/<int:job_id>/ export": [_get("/reports/exports/999999/", everyone(404))],
    "reports/exports/<int:job_id>/progress/ export_progress": [
        _get("/reports/exports/999999/progress/", everyone(404))
    ],
    "reports/exports/<int:job_id>/download/ export_download": [
        _get("/reports/exports/999999/download/", everyone(404))
    ],
    # ------------------------------------------------------------------ performance (issue 17)
    # Scorecards: every member of staff reads their own (or their team's); targets are set and
    # split by SET_TARGETS (analyst, outlet head, team lead) within their scope.
    "performance/ scorecards": [_get("/performance/", everyone(200))],
    "performance/card/ card": [_get("/performance/card/", everyone(200))],
    "performance/targets/ targets": [
        _get("/performance/targets/", everyone(200)),
        _post("/performance/targets/", only(TARGET_SETTERS, 302), _perf_target_form),
    ],
    "performance/targets/split/ target_split": [
        _post("/performance/targets/split/", only(TARGET_SETTERS, 302), _perf_split_form)
    ],
    "performance/staffing/ staffing": [_get("/performance/staffing/", everyone(200))],
    # ------------------------------------------------------------------ surveys (issue 17)
    # Results for every member of staff (scoped); answers recorded by the people who serve and
    # the lobby (RECORD_SURVEY_ANSWERS); survey texts edited by MANAGE_SURVEYS.
    "surveys/ results": [_get("/surveys/", everyone(200))],
    "surveys/answer/ answer": [
        _get(_survey_url("/surveys/answer/"), only(SURVEY_RECORDERS, 200)),
        _post(_survey_url("/surveys/answer/"), only(SURVEY_RECORDERS, 302), _survey_answer),
    ],
    "surveys/<slug:code>/edit/ edit": [
        _get(_survey_url("/surveys/after-contact/edit/"), only(SURVEY_MANAGERS, 200)),
        _post(
            _survey_url("/surveys/after-contact/edit/"), only(SURVEY_MANAGERS, 302), _survey_edit
        ),
    ],
    # ------------------------------------------------------------------ API
    "api/ api-root": [_api("get", "/api/", table(default=404))],
    "api/openapi.json openapi-json": [_api("get", "/api/openapi.json", table(default=200))],
    "api/docs openapi-view": [_api("get", "/api/docs", table(default=200))],
    "api/auth/token token": [
        Probe(
            "post",
            lambda w: "/api/auth/token",
            table(anonymous=401, default=200),
            lambda w: {"username": "{user}", "password": PASSWORD},
            api=True,
        )
    ],
    "api/auth/token token_revoke_current": [],  # walked last: it ends the token
    "api/auth/tokens tokens": [_api("get", "/api/auth/tokens", table(anonymous=401, default=200))],
    "api/auth/tokens/<token_id> token_revoke": [
        _api(
            "delete",
            "/api/auth/tokens/{owner_token}",
            table(anonymous=401, cm_owner=204, default=404),
        )
    ],
    "api/customers customers": [_api("get", "/api/customers", table(anonymous=401, default=200))],
    "api/customers/<customer_no> customer": [_api("get", "/api/customers/{x}", API_READ)],
    "api/customers/<customer_no> customer_patch": [
        _api(
            "patch",
            "/api/customers/{x}",
            on_x(200, SERVE | {"superuser"}, anonymous=401),
            {"hobbies": "钓鱼"},
        )
    ],
    "api/customers/<customer_no>/reveal customer_reveal_api": [
        _api(
            "post",
            "/api/customers/{x}/reveal",
            on_x(200, SERVE, anonymous=401),
            {"field": "mobile", "reason": "回访客户"},
        )
    ],
    "api/customers/<customer_no>/assessments customer_assessment_api": [
        _api(
            "post",
            "/api/customers/{x}/assessments",
            on_x(201, SERVE, anonymous=401),
            lambda w: {"answers": _answers(""), "customer_signed": True},
        )
    ],
    "api/customers/<customer_no>/suggestions customer_suggestions": [
        _api("get", "/api/customers/{x}/suggestions", API_READ)
    ],
    "api/products products": [_api("get", "/api/products", table(anonymous=401, default=200))],
    "api/campaigns campaigns": [_api("get", "/api/campaigns", table(anonymous=401, default=200))],
    "api/campaigns/<campaign_id>/results campaign_results_api": [
        _api("get", "/api/campaigns/{c_submitted}/results", on_campaign(200, anonymous=401))
    ],
    "api/segments segments": [_api("get", "/api/segments", table(anonymous=401, default=200))],
    "api/surveys/results survey_results": [
        _api("get", "/api/surveys/results", table(anonymous=401, default=200))
    ],
    "api/warnings warnings": [_api("get", "/api/warnings", table(anonymous=401, default=200))],
    "api/groups/<group_id>/exposure group_exposure": [
        Probe("get", _risk_url("group", "/api/groups/{pk}/exposure"), API_READ, api=True)
    ],
    "api/reports/<name> report_api": [
        _api(
            "get", "/api/reports/pyramid", table(anonymous=401, lobby=403, teller=403, default=200)
        ),
        _api(
            "get",
            "/api/reports/pyramid?format=xlsx",
            table(anonymous=401, lobby=403, teller=403, superuser=403, default=200),
        ),
    ],
    "api/worklist worklist": [_api("get", "/api/worklist", table(anonymous=401, default=200))],
    "api/scorecards scorecards_api": [  # performance (issue 17)
        _api("get", "/api/scorecards", table(anonymous=401, default=200))
    ],
    "api/contacts contacts": [
        _api(
            "post",
            "/api/contacts",
            table(
                anonymous=401,
                default=403,
                cm_owner=201,
                outlet_head=201,
                team_lead=201,
                cm_peer=404,
                cm_other=404,
                former=404,
            ),
            {"customer_no": "{x}", "channel": "PHONE"},
        )
    ],
}

#: Walked after the matrix, as they end the session or the token.
LAST: dict[str, list[Probe]] = {
    "api/auth/token token_revoke_current": [
        _api("delete", "/api/auth/token", table(anonymous=401, default=204))
    ],
    "logout/ logout": [_post("/logout/", everyone(302))],
}


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield f"{prefix}{p.pattern} {p.name or ''}".rstrip()


def app_routes() -> set[str]:
    """Every route but the admin site's (Django's own, behind ``is_staff``: tested below)."""
    return {r for r in _routes(get_resolver().url_patterns) if not r.startswith("admin/")}


def test_every_route_has_a_decision():
    routes = app_routes()
    decided = set(POLICY) | set(LAST)
    assert routes - decided == set(), "routes without a decision in POLICY"
    assert decided - routes == set(), "decisions for routes that no longer exist"
    assert all(POLICY[k] or k in LAST for k in POLICY)


@pytest.fixture
def world(bank) -> World:
    s = dict(bank.staff)
    o1, o2, ho = bank.o1, bank.o2, bank.ho
    s["team_lead"] = _staff("team_lead", "冯组长", Role.TEAM_LEAD, o1)
    s["product_manager"] = _staff("product_manager", "陈产品", Role.PRODUCT_MANAGER, ho)
    s["risk_manager"] = _staff("risk_manager", "褚风险", Role.RISK_MANAGER, ho)
    s["teller"] = _staff("teller", "卫柜员", Role.LOBBY, o2)
    s["marketing"] = _staff("marketing", "林营销", Role.MARKETING, ho)
    s["superuser"] = _staff("superuser", "蒋管理", Role.ADMIN, ho)
    s["superuser"].is_superuser = s["superuser"].is_staff = True
    s["superuser"].save()
    s["former"] = _staff("former", "沈经理", Role.CM, o1)
    x, owner, former = bank.x, s["cm_owner"], s["former"]
    # The former manager's history with X, from before the reassignment.
    Ownership.objects.create(
        customer=x,
        staff=former,
        role="PRIMARY",
        start_date=dt.date(2018, 1, 1),
        end_date=dt.date(2019, 12, 31),
    )
    today = timezone.localdate()
    former_task = Task.objects.create(staff=former, customer=x, title="回访", due=today)
    former_plan = Plan.objects.create(
        title="旧计划",
        owner=former,
        customer=x,
        period="ANNUAL",
        start=today,
        end=today + dt.timedelta(days=300),
        target_amount=Decimal("1000"),
    )
    former_complaint = Complaint.objects.create(
        customer=x,
        owner=former,
        subject="旧投诉",
        received_at=timezone.now(),
        deadline=today + dt.timedelta(days=15),
    )
    # cm_owner's engagement with X.
    contact, _closed, _w = contact_log(
        staff=owner,
        customer=x,
        data={"channel": "PHONE", "at": timezone.now(), "next_step": "寄送资料"},
    )
    worklist_generate(day=today)
    item = WorkItem.objects.filter(staff=owner, customer=x, status="OPEN").first()
    assert item is not None
    plan = plan_create(
        owner=owner,
        data={
            "title": "定期转理财",
            "period": "QUARTERLY",
            "start": today,
            "end": today + dt.timedelta(days=80),
            "target_amount": Decimal("100000"),
            "baseline_amount": Decimal("0"),
        },
        customer=x,
    )
    complaint = complaint_create(customer=x, by=owner, subject="转账延迟")
    referral = referral_create(
        referrer_staff=s["lobby"], to_staff=owner, customer=x, reason="PRODUCT_INTEREST"
    )
    prospect = prospect_create(
        owner=owner,
        data={"kind": "PERSON", "name": "钱七", "source": "OTHER", "expected_value": 10_000},
    )
    group = SavedGroup.objects.create(owner=owner, name="重点客户", kind="STATIC")
    _raw, owner_token = api_token_issue(staff=owner)
    deputy = _staff("deputy_head", "韩副主任", Role.OUTLET_HEAD, o1)
    exports = [
        export_request_create(
            by=deputy,
            customer_nos=[x.customer_no],
            source={"group": "到期客户"},
            reason="到期客户电话回访",
        )
        for _ in range(2)
    ]
    ids = {
        "item": item.pk,
        "task": Task.objects.get(contact=contact).pk,
        "former_task": former_task.pk,
        "plan": plan.pk,
        "former_plan": former_plan.pk,
        "complaint": complaint.pk,
        "former_complaint": former_complaint.pk,
        "referral": referral.pk,
        "prospect": prospect.number,
        "group": group.pk,
        "owner_token": owner_token.pk,
        "export": exports[0].pk,
        "export2": exports[1].pk,
        "suggestion": Suggestion.objects.create(
            customer=x,
            product=Product.objects.create(code="SUG1", name="三年定期", category="TIME"),
            as_of=today,
            rank=1,
            reason_code="NOT_HELD",
            reason_params={"category": "TIME"},
            expected_gain=Decimal("80"),
        ).pk,
    }
    ids |= _campaigns(s)
    return World(staff=s, x=x, y=bank.y, ids=ids)


def _campaigns(s: dict[str, Staff]) -> dict[str, int]:
    """The outlet head's segment and four campaigns: a draft, two waiting for approval and an
    approved one (set directly: approving queues the send)."""
    from qiao.campaigns.models import Campaign, CampaignStatus
    from qiao.campaigns.segments import SegmentFilters, segment_save
    from qiao.campaigns.services import (
        CampaignData,
        StepData,
        TemplateData,
        campaign_save,
        campaign_submit,
    )

    head = s["outlet_head"]
    segment = segment_save(
        staff=head, name="金卡客户", filters=SegmentFilters.from_json({"tiers": ["GOLD"]})
    )

    def draft(name: str) -> Campaign:
        step = StepData(
            channel="SMS",
            templates=[TemplateData(variant="A", language="zh-hans", body="{name}您好")],
        )
        data = CampaignData(
            name=name,
            aim="CROSS_SELL",
            segment_id=segment.pk,
            starts_on=timezone.localdate() + dt.timedelta(days=1),
            steps=[step],
        )
        return campaign_save(staff=head, data=data)

    submitted, refusable, approved = draft("待审批"), draft("待拒绝"), draft("已批准")
    for c in (submitted, refusable, approved):
        campaign_submit(staff=head, campaign=c)
    Campaign.objects.filter(pk=approved.pk).update(status=CampaignStatus.APPROVED)
    return {
        "segment_o": segment.pk,
        "c_draft": draft("草稿").pk,
        "c_submitted": submitted.pk,
        "c_refusable": refusable.pk,
        "c_approved": approved.pk,
    }


def _fill(value: Any, w: World, persona: str) -> Any:
    if isinstance(value, str):
        return value.replace("{x}", w.x.customer_no).replace("{user}", persona)
    if isinstance(value, dict):
        return {k: _fill(v, w, persona) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, w, persona) for v in value]
    return value


def _send(client: Client, probe: Probe, w: World, persona: str) -> int:
    url = probe.url(w)
    data = probe.data(w) if callable(probe.data) else probe.data
    data = _fill(data or {}, w, persona)
    if probe.api:
        headers = {}
        if persona in w.tokens:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {w.tokens[persona]}"
        if probe.method == "get":
            return client.get(url, **headers).status_code
        return getattr(client, probe.method)(
            url, json.dumps(data), content_type="application/json", **headers
        ).status_code
    return getattr(client, probe.method)(url, data).status_code


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_matrix(world, persona):
    client = Client()
    if persona != "anonymous":
        client.force_login(world.staff[persona])
        raw, _token = api_token_issue(staff=world.staff[persona])
        world.tokens[persona] = raw
    wrong = []
    for key, probes in [*POLICY.items(), *LAST.items()]:
        for probe in probes:
            want = probe.expect(persona)
            got = _send(client if not probe.api else Client(), probe, world, persona)
            if got != want:
                wrong.append(
                    f"{probe.method.upper()} {probe.url(world)} [{key}]: {got}, policy {want}"
                )
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("persona", STAFF)
def test_the_admin_site_is_for_administrators(world, persona):
    """Django's admin (every ``admin/`` route) opens to staff accounts only: the superuser."""
    client = Client()
    client.force_login(world.staff[persona])
    for url in ("/admin/", "/admin/customers/customer/", "/admin/org/staff/"):
        status = client.get(url).status_code
        assert status == (200 if persona == "superuser" else 302), (url, status)
