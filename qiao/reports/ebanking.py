"""The e-banking analysis of seed 002 (R1–R8 and the substitution rate) as the report ``ebanking``.

The figures come from :func:`qiao.analytics.ebanking.ebanking_analysis` over the lake, scoped to
the reader (a CM's own customers, an outlet head's subtree, the whole bank for head office); this
module puts them in words (labels of the reader's language, outlet names), adds the questionnaire's
tallies (R7, from the surveys app) and the peer benchmarks entered by hand, and registers the
report so that the page, the API and the workbook render it. Definitions: docs/reports.md,
"E-banking analysis".

The list of payroll customers without e-banking (R5) is a customer list: names as on the
customer list, balances only for readers who see balances, and each customer shown is audited
(``VIEW_LIST``). A CM turns their own customers on it into work-list items with
:func:`ebank_offers_create`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qiao.analytics.ebanking import (
    EbankingResult,
    Scope,
    ebanking_analysis,
    payroll_without_ebanking,
    rates,
)
from qiao.analytics.lake import REQUIRED_REFS, connect, ref_path
from qiao.audit.models import Action
from qiao.audit.services import audit_list_shown, audit_record_many
from qiao.core import vocab
from qiao.core.choices import labels
from qiao.core.lake import lake_months
from qiao.core.reports import Chart, Column, Report, ReportDef, Table, register
from qiao.customers.models import Customer
from qiao.customers.selectors import customers_visible_to
from qiao.engagement.models import WorkItem, WorkKind, WorkStatus
from qiao.org.models import BANKWIDE_ROLES, OWNER_ROLES, SUBTREE_ROLES, OrgUnit, Staff
from qiao.org.permissions import VIEW_BALANCES, WORK_OWN_LIST, require_perm, staff_has_perm
from qiao.reports.benchmarks import benchmarks_latest, measure_label, measure_register
from qiao.reports.selectors import params_as_of, params_unit

NAME = "ebanking"
SURVEY_CODE = "ebanking"  # the built-in e-banking questionnaire of the surveys app
OFFER_REASON = "EBANK_OFFER"
OFFER_DUE_DAYS = 14
OFFER_MOOT_DAYS = 60

#: The measures compared with peers (qiao.reports.benchmarks): key → words.
MEASURES: dict[str, Any] = {
    "ebanking.activated_share": gettext_lazy("Customers with e-banking activated"),
    "ebanking.multi_product_share": gettext_lazy("Activated customers using two or more services"),
    "ebanking.self_opened_share": gettext_lazy("Sign-ups opened by the customer"),
    "ebanking.payroll_online_share": gettext_lazy("Payroll customers with online banking"),
    "ebanking.third_party_share": gettext_lazy("Payments through third-party platforms (count)"),
    "ebanking.corporate_share": gettext_lazy("Companies with corporate e-banking"),
    "ebanking.substitution_rate_atm": gettext_lazy("Substitution rate including ATMs (count)"),
    "ebanking.substitution_rate": gettext_lazy("Substitution rate excluding ATMs (count)"),
}


def _words(label: Any) -> Callable[[], str]:
    return lambda: str(label)


for _key, _label in MEASURES.items():
    measure_register(_key, _words(_label))


# --------------------------------------------------------------------------------------------------
# scope and date
# --------------------------------------------------------------------------------------------------


def reader_scope(staff: Staff) -> Scope:
    """The reader's data scope as the analytics take it (the same rule as
    ``qiao.customers.selectors.staff_scope_q``): bank-wide roles everything, subtree roles the
    outlets under their unit, owners their own customers, anyone else nothing."""
    if not staff.is_active:
        return Scope(customers=frozenset())
    if staff.role in BANKWIDE_ROLES:
        return Scope()
    if staff.role in SUBTREE_ROLES and staff.unit is not None:
        codes = OrgUnit.objects.filter(path__startswith=staff.unit.path).values_list(
            "code", flat=True
        )
        return Scope(outlets=frozenset(codes))
    if staff.role in OWNER_ROLES:
        nos = customers_visible_to(staff=staff).values_list("customer_no", flat=True)
        return Scope(customers=frozenset(nos))
    return Scope(customers=frozenset())


def _default_as_of(lake: Path) -> dt.date:
    """Today, or the end of the lake's last month of transactions if that is earlier."""
    today = timezone.localdate()
    months = lake_months(lake, "transactions")
    if months:
        y, m = int(months[-1][:4]), int(months[-1][5:7])
        return min(today, dt.date(y, m, calendar.monthrange(y, m)[1]))
    return today


