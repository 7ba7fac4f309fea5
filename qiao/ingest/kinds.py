"""The extract file kinds of docs/data-interface.md: columns, which are required, and each column's
validator (the same ``qiao.core.validators`` the forms and the API use)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from django.utils.translation import gettext_lazy as _

from qiao.core import validators as v
from qiao.core import vocab
from qiao.customers.consent_rules import (
    clean_clock,
    clean_evidence,
    clean_language,
    clean_time_zone,
)
from qiao.customers.rules import CUSTOMER_FIELDS

Cleaner = Callable[[str], Any]


def _enum(*choices: str) -> Cleaner:
    return partial(v.clean_enum, choices=choices)


# The codes each enumerated column accepts, from their one home (qiao.core.vocab).
UNIT_LEVELS = vocab.UNIT_LEVELS.codes
ROLES = vocab.ROLES.codes
GRADES = vocab.GRADES.codes
CATEGORIES = vocab.CATEGORIES.codes
RATED = frozenset(vocab.CATEGORIES.having("rated"))
LIABILITY = frozenset(vocab.CATEGORIES.having("liability"))
RISK_LEVELS = vocab.RISK_LEVELS.codes
MOTIVES = vocab.MOTIVES.codes
SALE_STATUSES = vocab.SALE_STATUSES.codes
CHANNELS = vocab.CHANNELS.codes
TXN_TYPES = vocab.TXN_TYPES.codes
PAY_METHODS = vocab.PAY_METHODS.codes
SERVICES = vocab.EBANKING_SERVICES.codes
CORPORATE_SERVICES = frozenset(vocab.EBANKING_SERVICES.having("corporate"))
RISK_TOLERANCES = vocab.RISK_TOLERANCES.codes
GROUP_ROLES = vocab.GROUP_ROLES.codes
GROUP_LINKS = vocab.GROUP_LINKS.codes
RELATIONS = vocab.RELATIONS.codes
ACCOUNT_STATUSES = vocab.ACCOUNT_STATUSES.codes
CURRENCIES = vocab.CURRENCIES.codes
PAYROLL_TYPES = vocab.PAYROLL_TYPES.codes
OWNERSHIP_ROLES = vocab.OWNERSHIP_ROLES.codes
CONSENT_CHANNELS = vocab.CONSENT_CHANNELS.codes
CONSENT_STATES = vocab.CONSENT_STATES.codes
CONSENT_SOURCES = vocab.CONSENT_SOURCES.codes


@dataclass(frozen=True)
class Kind:
    name: str
    #: column → (required, cleaner)
    spec: dict[str, tuple[bool, Cleaner]]
    key: tuple[str, ...]
    lake: bool = False

    @property
    def columns(self) -> set[str]:
        return set(self.spec)

    @property
    def required(self) -> list[str]:
        return [c for c, (req, _) in self.spec.items() if req]


_text = partial(v.clean_text, max_length=200)
_decimal4 = partial(v.clean_decimal, places=4)


def _score(value: str) -> Any:
    number = v.clean_int(value, minimum=0)
    if number > 1000:
        raise v.FieldError(_("must be at most %(max)s") % {"max": 1000})
    return number


def _pct(value: str) -> Any:
    number = v.clean_decimal(value, places=2)
    if not 0 <= number <= 100:
        raise v.FieldError(_("must be between 0 and 100"))
    return number


def _days(value: str) -> Any:
    """Days overdue: a whole number from 0 to 36,500 (a hundred years)."""
    number = v.clean_int(value, minimum=0)
    if number > 36_500:
        raise v.FieldError(_("must be at most %(max)s") % {"max": "36,500"})
    return number


KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind(
            "org_units",
            {
                "unit_code": (True, v.clean_code),
                "name": (True, partial(v.clean_text, max_length=100)),
                "level": (True, _enum(*UNIT_LEVELS)),
                "parent_code": (False, v.clean_code),
                "address": (False, _text),
            },
            key=("unit_code",),
        ),
        Kind(
            "staff",
            {
                "staff_no": (True, v.clean_code),
                "name": (True, partial(v.clean_text, max_length=100)),
                "role": (True, _enum(*ROLES)),
                "unit_code": (True, v.clean_code),
                "grade": (False, _enum(*GRADES)),
                "mobile": (False, v.clean_mobile),
                "email": (False, v.clean_email),
                "hire_date": (False, v.clean_past_date),
                "leave_date": (False, v.clean_date),
            },
            key=("staff_no",),
        ),
        Kind(
            "products",
            {
                "product_code": (True, v.clean_code),
                "name": (True, _text),
                "category": (True, _enum(*CATEGORIES)),
                "risk_level": (False, _enum(*RISK_LEVELS)),
                "min_amount": (False, v.clean_amount),
                "term_days": (False, partial(v.clean_int, minimum=0)),
                "issue_date": (False, v.clean_date),
                "maturity_date": (False, v.clean_date),
                "motives": (False, partial(v.clean_enum_list, choices=MOTIVES)),
                "rate": (False, _decimal4),
                # The shelf (docs/suitability.md): both ratings, the higher applies.
                "issuer_risk_level": (False, _enum(*RISK_LEVELS)),
                "seller_risk_level": (False, _enum(*RISK_LEVELS)),
                "issuer": (False, _text),
                "private": (False, _enum("Y", "N")),
                "currency": (False, _enum(*CURRENCIES)),
                "sale_status": (False, _enum(*SALE_STATUSES)),
            },
            key=("product_code",),
        ),
        Kind("customers", CUSTOMER_FIELDS, key=("customer_no",)),
        Kind(
            "groups",
            {
                "group_code": (True, v.clean_code),
                "group_name": (True, _text),
                "customer_no": (True, v.clean_code),
                "member_role": (True, _enum(*GROUP_ROLES)),
                "link_type": (True, _enum(*GROUP_LINKS)),
                "equity_pct": (False, _pct),
            },
            key=("group_code", "customer_no"),
        ),
        Kind(
            "relationships",
            {
                "customer_no": (True, v.clean_code),
                "related_customer_no": (True, v.clean_code),
                "relation": (True, _enum(*RELATIONS)),
                "note": (False, _text),
            },
            key=("customer_no", "related_customer_no", "relation"),
        ),
        Kind(
            "accounts",
            {
                "account_no": (True, v.clean_code),
                "customer_no": (True, v.clean_code),
                "product_code": (True, v.clean_code),
                "open_date": (True, v.clean_past_date),
                "maturity_date": (False, v.clean_date),
                "close_date": (False, v.clean_past_date),
                "status": (False, _enum(*ACCOUNT_STATUSES)),
                "currency": (False, _enum(*CURRENCIES)),
                "balance": (False, v.clean_amount),
                "branch_code": (False, v.clean_code),
            },
            key=("account_no",),
        ),
        Kind(
            "holdings",
            {
                "account_no": (True, v.clean_code),
                "as_of_date": (True, v.clean_past_date),
                "units": (True, partial(v.clean_decimal, places=4, minimum=Decimal(0))),
                "cost": (True, v.clean_amount),
                "market_value": (True, v.clean_amount),
            },
            key=("account_no", "as_of_date"),
        ),
        Kind(
            "ebanking",
            {
                "customer_no": (True, v.clean_code),
                "service": (True, _enum(*SERVICES)),
                "opened_date": (True, v.clean_past_date),
                "activated_date": (False, v.clean_past_date),
                "source": (False, _enum(*vocab.EBANKING_SOURCES.codes)),
                "recommended_by": (False, v.clean_code),
                "closed_date": (False, v.clean_past_date),
            },
            key=("customer_no", "service"),
        ),
        Kind(
            "payroll",
            {
                "customer_no": (True, v.clean_code),
                "account_no": (True, v.clean_code),
                "relation_type": (True, _enum(*PAYROLL_TYPES)),
                "payer": (True, _text),
                "start_date": (True, v.clean_past_date),
                "end_date": (False, v.clean_date),
            },
            key=("account_no", "relation_type", "payer"),
        ),
        Kind(
            "ownership",
            {
                "customer_no": (True, v.clean_code),
                "staff_no": (True, v.clean_code),
                "role": (True, _enum(*OWNERSHIP_ROLES)),
                "start_date": (True, v.clean_past_date),
                "end_date": (False, v.clean_date),
            },
            key=("customer_no", "staff_no", "role", "start_date"),
        ),
        # Risk assessments made in core banking (docs/data-interface.md, docs/suitability.md).
        Kind(
            "assessments",
            {
                "customer_no": (True, v.clean_code),
                "assessed_on": (True, v.clean_past_date),
                "tolerance": (True, _enum(*RISK_TOLERANCES)),
                "score": (False, _score),
                "valid_until": (False, v.clean_date),
                "questionnaire_version": (False, partial(v.clean_text, max_length=20)),
                "signed": (False, _enum("Y", "N")),
                "qualified_investor": (False, _enum("Y", "N")),
                "qualified_evidence": (False, _text),
            },
            key=("customer_no", "assessed_on"),
        ),
        # Marketing consent per customer and channel, and contact preferences (docs/data-interface.md,
        # docs/privacy.md "Consent").
        Kind(
            "consents",
            {
                "customer_no": (True, v.clean_code),
                "channel": (True, _enum(*CONSENT_CHANNELS)),
                "state": (True, _enum(*CONSENT_STATES)),
                "on": (True, v.clean_past_date),
                "source": (False, _enum(*CONSENT_SOURCES)),
                "evidence": (False, clean_evidence),
            },
            key=("customer_no", "channel"),
        ),
        Kind(
            "contact_preferences",
            {
                "customer_no": (True, v.clean_code),
                "preferred_channel": (False, _enum(*CONSENT_CHANNELS)),
                "dnd_start": (False, clean_clock),
                "dnd_end": (False, clean_clock),
                "language": (False, clean_language),
                "time_zone": (False, clean_time_zone),
            },
            key=("customer_no",),
        ),
        # Credit data from core banking (issue 16; docs/data-interface.md, docs/keyaccounts.md).
        Kind(
            "facilities",
            {
                "facility_no": (True, v.clean_code),
                "customer_no": (True, v.clean_code),
                "limit": (True, v.clean_amount),
                "used": (False, v.clean_amount),
                "currency": (False, _enum(*CURRENCIES)),
                "start_date": (True, v.clean_past_date),
                "end_date": (True, v.clean_date),
                "guarantee_type": (False, _enum(*vocab.GUARANTEE_TYPES.codes)),
                "collateral": (False, _text),
                "collateral_value": (False, v.clean_amount),
                "status": (False, _enum(*vocab.FACILITY_STATUSES.codes)),
            },
            key=("facility_no",),
        ),
        Kind(
            "loans",
            {
                "loan_no": (True, v.clean_code),
                "customer_no": (True, v.clean_code),
                "facility_no": (False, v.clean_code),
                "product_code": (False, v.clean_code),
                "loan_type": (False, _enum(*vocab.LOAN_TYPES.codes)),
                "principal": (True, v.clean_amount),
                "balance": (True, v.clean_amount),
                "currency": (False, _enum(*CURRENCIES)),
                "start_date": (True, v.clean_past_date),
                "maturity_date": (True, v.clean_date),
                "classification": (True, _enum(*vocab.LOAN_CLASSES.codes)),
                "days_overdue": (False, _days),
                "interest_arrears": (False, v.clean_amount),
                "as_of_date": (True, v.clean_past_date),
                # The day the bank wrote the loan off (核销); blank: not written off.
                "written_off_on": (False, v.clean_past_date),
            },
            key=("loan_no",),
        ),
        Kind(
            "guarantees",
            {
                "guarantee_no": (True, v.clean_code),
                "guarantor_customer_no": (True, v.clean_code),
                "borrower_customer_no": (True, v.clean_code),
                "loan_no": (False, v.clean_code),
                "facility_no": (False, v.clean_code),
                "amount": (True, partial(v.clean_amount, positive=True)),
                "guarantee_type": (False, _enum(*vocab.GUARANTEE_TYPES.having("secured"))),
                "start_date": (True, v.clean_past_date),
                "end_date": (False, v.clean_date),
            },
            key=("guarantee_no",),
        ),
        Kind(
            "risk_signals",
            {
                "customer_no": (True, v.clean_code),
                "kind": (True, _enum(*vocab.SIGNAL_KINDS.codes)),
                "source": (True, partial(v.clean_text, max_length=100)),
                "signal_date": (True, v.clean_past_date),
                "detail": (False, partial(v.clean_text, max_length=1000)),
            },
            key=("customer_no", "kind", "signal_date", "source"),
        ),
        Kind(
            "list_entries",
            {
                "customer_no": (True, v.clean_code),
                "list_kind": (True, _enum(*vocab.LIST_KINDS.codes)),
                "reason": (True, _text),
                "listed_on": (True, v.clean_past_date),
                "removed_on": (False, v.clean_past_date),
            },
            key=("customer_no", "list_kind"),
        ),
        # The lake kinds are validated column-wise in DuckDB (qiao.ingest.lake); the cleaners here
        # document the same rules and serve single-row checks.
        Kind(
            "balances",
            {
                "account_no": (True, v.clean_code),
                "balance_date": (True, v.clean_past_date),
                "balance": (True, v.clean_amount),
            },
            key=("account_no", "balance_date"),
            lake=True,
        ),
        Kind(
            "transactions",
            {
                "txn_id": (True, v.clean_code),
                "account_no": (True, v.clean_code),
                "customer_no": (True, v.clean_code),
                "txn_time": (True, v.clean_timestamp),
                "amount": (True, partial(v.clean_amount, positive=True)),
                "direction": (True, _enum("C", "D")),
                "channel": (True, _enum(*CHANNELS)),
                "txn_type": (True, _enum(*TXN_TYPES)),
                "product_code": (False, v.clean_code),
                "gain": (False, partial(v.clean_decimal, places=2)),
                "cash": (False, _enum("Y", "N")),
                # How a payment was made (seed 002 R6; optional, blank when not a payment).
                "pay_method": (False, _enum(*PAY_METHODS)),
            },
            key=("txn_id",),
            lake=True,
        ),
    ]
}

#: The order in which kinds load when several files are given together.
LOAD_ORDER = [
    "org_units",
    "staff",
    "products",
    "customers",
    "groups",
    "relationships",
    "accounts",
    "holdings",
    "balances",
    "transactions",
    "ebanking",
    "payroll",
    "ownership",
    "assessments",
    "consents",
    "contact_preferences",
    "facilities",
    "loans",
    "guarantees",
    "risk_signals",
    "list_entries",
]


def register(kind: Kind, applier: Callable[..., None], *, after: str | None = None) -> None:
    """Add the extract kind of an app above ingest (its ``AppConfig.ready`` calls this): the
    same reader, validation, rejects, atomic load and audit as every kind here, with the app's
    ``applier(rows, counts, by)``; ``after`` places it in :data:`LOAD_ORDER`. Ingest names none
    of those apps (docs/architecture.md, "Layers")."""
    from qiao.ingest.master import APPLIERS

    KINDS[kind.name] = kind
    APPLIERS[kind.name] = applier
    if kind.name not in LOAD_ORDER:
        LOAD_ORDER.insert(
            LOAD_ORDER.index(after) + 1 if after in LOAD_ORDER else len(LOAD_ORDER), kind.name
        )
