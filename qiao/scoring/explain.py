"""The nightly scoring's explanations in the reader's language.

``qiao.analytics`` never imports Django, so it writes its explanations twice: as English text (for
the CLI) and as a code with language-neutral parameters (see ``SCORE_COLUMNS`` in
:mod:`qiao.analytics.scoring`). The snapshot keeps both (``ScoreSnapshot.reason_codes``,
``tier_why[scheme].conditions``, ``cross_sell[].antecedent``/``pct``); this module renders the
codes with the templates below, in the active language, as the work list does for its reasons
(:mod:`qiao.engagement.reasons`). Features, tiers and product categories take their translated
labels. A snapshot written before the codes existed — or a code this module does not know — shows
its stored English text.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, pgettext_lazy

from qiao.core.labels import code_label

# ---------------------------------------------------------------------------------------- labels

FEATURE_LABELS: dict[str, Any] = {
    "aum": pgettext_lazy("feature", "AUM"),
    "deposits": _("deposits"),
    "contribution_month": _("monthly contribution"),
    "contribution_year": _("annual contribution"),
    "contribution_top_share": _("rank by contribution (top share)"),
    "restricted_flag": _("restricted (blacklisted, or every account dormant)"),
    "loan_balance": _("loan balance"),
    "trend_3m": _("AUM trend, 3 months"),
    "trend_6m": _("AUM trend, 6 months"),
    "trend_12m": _("AUM trend, 12 months"),
    "trend_1m": _("AUM trend, last month"),
    "months_aum_down": _("months of falling AUM (of the last 3)"),
    "txn_trend_1m": _("transaction trend, last month"),
    "net_outflow_1m": _("net outflow, last month"),
    "txn_trend_3m": _("transaction trend, 3 months"),
    "deposit_share": _("deposit share of AUM"),
    "frequency": _("transactions in 12 months"),
    "recency_days": _("days since the last transaction"),
    "net_outflow_3m": _("net outflow, 3 months"),
    "n_accounts": _("number of accounts"),
    "n_products": _("number of products"),
    "tenure_months": _("months as a customer"),
    "age": _("age"),
    "is_corporate": _("corporate customer"),
    "liquidity": _("demand share of deposits"),
    "deposit_liquidity": _("demand share of deposits"),
    "electronic_share": _("electronic share of transactions"),
    "contacts_90d": _("contacts in 90 days"),
    "n_ebank_activated": _("e-banking services in use"),
    "amt_large_out_30d": _("large outflows, 30 days"),
    "n_large_out_30d": _("large outflows (count), 30 days"),
    "td_maturing_30d": _("time deposits maturing in 30 days"),
}
"""Features (of the tier rules, the attrition model and its importances) in words."""

#: Features in yuan, and features that are a share 0–1 (shown as a percentage).
MONEY_FEATURES = frozenset(
    {
        "aum",
        "deposits",
        "contribution_month",
        "contribution_year",
        "loan_balance",
        "revenue_month",
        "cost_month",
        "amt_large_out_30d",
        "large_out_sum_30d",
        "amt_large_in_30d",
        "td_maturing_30d",
        "monetary",
        "turnover",
        "avg_trade_size",
    }
)
SHARE_FEATURES = frozenset(
    {
        "contribution_top_share",
        "deposit_share",
        "liquidity",
        "deposit_liquidity",
        "electronic_share",
        "risky_share",
        "wealth_fund_share",
        "time_bond_share",
    }
)

#: The steps of the nightly scoring (the analyst page's "seconds per step").
STEP_LABELS: dict[str, Any] = {
    "features": _("Features"),
    "contribution": _("Contribution"),
    "tiers": _("Tiers"),
    "attributes": _("Rule attributes"),
    "riskstyle": _("Risk-style rating (K-means)"),
    "assoc": _("Association rules"),
    "attrition": _("Attrition model"),
    "clv": _("Lifetime value (BG/NBD)"),
    "events": _("Events"),
    "suggest": _("Next-best products"),
    "assemble": _("Assembling the results"),
    "stage": _("Aggregates by partition (the engine)"),
    "fit": _("Fitting the models on the sample"),
    "score": _("Scoring the partitions"),
    "summarise": _("Summing up the partitions"),
    "export_refs": _("Reading the operational tables"),
    "store_prepare": _("Saving: preparing"),
    "store_delete": _("Saving: removing the date's earlier snapshots"),
    "store_snapshots": _("Saving: snapshots"),
    "store_standings": _("Saving: customers' AUM, tier and contribution"),
    "store_events": _("Saving: events"),
    "store_tier_history": _("Saving: tier history"),
    "store_suggestions": _("Saving: next-best products"),
    "store_commit": _("Saving: commit"),
}

# ------------------------------------------------------------------------------------- templates

STAGE: dict[str, Any] = {
    "NEW_RELATIONSHIP": _(
        "new relationship: customer for %(months)s months, %(products)s product(s)"
    ),
    "AUM_DOWN_3M": _("AUM down %(pct)s %% over 3 months"),
    "TXN_DOWN_AUM_DOWN": _(
        "transactions down %(txn_pct)s %% in 3 months while AUM fell %(aum_pct)s %%"
    ),
    "AUM_UP_6M": _("AUM up %(pct)s %% over 6 months"),
    "TXN_UP_3M": _("transactions up %(pct)s %% in the last 3 months"),
    "STABLE": _("stable AUM and activity"),
}

MOTIVE: dict[str, Any] = {
    "LOAN_BALANCE": _("loan balance of %(amount)s"),
    "LOAN_ACCOUNT": _("holds a loan account"),
    "CORPORATE_SETTLEMENT": _("corporate customer using settlement services"),
    "WEALTH_SHARE": _("%(pct)s %% of AUM in wealth products and funds"),
    "TRADES_12M": _("%(n)s fund/wealth trades in 12 months"),
    "TIME_BOND_SHARE": _("%(pct)s %% of AUM in time deposits and bonds"),
    "DEPOSITS_ONLY": _("deposits without investment or credit products: saving"),
}

#: Need mode: the signals found (parameter → template), joined; then the code's frame.
NEED_SIGNALS: dict[str, Any] = {
    "electronic_pct": _("%(electronic_pct)s %% of transactions self-service electronic"),
    "purchases": _("%(purchases)s purchase(s) initiated in 12 months"),
    "services": _("%(services)s e-banking services in use"),
}
NEED_MODE: dict[str, Any] = {
    "SIGNALS": "%(signals)s",
    "SIGNALS_WEAK": _("%(signals)s (not enough for active)"),
    "COUNTER_ONLY": _("no self-service, purchases or e-banking use: handled at the counter"),
}

ATTRITION: dict[str, Any] = {
    "AUM_DOWN": _("AUM down %(pct)s %% over the last %(months)s months"),
    "AUM_UP": _("AUM up %(pct)s %% over the last %(months)s months"),
    "TXN_DOWN_3M": _("transactions down %(pct)s %% in the last 3 months (vs the 3 months before)"),
    "TXN_UP_3M": _("transactions up %(pct)s %% in the last 3 months (vs the 3 months before)"),
    "AUM_DOWN_1M": _("AUM down %(pct)s %% in the last month"),
    "AUM_UP_1M": _("AUM up %(pct)s %% in the last month"),
    "AUM_FELL_MONTHS": ngettext_lazy(
        "AUM fell in %(n)s of the last 3 months", "AUM fell in %(n)s of the last 3 months", "n"
    ),
    "TXN_DOWN_1M": _("transactions down %(pct)s %% last month (vs the 3 months before)"),
    "TXN_UP_1M": _("transactions up %(pct)s %% last month (vs the 3 months before)"),
    "NET_OUTFLOW_1M": _("net outflow of %(pct)s %% of AUM in the last month"),
    "NET_INFLOW_1M": _("net inflow of %(pct)s %% of AUM in the last month"),
    "NET_OUTFLOW_3M": _("net outflow of %(pct)s %% of AUM in the last 3 months"),
    "NET_INFLOW_3M": _("net inflow of %(pct)s %% of AUM in the last 3 months"),
    "NO_TXN_DAYS": _("no transactions for %(days)s days"),
    "LAST_TXN_DAYS": _("last transaction only %(days)s days ago"),
    "NO_TXN_ON_RECORD": _("no transactions on record"),
    "AUM_LOW": _("low AUM of %(amount)s (typical %(typical)s)"),
    "AUM_HIGH": _("high AUM of %(amount)s (typical %(typical)s)"),
    "PRODUCTS_FEW": ngettext_lazy("holds only %(n)s product", "holds only %(n)s products", "n"),
    "PRODUCTS": ngettext_lazy("holds %(n)s product", "holds %(n)s products", "n"),
    "TXN_12M_FEW": ngettext_lazy(
        "only %(n)s transaction in the last 12 months (typical %(typical)s)",
        "only %(n)s transactions in the last 12 months (typical %(typical)s)",
        "n",
    ),
    "TXN_12M": ngettext_lazy(
        "%(n)s transaction in the last 12 months (typical %(typical)s)",
        "%(n)s transactions in the last 12 months (typical %(typical)s)",
        "n",
    ),
    "NO_CONTACT_90D": _("no contact from the customer manager in the last 90 days"),
    "CONTACTS_90D_FEW": ngettext_lazy(
        "only %(n)s contact in the last 90 days", "only %(n)s contacts in the last 90 days", "n"
    ),
    "CONTACTS_90D": ngettext_lazy(
        "%(n)s contact in the last 90 days (typical %(typical)s)",
        "%(n)s contacts in the last 90 days (typical %(typical)s)",
        "n",
    ),
    "DEMAND_SHARE_HIGH": _("%(pct)s %% of deposits are demand deposits that can leave at once"),
    "DEMAND_SHARE_LOW": _("only %(pct)s %% of deposits are demand deposits"),
    "LARGE_OUTFLOWS_30D": _("large outflows of %(amount)s in the last 30 days"),
    "N_LARGE_OUTFLOWS_30D": ngettext_lazy(
        "%(n)s large outflow in the last 30 days", "%(n)s large outflows in the last 30 days", "n"
    ),
    "TD_MATURING_30D": _("time deposit of %(amount)s matures within 30 days"),
    "NO_EBANK": _("uses no e-banking services"),
    "EBANK_FEW": ngettext_lazy(
        "uses only %(n)s e-banking service", "uses only %(n)s e-banking services", "n"
    ),
    "EBANK": ngettext_lazy("uses %(n)s e-banking service", "uses %(n)s e-banking services", "n"),
    "TENURE_SHORT": ngettext_lazy(
        "customer for only %(n)s month", "customer for only %(n)s months", "n"
    ),
    "TENURE": ngettext_lazy("customer for %(n)s month", "customer for %(n)s months", "n"),
    "UNUSUAL_HIGH": _("%(feature)s unusually high (%(value)s; typical %(typical)s)"),
    "UNUSUAL_LOW": _("%(feature)s unusually low (%(value)s; typical %(typical)s)"),
    "NOT_RECORDED": _("%(feature)s not recorded"),
    "NOT_ENOUGH_HISTORY": _("not enough history"),
    "AUM_FLOOR": _("AUM at most %(amount)s: not scored for attrition"),
}

CROSS_SELL = _("holds %(items)s; %(pct)s %% of such customers also hold %(item)s")

#: P(alive) in words: what the number says, or why there is none (docs/models.md, "P(alive)").
ALIVE: dict[str, Any] = {
    "NONE": _(
        "Holds accounts, so still a customer. No transaction of their own on record: the model "
        "cannot tell whether they still transact."
    ),
    "ONE_DAY": _(
        "Holds accounts, so still a customer. Only one day with transactions of their own, "
        "%(days)s days ago: too few for the model to tell whether they still transact."
    ),
    "GONE": _("Holds nothing any more."),
    "REGULAR": _(
        "Transacts regularly (the last time %(days)s days ago): the model sees no sign of "
        "lapsing, so the chance that they still transact is close to 100 %%."
    ),
    "LAPSING": _(
        "The chance that they still transact, from their usual pace and the %(days)s days since "
        "their last transaction."
    ),
}

#: Why the lifecycle stage and the attrition risk can disagree.
STAGE_VS_ATTRITION: dict[str, Any] = {
    "DECLINE_LOW": _(
        "Why %(stage)s with a low attrition risk: the stage looks back at the last 3 months "
        "(%(stage_why)s); the attrition risk looks ahead, at the chance that AUM halves or every "
        "account closes within the next 3 months, and in this bank's history customers like this "
        "one rarely did."
    ),
    "HIGH_NOT_DECLINE": _(
        "Why a high attrition risk in this stage: the stage rule reads only the last 3 months' "
        "AUM and transactions; the model also sees %(reasons)s."
    ),
}
#: Below this attrition risk a declining (衰退期) customer's risk is "low"; at or above the other, "high".
LOW_RISK = 0.05
HIGH_RISK = 0.2
#: P(alive) at or above this reads as "transacts regularly".
REGULAR_ALIVE = 0.95

TIER: dict[str, Any] = {
    "CATCH_ALL": _("no higher tier's rule holds"),
    "AND": _("%(rule)s and %(condition)s"),
    "NOW": _("%(condition)s (now %(actual)s)"),
    "HELD": ngettext_lazy(
        "kept for now: %(n)s month below this tier",
        "kept for now: %(n)s months below this tier",
        "n",
    ),
}

WARNINGS: dict[str, Any] = {
    # Written by runs from before the model modules were plain imports; kept so they still read.
    "MODULE_MISSING": _("%(module)s is not available: its columns are left empty"),
    "BGNBD": _("BG/NBD: %(message)s"),
    "BGNBD_CALIBRATION": _("BG/NBD (calibration): %(message)s"),
    "CLV_NOT_PROJECTED": _(
        "CLV: P(alive) could not be projected for %(n)s RFM patterns (degenerate BG/NBD "
        "parameters); today's P(alive) is used for the whole horizon"
    ),
    "HOLDOUT_SKIPPED": _(
        "BG/NBD holdout check skipped: fewer than %(n)s customers in the calibration period"
    ),
    # risk-style rating (qiao.analytics.riskstyle)
    "MISSING_AS_ZERO": _("%(n)s missing values treated as 0"),
    "TOO_FEW_CUSTOMERS": _(
        "only %(n)s customers (< %(min)s = 2 × max k): rated DORMANT/CONSERVATIVE by simple rules"
    ),
    "KMEANS": _("k=%(k)s: %(message)s"),
    "SILHOUETTE_UNDEFINED": _("k=%(k)s: silhouette undefined (%(n)s clusters in sample)"),
    "NO_DISTINCT_CLUSTERS": _(
        "no k gave at least two distinct clusters: rated DORMANT/CONSERVATIVE by simple rules"
    ),
    # attrition model notes (qiao.analytics.attrition)
    "ROWS_WITHOUT_LABEL": _("%(n)s rows without a label dropped"),
    "FEW_PERIODS": _("only %(n)s as_of dates: validating on the last %(n_val)s"),
    "VALIDATION_ONE_CLASS": _(
        "the validation periods have only one class: AUC undefined, threshold 0.5"
    ),
    "SHORT_GAP": _(
        "only %(n)s as_of dates: a gap of %(gap)s instead of %(wanted)s between training and "
        "validation"
    ),
    "NOT_VALIDATED": _(
        "only %(n)s training rows before the gap (or one class only): the model is not validated"
    ),
}

LIST_SEPARATOR = pgettext_lazy("list separator", ", ")
LIST_LAST = _("%(items)s and %(last)s")
REASON_SEPARATOR = pgettext_lazy("reason separator", "; ")

# ------------------------------------------------------------------------------------ formatting


def _chinese() -> bool:
    return (translation.get_language() or "").lower().startswith("zh")


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def money(value: Any) -> str:
    """An amount in yuan for a sentence: ``25.5万元`` in Chinese, ``¥255,000`` in English."""
    number = _number(value)
    if number is None:
        return "—"
    if _chinese():
        wan = f"{Decimal(str(number)) / 10_000:,.2f}".rstrip("0").rstrip(".")
        return _g("%(n)s万元") % {"n": "0" if wan in ("-0", "") else wan}
    return f"{'-' if number < 0 else ''}¥{abs(number):,.0f}"


def _plain(value: Any) -> str:
    number = _number(value)
    if number is None:
        return "—"
    if number.is_integer() and abs(number) >= 1000:
        return f"{number:,.0f}"
    return f"{number:.3g}"


def feature_label(feature: Any) -> str:
    """A feature column in words (its name when unknown)."""
    name = str(feature or "")
    label = FEATURE_LABELS.get(name)
    return str(label) if label is not None else name


def feature_value(feature: str, value: Any) -> str:
    """A feature's value as shown in a sentence: money, a percentage or a plain number."""
    if feature in MONEY_FEATURES:
        return money(value)
    number = _number(value)
    if feature in SHARE_FEATURES and number is not None:
        return f"{number * 100:.3g}%"
    return _plain(value)


