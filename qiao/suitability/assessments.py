"""Reading risk assessments: the questionnaire in force, a customer's tolerance on a day, the 360's
assessment panel and the holdings to review (docs/suitability.md, "Risk assessment").

An assessment is *valid* on day ``d`` when ``assessed_on <= d <= valid_until``; a customer's
tolerance is that of their latest assessment (latest ``assessed_on``, then latest recorded) while
it is valid. The history is never overwritten: every assessment stays, newest first.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qiao.core.suitability import RATED_CATEGORIES, level_rank
from qiao.core.vocab import RISK_TOLERANCES
from qiao.customers.models import Customer
from qiao.products.models import Account
from qiao.suitability.models import Questionnaire as QuestionnaireSet
from qiao.suitability.models import RiskAssessment
from qiao.suitability.questionnaire import (
    Questionnaire,
    QuestionnaireError,
    parse_questionnaire,
)

ELDERLY_AGE = 65  # 2011 Measures Art. 28: take age and experience fully into account at 65+


logger = logging.getLogger(__name__)


def active_questionnaire() -> Questionnaire:
    """The active questionnaire of the admin (the latest changed), else the file in the repo.

    The admin checks an edited version with the same parser; should a stored one still fail
    (edited in the database by hand), the file is used rather than breaking every page.
    """
    stored = QuestionnaireSet.objects.filter(active=True).order_by("-updated_at").first()
    if stored is not None:
        try:
            return parse_questionnaire(stored.definition)
        except QuestionnaireError as exc:
            logger.error(
                "stored risk questionnaire %s is not valid (%s): using the file", stored.pk, exc
            )
    return _file_questionnaire()


@functools.lru_cache(maxsize=1)
def _file_questionnaire() -> Questionnaire:
    """The repository's questionnaire, parsed once per process (the file ships with the code;
    parsing its TOML on every 360 cost ~4 ms at 1 M customers, docs/workbench.md)."""
    return parse_questionnaire(None)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months (the 31st → the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def valid_until_for(assessed_on: dt.date, months: int) -> dt.date:
    """The last day an assessment made on ``assessed_on`` is valid: ``months`` later, less a day
    (assessed 2026-03-10, valid for 12 months: to 2027-03-09 inclusive)."""
    return add_months(assessed_on, months) - dt.timedelta(days=1)


def age_on(birth: dt.date | None, day: dt.date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def is_elderly(customer: Customer, day: dt.date) -> bool:
    """Aged 65 or over on ``day`` (birth date known, an individual)."""
    age = age_on(customer.birth_date, day)
    return age is not None and age >= ELDERLY_AGE and not customer.is_corporate


def assessments_of(customer: Customer) -> QuerySet[RiskAssessment]:
    """Every assessment of ``customer``, newest first (the history)."""
    return (
        RiskAssessment.objects.filter(customer=customer)
        .select_related("recorded_by")
        .order_by("-assessed_on", "-id")
    )


def latest_assessment(customer: Customer) -> RiskAssessment | None:
    return assessments_of(customer).first()


def valid_on(assessment: RiskAssessment | LatestAssessment | None, day: dt.date) -> bool:
    return assessment is not None and assessment.assessed_on <= day <= assessment.valid_until


@dataclass(frozen=True)
class LatestAssessment:
    """What the suitability rule and the API read of a customer's latest assessment."""

    tolerance: str
    assessed_on: dt.date
    valid_until: dt.date
    qualified_investor: bool


def latest_assessments(customer_ids: Iterable[int]) -> dict[int, LatestAssessment]:
    """Each customer's latest assessment (latest ``assessed_on``, then latest recorded), valid or
    not, for many customers at once; a customer without one is not in the answer.

    The one lookup of "the latest assessment": the shelf's suitability facts
    (:func:`qiao.suitability.shelf.customer_facts`) and :func:`tolerance_on` both read it. Columns
    only, one query (the ids as one value: :mod:`qiao.core.lookups`)."""
    out: dict[int, LatestAssessment] = {}
    rows = (
        RiskAssessment.objects.filter(customer_id__among=customer_ids)
        .order_by("customer_id", "-assessed_on", "-id")
        .values_list("customer_id", "tolerance", "assessed_on", "valid_until", "qualified_investor")
    )
    for cid, tolerance, assessed_on, valid_until, qualified in rows:
        if cid not in out:  # newest first: the first row of each customer
            out[cid] = LatestAssessment(tolerance, assessed_on, valid_until, qualified)
    return out