def _scope_for(staff: Staff, params: Mapping[str, str]) -> Scope:
    """The reader's scope, narrowed to the ``outlet`` parameter's subtree when given (a code
    the reader may see: ``report_params_clean`` checked it)."""
    scope = reader_scope(staff)
    unit = params_unit(params)
    if unit is None:
        return scope
    codes = frozenset(
        OrgUnit.objects.filter(path__startswith=unit.path).values_list("code", flat=True)
    )
    outlets = codes if scope.outlets is None else codes & scope.outlets
    return Scope(customers=scope.customers, outlets=outlets)


# --------------------------------------------------------------------------------------------------
# building
# --------------------------------------------------------------------------------------------------


def _share(part: float, whole: float) -> float | None:
    return float(part) / float(whole) if whole else None


def _num(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return None if math.isnan(f) else f


def _band_label(lo: Any, hi: Any) -> str:
    lo = None if lo is None or pd.isna(lo) else int(lo)
    hi = None if hi is None or pd.isna(hi) else int(hi)
    if lo is None and hi is None:
        return _("Age unknown")
    if lo is None:
        return _("Under %(age)s") % {"age": hi}
    if hi is None:
        return _("%(age)s and over") % {"age": lo}
    return _("%(low)s to %(high)s") % {"low": lo, "high": hi - 1}


def analysis_for(scope: Scope, as_of: dt.date) -> EbankingResult:
    lake = Path(settings.LAKE_DIR)
    con = connect("duckdb")
    try:
        return ebanking_analysis(con, lake, as_of=as_of, scope=scope)
    finally:
        con.disconnect()


def _lake_ready(lake: Path) -> bool:
    return all(ref_path(lake, name).is_file() for name in REQUIRED_REFS)


def build(staff: Staff, params: Mapping[str, str]) -> Report:
    lake = Path(settings.LAKE_DIR)
    as_of = min(params_as_of(params) or _default_as_of(lake), timezone.localdate())
    if not _lake_ready(lake):
        return Report(
            name=NAME,
            title=_("E-banking analysis"),
            tables=[],
            as_of=as_of,
            notes=[_("The lake holds no data yet: load the extracts and run the scoring.")],
        )
    r = analysis_for(_scope_for(staff, params), as_of)
    services = labels(vocab.EBANKING_SERVICES)
    tables: list[Table] = []
    charts: list[Chart] = []
    ours: dict[str, float | None] = {}

    # R1 ---------------------------------------------------------------------------------------
    pen = r.penetration.iloc[0]
    customers, activated = int(pen["customers"]), int(pen["activated"])
    ours["ebanking.activated_share"] = _share(activated, customers)
    ours["ebanking.multi_product_share"] = _share(int(pen["multi"]), activated)
    tables.append(
        Table(
            "r1_overview",
            _("R1 E-banking customers"),
            [
                Column("customers", _("Customers"), "int"),
                Column("opened", _("Signed up"), "int"),
                Column("opened_share", _("Signed-up share"), "pct"),
                Column("activated", _("Activated"), "int"),
                Column("activated_share", _("Activated share"), "pct"),
                Column("multi", _("Using two or more services"), "int"),
                Column("multi_share", _("Multi-product share"), "pct"),
            ],
            [
                {
                    "customers": customers,
                    "opened": int(pen["opened"]),
                    "opened_share": _share(int(pen["opened"]), customers),
                    "activated": activated,
                    "activated_share": ours["ebanking.activated_share"],
                    "multi": int(pen["multi"]),
                    "multi_share": ours["ebanking.multi_product_share"],
                }
            ],
            note=_(
                "Signed up (开通): a service open on the date; activated (激活): used at least once. "
                "Multi-product share: activated customers using two or more services, of all "
                "activated customers."
            ),
        )
    )
    rows = []
    for s in r.services.itertuples():
        rows.append(
            {
                "service": str(services.get(s.service, s.service)),
                "opened": int(s.opened),
                "activated": int(s.activated),
                "user_share": _share(int(s.activated), activated),
                "activation_rate": _share(int(s.activated), int(s.opened)),
            }
        )
    tables.append(
        Table(
            "r1_services",
            _("R1 E-banking services"),
            [
                Column("service", _("Service")),
                Column("opened", _("Signed up"), "int"),
                Column("activated", _("Activated"), "int"),
                Column("user_share", _("Share of activated customers"), "pct"),
                Column("activation_rate", _("Activation rate"), "pct"),
            ],
            rows,
            note=_(
                "Share of activated customers: the service's users among all activated "
                "e-banking customers (a customer using several services counts for each, so "
                "the shares add up to more than 100 per cent)."
            ),
        )
    )
    charts.append(
        Chart("r1_services", "bar", _("Share of activated customers"), "service", ("user_share",))
    )

    # R2 ---------------------------------------------------------------------------------------
    tiers = r.age_tiers
    tiers = tiers[(tiers["band"] >= 0) | (tiers["customers"] > 0)]
    n_all, a_all = float(tiers["customers"].sum()), float(tiers["assets"].sum())
    tables.append(
        Table(
            "r2_age_tiers",
            _("R2 Customers by age"),
            [
                Column("band", _("Age")),
                Column("customers", _("Customers"), "int"),
                Column("customer_share", _("Share of customers"), "pct"),
                Column("assets", _("Assets"), "wan"),
                Column("asset_share", _("Share of assets"), "pct"),
            ],
            [
                {
                    "band": _band_label(t.lo, t.hi),
                    "customers": int(t.customers),
                    "customer_share": _share(t.customers, n_all),
                    "assets": Decimal(str(round(float(t.assets), 2))),
                    "asset_share": _share(t.assets, a_all),
                }
                for t in tiers.itertuples()
            ],
            note=_(
                "Individual customers by age on the date; assets are the balances of their "
                "deposit and investment accounts open on the date."
            ),
        )
    )
    charts.append(
        Chart(
            "r2_age_tiers",
            "bar",
            _("Customers and assets by age"),
            "band",
            ("customer_share", "asset_share"),
        )
    )

    # R3 ---------------------------------------------------------------------------------------
    bands = r.age_bands
    bands = bands[(bands["band"] >= 0) | (bands["base"] > 0)]
    personal = [s for s in vocab.EBANKING_SERVICES.codes if f"users_{s}" in bands.columns]
    cols = [
        Column("band", _("Age")),
        Column("base_share", _("Share of customers"), "pct"),
        Column("users", _("E-banking users"), "int"),
        Column("user_share", _("Share of e-banking users"), "pct"),
    ]
    cols += [Column(f"s_{s}", str(services[s]), "pct") for s in personal]
    base_all, users_all = float(bands["base"].sum()), float(bands["users"].sum())
    svc_all = {s: float(bands[f"users_{s}"].sum()) for s in personal}
    rows = []
    for b in bands.itertuples():
        row: dict[str, Any] = {
            "band": _band_label(b.lo, b.hi),
            "base_share": _share(b.base, base_all),
            "users": int(b.users),
            "user_share": _share(b.users, users_all),
        }
        for s in personal:
            row[f"s_{s}"] = _share(getattr(b, f"users_{s}"), svc_all[s])
        rows.append(row)
    tables.append(
        Table(
            "r3_age_bands",
            _("R3 E-banking users by age"),
            cols,
            rows,
            note=_(
                "Each service column: the age band's share of that service's activated users. "
                "A band includes its lower age and excludes its upper one; the bands are set "
                "in the analysis's configuration."
            ),
        )
    )
    charts.append(
        Chart(
            "r3_age_bands",
            "bar",
            _("E-banking users by age"),
            "band",
            ("base_share", "user_share"),
        )
    )
    genders = labels(vocab.GENDERS)
    g_base, g_users = float(r.gender["base"].sum()), float(r.gender["users"].sum())
    tables.append(
        Table(
            "r3_gender",
            _("R3 E-banking users by gender"),
            [
                Column("gender", _("Gender")),
                Column("customers", _("Customers"), "int"),
                Column("customer_share", _("Share of customers"), "pct"),
                Column("users", _("E-banking users"), "int"),
                Column("user_share", _("Share of e-banking users"), "pct"),
            ],
            [
                {
                    "gender": str(genders.get(g.gender, _("Not known"))),
                    "customers": int(g.base),
                    "customer_share": _share(g.base, g_base),
                    "users": int(g.users),
                    "user_share": _share(g.users, g_users),
                }
                for g in r.gender.itertuples()
            ],
        )
    )

    # R4 ---------------------------------------------------------------------------------------
    rows = []
    for g in r.growth.itertuples():
        rows.append(
            {
                "month": g.month,
                "opened": int(g.opened),
                "opened_self": int(g.opened_self),
                "opened_recommended": int(g.opened_recommended),
                "self_share": _share(g.opened_self, g.opened_self + g.opened_recommended),
                "activated": int(g.activated),
                "stock": int(g.stock),
                "growth": _share(g.stock - g.stock_before, g.stock_before),
            }
        )
    tables.append(
        Table(
            "r4_growth",
            _("R4 E-banking growth by month"),
            [
                Column("month", _("Month")),
                Column("opened", _("Services signed up"), "int"),
                Column("opened_self", _("By the customer"), "int"),
                Column("opened_recommended", _("On recommendation"), "int"),
                Column("self_share", _("Opened by the customer"), "pct"),
                Column("activated", _("New activated customers"), "int"),
                Column("stock", _("Activated customers at month end"), "int"),
                Column("growth", _("Growth on the month"), "pct"),
            ],
            rows,
            note=_(
                "Opened by the customer: sign-ups the customer made (主动开通) of those whose "
                "source is known; the rest were recommended (银行推荐). New activated customers "
                "activated their first service in the month."
            ),
        )
    )
    charts.append(Chart("r4_growth", "line", _("Activated customers"), "month", ("stock",)))
    src = r.sources
    o_self, o_rec = float(src["opened_self"].sum()), float(src["opened_recommended"].sum())
    ours["ebanking.self_opened_share"] = _share(o_self, o_self + o_rec)
    tables.append(
        Table(
            "r4_sources",
            _("R4 Sign-ups by opening source"),
            [
                Column("service", _("Service")),
                Column("opened_self", _("By the customer"), "int"),
                Column("opened_recommended", _("On recommendation"), "int"),
                Column("opened_unknown", _("Source not known"), "int"),
                Column("self_share", _("Opened by the customer"), "pct"),
            ],
            [
                {
                    "service": str(services.get(s.service, s.service)),
                    "opened_self": int(s.opened_self),
                    "opened_recommended": int(s.opened_recommended),
                    "opened_unknown": int(s.opened_unknown),
                    "self_share": _share(s.opened_self, s.opened_self + s.opened_recommended),
                }
                for s in src.itertuples()
            ],
            note=_("Services signed up in the months of the growth table."),
        )
    )

    # R5 ---------------------------------------------------------------------------------------
    classes = labels(vocab.PAYROLL_TYPES)
    rows = []
    for p in r.payroll.itertuples():
        rows.append(
            {
                "relation": str(classes[p.relation_type])
                if p.relation_type
                else _("All payroll and withholding"),
                "accounts": int(p.accounts),
                "account_share": _share(p.accounts, r.demand_accounts),
                "balance": Decimal(str(round(float(p.balance), 2))),
                "balance_share": _share(p.balance, r.demand_balance),
                "customers": int(p.customers),
                "with_ebanking": int(p.with_ebanking),
                "ebanking_share": _share(p.with_ebanking, p.customers),
                "online_share": _share(p.with_online, p.customers),
            }
        )
        if p.relation_type == "PAYROLL":
            ours["ebanking.payroll_online_share"] = _share(p.with_online, p.customers)
    tables.append(
        Table(
            "r5_payroll",
            _("R5 Payroll and withholding customers"),
            [
                Column("relation", _("Class")),
                Column("accounts", _("Accounts"), "int"),
                Column("account_share", _("Share of demand accounts"), "pct"),
                Column("balance", _("Balance"), "wan"),
                Column("balance_share", _("Share of demand balance"), "pct"),
                Column("customers", _("Customers"), "int"),
                Column("with_ebanking", _("With e-banking"), "int"),
                Column("ebanking_share", _("E-banking penetration"), "pct"),
                Column("online_share", _("Online banking activated"), "pct"),
            ],
            rows,
            note=_(
                "Accounts with a payroll or withholding relation in force (代发代扣), against all "
                "open demand accounts (%(n)s) and their balance. An account in two classes "
                "counts once in the total."
            )
            % {"n": f"{r.demand_accounts:,}"},
        )
    )
    tables.append(_payroll_list(staff, r))

    # R6 ---------------------------------------------------------------------------------------
    methods = labels(vocab.PAY_METHODS)
    pm = r.pay_methods
    c_all, a_all = float(pm["count"].sum()), float(pm["amount"].sum())
    tables.append(
        Table(
            "r6_methods",
            _("R6 Payments by payment method"),
            [
                Column("method", _("Payment method")),
                Column("count", _("Payments"), "int"),
                Column("count_share", _("Share of payments"), "pct"),
                Column("amount", _("Amount"), "money"),
                Column("amount_share", _("Share of amount"), "pct"),
                Column("ticket", _("Average payment"), "money"),
            ],
            [
                {
                    "method": str(methods.get(m.pay_method, m.pay_method)),
                    "count": int(m.count),
                    "count_share": _share(m.count, c_all),
                    "amount": Decimal(str(round(float(m.amount), 2))),
                    "amount_share": _share(m.amount, a_all),
                    "ticket": Decimal(str(round(float(m.amount) / float(m.count), 2)))
                    if m.count
                    else None,
                }
                for m in pm.itertuples()
            ],
            note=_("Payments, bill payments and top-ups in the months of the growth table."),
        )
    )
    third = pm[pm["pay_method"] == "THIRD_PARTY"]["count"].sum()
    ours["ebanking.third_party_share"] = _share(third, c_all)
    charts.append(
        Chart(
            "r6_methods",
            "bar",
            _("Payments by payment method"),
            "method",
            ("count_share", "amount_share"),
        )
    )
    channels, types = labels(vocab.CHANNELS), labels(vocab.TXN_TYPES)
    ct = r.channel_types
    per_channel = ct.groupby("channel")["count"].sum().to_dict() if len(ct) else {}
    tables.append(
        Table(
            "r6_types",
            _("R6 E-channel transactions by type"),
            [
                Column("channel", _("Channel")),
                Column("txn_type", _("Transaction type")),
                Column("count", _("Transactions"), "int"),
                Column("share", _("Share of the channel"), "pct"),
                Column("amount", _("Amount"), "money"),
                Column("ticket", _("Average amount"), "money"),
            ],
            [
                {
                    "channel": str(channels.get(t.channel, t.channel)),
                    "txn_type": str(types.get(t.txn_type, t.txn_type)),
                    "count": int(t.count),
                    "share": _share(t.count, per_channel.get(t.channel, 0)),
                    "amount": Decimal(str(round(float(t.amount), 2))),
                    "ticket": Decimal(str(round(float(t.amount) / float(t.count), 2)))
                    if t.count
                    else None,
                }
                for t in ct.itertuples()
            ],
        )
    )
    bt, bm = float(r.breadth["by_types"].sum()), float(r.breadth["by_methods"].sum())
    tables.append(
        Table(
            "r6_breadth",
            _("R6 Breadth of use per customer"),
            [
                Column("number", _("Number used")),
                Column("by_types", _("Customers by transaction types"), "int"),
                Column("types_share", _("Share"), "pct"),
                Column("by_methods", _("Customers by payment methods"), "int"),
                Column("methods_share", _("Share"), "pct"),
            ],
            [
                {
                    "number": _("4 or more") if b.k == 4 else str(b.k),
                    "by_types": int(b.by_types),
                    "types_share": _share(b.by_types, bt),
                    "by_methods": int(b.by_methods),
                    "methods_share": _share(b.by_methods, bm),
                }
                for b in r.breadth.itertuples()
            ],
            note=_(
                "How many transaction types a customer used on electronic channels, and how "
                "many payment methods, in the months of the growth table."
            ),
        )
    )

    # R7 ---------------------------------------------------------------------------------------
    tables.append(_survey_table(staff))

    # R8 ---------------------------------------------------------------------------------------
    corp = r.corporate.iloc[0]
    n_corp = int(corp["customers"])
    ours["ebanking.corporate_share"] = _share(int(corp["with_ebanking"]), n_corp)
    tables.append(
        Table(
            "r8_versions",
            _("R8 Corporate e-banking by version"),
            [
                Column("version", _("Version")),
                Column("signed", _("Companies signed up"), "int"),
                Column("activated", _("Activated"), "int"),
                Column("penetration", _("Share of companies"), "pct"),
                Column("change", _("Change on the month"), "int"),
                Column("growth", _("Growth on the month"), "pct"),
            ],
            [
                {
                    "version": str(services.get(v.service, v.service)),
                    "signed": int(v.signed),
                    "activated": int(v.activated),
                    "penetration": _share(v.signed, n_corp),
                    "change": int(v.signed) - int(v.signed_before),
                    "growth": _share(int(v.signed) - int(v.signed_before), v.signed_before),
                }
                for v in r.corp_versions.itertuples()
            ],
            note=_(
                "%(companies)s corporate customers with %(accounts)s open accounts; "
                "%(with)s of them (%(share)s) have corporate e-banking."
            )
            % {
                "companies": f"{n_corp:,}",
                "accounts": f"{int(corp['accounts']):,}",
                "with": f"{int(corp['with_ebanking']):,}",
                "share": _pct_text(ours["ebanking.corporate_share"]),
            },
        )
    )
    sizes = labels(vocab.SIZE_CLASSES)
    for name, title, frame, key, words in (
        ("r8_size", _("R8 Corporate e-banking by size"), r.corp_size, "size_class", sizes),
        ("r8_sector", _("R8 Corporate e-banking by sector"), r.corp_sector, "industry", None),
    ):
        tables.append(
            Table(
                name,
                title,
                [
                    Column("group", _("Size") if key == "size_class" else _("Sector")),
                    Column("customers", _("Companies"), "int"),
                    Column("with_ebanking", _("With corporate e-banking"), "int"),
                    Column("penetration", _("Penetration"), "pct"),
                ],
                [
                    {
                        "group": (
                            str(words.get(getattr(f, key), getattr(f, key)))
                            if words is not None
                            else getattr(f, key)
                        )
                        or _("Not known"),
                        "customers": int(f.customers),
                        "with_ebanking": int(f.with_ebanking),
                        "penetration": _share(f.with_ebanking, f.customers),
                    }
                    for f in frame.itertuples()
                ],
            )
        )

    # substitution rate ------------------------------------------------------------------------
    sub_cols = [
        Column("electronic", _("Electronic channels"), "int"),
        Column("atm", _("ATMs"), "int"),
        Column("counter", _("Counter"), "int"),
        Column("rate_atm_n", _("Rate including ATMs"), "pct"),
        Column("rate_n", _("Rate excluding ATMs"), "pct"),
        Column("rate_atm_amt", _("Rate including ATMs, by amount"), "pct"),
        Column("rate_amt", _("Rate excluding ATMs, by amount"), "pct"),
    ]

    def sub_row(x: Any) -> dict[str, Any]:
        return {
            "electronic": int(x.e_n),
            "atm": int(x.atm_n),
            "counter": int(x.counter_n),
            "rate_atm_n": _num(x.rate_atm_n),
            "rate_n": _num(x.rate_n),
            "rate_atm_amt": _num(x.rate_atm_amt),
            "rate_amt": _num(x.rate_amt),
        }

    sm = rates(r.substitution_months)
    definition = _(
        "Substitution rate (交易替代率): transactions the customer made on electronic channels, "
        "of those on electronic channels and at the counter; including ATMs counts ATM "
        "transactions as electronic, excluding them leaves them out. Bank-initiated "
        "transactions (salary, interest, fees) are not counted."
    )
    tables.append(
        Table(
            "substitution_months",
            _("Substitution rate by month"),
            [Column("month", _("Month")), *sub_cols],
            [{"month": x.month, **sub_row(x)} for x in sm.itertuples()],
            note=definition,
        )
    )
    if len(sm):
        last = sm.iloc[-1]
        ours["ebanking.substitution_rate_atm"] = _num(last["rate_atm_n"])
        ours["ebanking.substitution_rate"] = _num(last["rate_n"])
    charts.append(
        Chart(
            "substitution_months",
            "line",
            _("Substitution rate"),
            "month",
            ("rate_atm_n", "rate_n"),
        )
    )
    so = rates(r.substitution_outlets)
    names = dict(OrgUnit.objects.filter(code__in=list(so["outlet"])).values_list("code", "name"))
    tables.append(
        Table(
            "substitution_outlets",
            _("Substitution rate by outlet"),
            [Column("outlet", _("Outlet")), *sub_cols],
            [
                {"outlet": names.get(x.outlet) or _("Outlet not known"), **sub_row(x)}
                for x in so.itertuples()
            ],
            note=_("Over the months of the monthly table, by the customer's home outlet."),
        )
    )

    tables.append(_benchmarks_table(ours, as_of))
    return Report(
        name=NAME,
        title=_("E-banking analysis"),
        tables=tables,
        charts=charts,
        as_of=as_of,
        notes=[
            _("Months %(first)s to %(last)s.") % {"first": r.months[0], "last": r.months[-1]},
        ],
    )


def _pct_text(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _payroll_list(staff: Staff, r: EbankingResult) -> Table:
    listing = r.payroll_list
    nos = list(listing["customer_no"])
    found = {
        c.customer_no: c
        for c in customers_visible_to(staff=staff)
        .filter(customer_no__in=nos)
        .select_related("primary_manager")
    }
    balances = staff_has_perm(staff, VIEW_BALANCES)
    classes = labels(vocab.PAYROLL_TYPES)
    rows = []
    for x in listing.itertuples():
        c = found.get(x.customer_no)
        if c is None:  # not in the operational store, or not the reader's: never shown
            continue
        row: dict[str, Any] = {
            "customer_no": c.customer_no,
            "name": c.name,
            "manager": c.primary_manager.get_full_name() if c.primary_manager else "",
            "classes": ", ".join(str(classes[k]) for k in x.classes.split("|") if k in classes),
        }
        if balances:
            row["balance"] = Decimal(str(round(float(x.balance), 2)))
        rows.append(row)
    audit_list_shown(
        request_or_staff=staff,
        customer_nos=[row["customer_no"] for row in rows],
        detail={"report": NAME, "list": "payroll_without_ebanking"},
    )
    cols = [
        Column("customer_no", _("Customer number")),
        Column("name", _("Name")),
        Column("manager", _("Customer manager")),
        Column("classes", _("Classes")),
    ]
    if balances:
        cols.append(Column("balance", _("Payroll account balance"), "money"))
    return Table(
        "r5_list",
        _("R5 Payroll customers without e-banking"),
        cols,
        rows,
        note=_(
            "%(total)s payroll customers have no e-banking service; the %(shown)s with the "
            "largest payroll balances are listed. A customer manager can put their own on "
            "the work list (“Offer e-banking”)."
        )
        % {"total": f"{r.payroll_list_total:,}", "shown": f"{len(rows):,}"},
    )


def _survey_table(staff: Staff) -> Table:
    from qiao.surveys.selectors import question_tallies

    rows = []
    for q in question_tallies(staff=staff, survey_code=SURVEY_CODE):
        for o in q.get("options", []):
            rows.append(
                {
                    "question": q["question"],
                    "answer": o["label"],
                    "count": int(o["count"]),
                    "share": o["share"],
                }
            )
        if not q.get("options"):
            rows.append(
                {
                    "question": q["question"],
                    "answer": _("(free text)"),
                    "count": int(q.get("answered", 0)),
                    "share": None,
                }
            )
    return Table(
        "r7_survey",
        _("R7 E-banking questionnaire"),
        [
            Column("question", _("Question")),
            Column("answer", _("Answer")),
            Column("count", _("Answers"), "int"),
            Column("share", _("Share"), "pct"),
        ],
        rows,
        note=_("Valid answers to the e-banking questionnaire you may read (surveys)."),
    )


def _benchmarks_table(ours: Mapping[str, float | None], as_of: dt.date) -> Table:
    rows = []
    for b in benchmarks_latest(MEASURES):
        mine = ours.get(b.measure)
        peer = float(b.value)
        rows.append(
            {
                "measure": measure_label(b.measure),
                "ours": mine,
                "peer": b.peer,
                "peer_value": peer,
                "period": b.period.strftime("%Y-%m"),
                "gap": None if mine is None else round((mine - peer) * 100, 2),
                "source": b.source,
            }
        )
    return Table(
        "benchmarks",
        _("Compared with peers"),
        [
            Column("measure", _("Measure")),
            Column("ours", _("Our figure"), "pct"),
            Column("peer", _("Peer")),
            Column("peer_value", _("Peer's figure"), "pct"),
            Column("period", _("Peer's period")),
            Column("gap", _("Difference (points)"), "float"),
            Column("source", _("Source")),
        ],
        rows,
        note=_("Peer figures entered by hand (Reports › Peer benchmarks); ours as of %(date)s.")
        % {"date": as_of.isoformat()},
    )


# --------------------------------------------------------------------------------------------------
# acting on the list
# --------------------------------------------------------------------------------------------------


def ebank_offer_candidates(*, staff: Staff, as_of: dt.date | None = None) -> list[dict[str, Any]]:
    """The reader's own payroll customers without e-banking (all of them, not the page's cut)."""
    lake = Path(settings.LAKE_DIR)
    day = as_of or _default_as_of(lake)
    own = frozenset(
        Customer.objects.filter(primary_manager=staff).values_list("customer_no", flat=True)
    )
    if not own or not _lake_ready(lake):
        return []
    con = connect("duckdb")
    try:
        listing, _total = payroll_without_ebanking(
            con, lake, as_of=day, scope=Scope(customers=own), limit=min(len(own), 100_000)
        )
    finally:
        con.disconnect()
    return [
        {"customer_no": x.customer_no, "classes": x.classes.split("|"), "balance": x.balance}
        for x in listing.itertuples()
    ]


def ebank_offers_create(*, staff: Staff, as_of: dt.date | None = None) -> int:
    """Put each of ``staff``'s own payroll customers without e-banking on their work list as an
    ``EBANK_OFFER`` item (one open item per customer: an existing one is left alone). Returns
    the number of items created; each is audited with its customer."""
    require_perm(staff, WORK_OWN_LIST)
    found = ebank_offer_candidates(staff=staff, as_of=as_of)
    if not found:
        return 0
    ids = dict(
        Customer.objects.filter(
            primary_manager=staff, customer_no__in=[f["customer_no"] for f in found]
        ).values_list("customer_no", "pk")
    )
    today = timezone.localdate()
    with transaction.atomic():
        open_keys = set(
            WorkItem.objects.filter(
                kind=WorkKind.EBANK_OFFER, status=WorkStatus.OPEN, staff=staff
            ).values_list("cause_key", flat=True)
        )
        items = []
        for f in found:
            key = f"{OFFER_REASON}:{f['customer_no']}"
            if f["customer_no"] not in ids or key in open_keys:
                continue
            params = {"classes": f["classes"]}
            items.append(
                WorkItem(
                    staff=staff,
                    customer_id=ids[f["customer_no"]],
                    kind=WorkKind.EBANK_OFFER,
                    reason_code=OFFER_REASON,
                    reason_params=params,
                    reason_text=_offer_english(params),
                    value_at_stake=Decimal(str(round(float(f["balance"]), 2))),
                    due=today + dt.timedelta(days=OFFER_DUE_DAYS),
                    list_day=today,
                    expires_on=today + dt.timedelta(days=OFFER_MOOT_DAYS),
                    cause_key=key,
                )
            )
        WorkItem.objects.bulk_create(items, ignore_conflicts=True)
        audit_record_many(
            request_or_staff=staff,
            action=Action.WORK_ITEM_NEW,
            items=[
                (i.cause_key.split(":", 1)[1], {"work_item": OFFER_REASON, "report": NAME})
                for i in items
            ],
        )
    return len(items)


OFFER_TEXT = gettext_lazy("Payroll customer (%(classes)s) without e-banking: offer it")


def offer_reason(params: Mapping[str, Any]) -> str:
    """The item's reason in the reader's language (the reports app offers it to the work list)."""
    classes = labels(vocab.PAYROLL_TYPES)
    words = ", ".join(str(classes[c]) for c in params.get("classes", []) if c in classes)
    return str(OFFER_TEXT) % {"classes": words or "—"}


def _offer_english(params: Mapping[str, Any]) -> str:
    from django.utils import translation

    with translation.override("en"):
        return offer_reason(params)[:300]


def worklist_reasons() -> dict[str, Any]:
    return {OFFER_REASON: offer_reason}


register(ReportDef(name=NAME, title=lambda: _("E-banking analysis"), build=build))