def join_items(items: list[str]) -> str:
    """``a, b and c`` (``a、b和c`` in Chinese)."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return str(LIST_LAST) % {"items": str(LIST_SEPARATOR).join(items[:-1]), "last": items[-1]}


def _fill(template: Any, params: dict[str, Any]) -> str | None:
    """``template % params``; None when a parameter is missing or malformed."""
    try:
        return str(template % params)
    except (KeyError, TypeError, ValueError):
        return None


# -------------------------------------------------------------------------------------- reasons


def _attribute_params(params: dict[str, Any]) -> dict[str, Any]:
    p = dict(params or {})
    if "amount" in p:
        p["amount"] = money(p["amount"])
    return p


def render_attribute(kind: str, code: str, params: dict[str, Any]) -> str | None:
    """Render a lifecycle stage / deposit motive / need mode reason; None for an unknown code."""
    p = _attribute_params(params)
    if kind == "stage":
        template = STAGE.get(code)
        return None if template is None else _fill(template, p)
    if kind == "motive":
        template = MOTIVE.get(code)
        return None if template is None else _fill(template, p)
    if kind == "need_mode":
        template = NEED_MODE.get(code)
        if template is None:
            return None
        parts = [_fill(t, p) for key, t in NEED_SIGNALS.items() if key in p]
        if any(part is None for part in parts):
            return None
        signals = str(REASON_SEPARATOR).join(part for part in parts if part)
        return _fill(template, {"signals": signals})
    return None


def render_attrition(code: str, params: dict[str, Any]) -> str | None:
    """Render one attrition reason; None for an unknown code."""
    template = ATTRITION.get(code)
    if template is None:
        return None
    p = dict(params or {})
    feature = str(p.get("feature", ""))
    for key in ("amount", "typical") if code in ("AUM_LOW", "AUM_HIGH") else ("amount",):
        if key in p:
            p[key] = money(p[key])
    if code in ("UNUSUAL_HIGH", "UNUSUAL_LOW"):
        p["value"], p["typical"] = _plain(p.get("value")), _plain(p.get("typical"))
    if "feature" in p:
        p["feature"] = feature_label(feature)
    return _fill(template, p)


def render_condition(cond: dict[str, Any]) -> str:
    """One tier condition, e.g. ``AUM ≥ ¥300,000 (now ¥412,000)`` / ``资产 ≥ 30万元（当前 …）``."""
    feature = str(cond.get("feature", ""))
    name = (
        feature_label(feature) if feature in FEATURE_LABELS else str(cond.get("label") or feature)
    )
    op = str(cond.get("op", ""))
    value = cond.get("value")
    if feature.endswith("_flag") and op in (">=", "==") and _number(value) == 1:
        return name
    if op == "between":
        text = (
            f"{name} {feature_value(feature, value)} – {feature_value(feature, cond.get('high'))}"
        )
    else:
        symbol = {">=": "≥", "<=": "≤", "==": "="}.get(op, op)
        text = f"{name} {symbol} {feature_value(feature, value)}"
    if cond.get("actual") is None:
        return text
    return str(TIER["NOW"]) % {
        "condition": text,
        "actual": feature_value(feature, cond["actual"]),
    }


def render_tier_why(why: Any) -> str:
    """The rule that put the customer in the tier (one scheme's entry of ``tier_why``)."""
    if not isinstance(why, dict):
        return ""
    conditions = why.get("conditions")
    if not isinstance(conditions, list):
        return str(why.get("rule") or "")  # written before the conditions were kept
    if not conditions:
        text = str(TIER["CATCH_ALL"])
    else:
        parts = [render_condition(c) for c in conditions if isinstance(c, dict)]
        text = parts[0]
        for part in parts[1:]:
            text = str(TIER["AND"]) % {"rule": text, "condition": part}
    if why.get("held_by_hysteresis") and why.get("months_below"):
        held = TIER["HELD"] % {"n": int(why["months_below"])}
        text = f"{text}{REASON_SEPARATOR}{held}"
    return text


def render_cross_sell(candidate: Any) -> dict[str, str]:
    """A cross-sell candidate as ``{"item", "label", "reason"}`` in the active language."""
    if not isinstance(candidate, dict):
        return {"item": str(candidate), "label": code_label(candidate), "reason": ""}
    item = str(candidate.get("item", ""))
    out = {"item": item, "label": code_label(item), "reason": str(candidate.get("reason") or "")}
    antecedent, pct = candidate.get("antecedent"), candidate.get("pct")
    if isinstance(antecedent, list) and antecedent and pct is not None:
        reason = _fill(
            CROSS_SELL,
            {
                "items": join_items([code_label(a) for a in antecedent]),
                "pct": pct,
                "item": code_label(item),
            },
        )
        if reason is not None:
            out["reason"] = reason
    return out


def render_warning(code: Any, params: Any, text: str) -> str:
    """A warning of the nightly scoring (its English ``text`` when the code is unknown)."""
    template = WARNINGS.get(str(code))
    if template is None or not isinstance(params, dict):
        return text
    return _fill(template, params) or text


def warning_texts(diagnostics: dict[str, Any]) -> list[str]:
    """The run's warnings in the active language (as stored for runs without codes)."""
    return coded_texts(diagnostics.get("warnings"), diagnostics.get("warning_codes"))


def coded_texts(texts: Any, codes: Any) -> list[str]:
    """English ``texts`` with their parallel ``codes`` (``{"code", "params"}``) → the texts in
    the active language; the English ones where the codes are missing or unknown."""
    texts = [str(w) for w in texts or []]
    if not isinstance(codes, list) or len(codes) != len(texts):
        return texts
    return [
        render_warning(c.get("code"), c.get("params"), t) if isinstance(c, dict) else t
        for c, t in zip(codes, texts, strict=True)
    ]


def _coded(entry: Any) -> tuple[str, dict[str, Any]] | None:
    if isinstance(entry, dict) and entry.get("code"):
        params = entry.get("params")
        return str(entry["code"]), params if isinstance(params, dict) else {}
    return None


def explain_snapshot(score: Any) -> dict[str, Any]:
    """Everything the 360 shows of a snapshot's explanations, in the active language.

    Returns
    -------
    dict
        ``tier`` (pyramid rule), ``tier_deposit`` (deposit rule), ``stage``, ``motive``,
        ``need_mode`` (text), ``attrition`` (list of texts), ``cross_sell`` (list of
        ``{"item", "label", "reason"}``), ``alive`` (P(alive) in words, :func:`alive_text`) and
        ``stage_vs_attrition`` (why the two disagree, :func:`stage_vs_attrition`; "" if not).
    """
    if score is None:
        return {}
    codes = score.reason_codes if isinstance(score.reason_codes, dict) else {}
    tier_why = score.tier_why if isinstance(score.tier_why, dict) else {}
    features = score.features if isinstance(score.features, dict) else {}
    english = {
        "stage": score.stage_why,
        "motive": score.motive_why,
        "need_mode": str(features.get("need_mode_why") or ""),
    }
    out: dict[str, Any] = {
        "tier": render_tier_why(tier_why.get("pyramid")),
        "tier_deposit": render_tier_why(tier_why.get("deposit")),
    }
    for kind, text in english.items():
        coded = _coded(codes.get(kind))
        rendered = render_attribute(kind, *coded) if coded else None
        out[kind] = rendered if rendered is not None else text
    attrition: list[str] = []
    stored = score.attrition_reasons if isinstance(score.attrition_reasons, list) else []
    coded_reasons = codes.get("attrition")
    if isinstance(coded_reasons, list) and len(coded_reasons) == len(stored):
        for entry, text in zip(coded_reasons, stored, strict=True):
            c = _coded(entry)
            rendered = render_attrition(*c) if c else None
            attrition.append(rendered if rendered is not None else _reason_text(text))
    else:
        attrition = [_reason_text(r) for r in stored]
    out["attrition"] = attrition
    out["attrition_text"] = str(REASON_SEPARATOR).join(attrition)
    cross = score.cross_sell if isinstance(score.cross_sell, list) else []
    out["cross_sell"] = [render_cross_sell(c) for c in cross]
    out["alive"] = alive_text(score)
    out["stage_vs_attrition"] = stage_vs_attrition(score, out.get("stage") or "", attrition)
    return out


def alive_text(score: Any) -> str:
    """P(alive) of a snapshot in words: why it is near 100 %, what it weighs, or why there is
    none (no repeat transaction day: BG/NBD says nothing; docs/models.md, "P(alive)")."""
    features = score.features if isinstance(score.features, dict) else {}
    days = _number(features.get("recency_days"))
    p = _number(score.p_alive)
    params = {"days": f"{days:,.0f}" if days is not None else "—"}
    if p is None:
        return str(ALIVE["NONE"] if days is None else ALIVE["ONE_DAY"] % params)
    if p == 0.0 and not (_number(getattr(score, "aum", None)) or 0) > 0:
        return str(ALIVE["GONE"])
    if days is None:
        return ""
    return str((ALIVE["REGULAR"] if p >= REGULAR_ALIVE else ALIVE["LAPSING"]) % params)


def stage_vs_attrition(score: Any, stage_why: str, attrition_reasons: list[str]) -> str:
    """Why the lifecycle stage and the attrition risk disagree, in words ("" when they agree):
    decline (衰退期) with a low risk (the stage looks back, the risk ahead), or a high risk outside
    衰退期 (the model reads more than the stage rule)."""
    p = _number(score.attrition_prob)
    if p is None:
        return ""
    if score.stage == "DECLINE" and p < LOW_RISK:
        return str(
            STAGE_VS_ATTRITION["DECLINE_LOW"]
            % {"stage": code_label("DECLINE"), "stage_why": stage_why or "—"}
        )
    if score.stage != "DECLINE" and p >= HIGH_RISK and attrition_reasons:
        return str(
            STAGE_VS_ATTRITION["HIGH_NOT_DECLINE"] % {"reasons": join_items(attrition_reasons)}
        )
    return ""


def probability(value: Any) -> str:
    """A probability as a whole percentage that never claims certainty it does not have:
    ``<1%`` and ``>99%`` at the ends, ``—`` when there is none."""
    p = _number(value)
    if p is None:
        return "—"
    if p < 0.005:
        return "<1%"
    if p > 0.995:
        return ">99%"
    return f"{p * 100:.0f}%"


def _reason_text(stored: Any) -> str:
    if isinstance(stored, dict):
        return str(stored.get("reason") or "")
    return str(stored)