def tolerance_on(customer: Customer, day: dt.date | None = None) -> tuple[str, dt.date | None]:
    """``(tolerance, valid_until)`` of the latest assessment: the tolerance ``""`` when there is
    none or it is not valid on ``day`` (default today); ``valid_until`` of the latest, or None."""
    day = day or timezone.localdate()
    latest = latest_assessments([customer.pk]).get(customer.pk)
    if latest is None:
        return "", None
    return (latest.tolerance if valid_on(latest, day) else ""), latest.valid_until


@dataclass(frozen=True)
class ReviewLine:
    """A purchase or holding of a rated product that a person should look at."""

    account: Account
    level: str  # the product's risk level (R1–R5, "" when unrated)
    reasons: tuple[str, ...]  # REVIEW codes

    @property
    def texts(self) -> list[str]:
        return [str(REVIEW_TEXTS[r]) for r in self.reasons]


#: Why a rated account is listed for review (rendered by the 360's assessment panel).
REVIEW_ABOVE = "ABOVE_LEVEL"  # held above the customer's current assessed tolerance
REVIEW_NO_VALID = "NO_VALID_ASSESSMENT"  # held with no valid assessment today
REVIEW_SOLD_WITHOUT = "SOLD_WITHOUT_ASSESSMENT"  # opened on a day with no valid assessment
REVIEW_TEXTS = {
    REVIEW_ABOVE: _("held above the customer's current tolerance"),
    REVIEW_NO_VALID: _("held with no valid risk assessment"),
    REVIEW_SOLD_WITHOUT: _("sold without a valid assessment (or above the level then in force)"),
}


def _covered(history: list[RiskAssessment], day: dt.date) -> RiskAssessment | None:
    """The assessment in force on ``day``: the latest made on or before it, if still valid."""
    for a in history:  # newest first
        if a.assessed_on <= day:
            return a if day <= a.valid_until else None
    return None


def review_lines(
    *, accounts: Iterable[Account], history: list[RiskAssessment], day: dt.date
) -> list[ReviewLine]:
    """The customer's rated accounts to review on ``day`` (docs/suitability.md):

    - opened on a day with no valid assessment ("sold first, assessed later", 2025 Measures
      Art. 13(1)), or opened above the tolerance in force that day;
    - still open and above the customer's current tolerance, or with no valid assessment now.

    Nothing is hidden: existing holdings stay on the page with the reason they are listed.
    """
    current = history[0] if history and valid_on(history[0], day) else None
    now_rank = level_rank(current.tolerance, RISK_TOLERANCES) if current else 0
    lines = []
    for account in accounts:
        product = account.product
        if product.category not in RATED_CATEGORIES:
            continue
        level = product.risk_level or ""
        rank = level_rank(level)
        reasons = []
        then = _covered(history, account.open_date)
        if then is None or rank > level_rank(then.tolerance, RISK_TOLERANCES):
            reasons.append(REVIEW_SOLD_WITHOUT)
        if account.close_date is None and account.status != "CLOSED":
            if current is None:
                reasons.append(REVIEW_NO_VALID)
            elif rank > now_rank:
                reasons.append(REVIEW_ABOVE)
        if reasons:
            lines.append(ReviewLine(account=account, level=level, reasons=tuple(reasons)))
    return lines


def assessment_panel(
    *, customer: Customer, accounts: Iterable[Account], day: dt.date | None = None
) -> dict[str, Any]:
    """The 360's assessment section: the latest assessment and whether it is valid, expiring or
    missing; the 65+ flag; the history; the rated holdings to review."""
    day = day or timezone.localdate()
    history = list(assessments_of(customer)[:50])
    latest = history[0] if history else None
    questionnaire = active_questionnaire()
    if latest is None:
        state = "missing"
    elif not valid_on(latest, day):
        state = "expired" if latest.valid_until < day else "future"
    elif (latest.valid_until - day).days <= questionnaire.warn_days:
        state = "expiring"
    else:
        state = "valid"
    return {
        "latest": latest,
        "state": state,
        "days_left": (latest.valid_until - day).days if latest else None,
        "elderly_now": is_elderly(customer, day),
        "age": age_on(customer.birth_date, day) if not customer.is_corporate else None,
        "history": history,
        "review": review_lines(accounts=accounts, history=history, day=day),
    }
