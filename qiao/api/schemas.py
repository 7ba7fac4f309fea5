"""Input and output schemas, one per operation (django-ninja / pydantic)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema
from pydantic import ConfigDict, Field


class TokenIn(Schema):
    username: str = Field(max_length=150)
    password: str = Field(max_length=4096)


class TokenOut(Schema):
    token: str
    expires_at: dt.datetime


class TokenItem(Schema):
    id: int
    prefix: str = Field(description="The token's first 8 characters, to recognise it.")
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None = None
    current: bool = Field(description="The token this request was sent with.")


class TokenList(Schema):
    items: list[TokenItem]


class CustomerItem(Schema):
    customer_no: str
    name: str
    customer_type: str
    tier: str
    aum: Decimal | None = Field(
        description="Null when the caller's role does not see balances (org.view_balances)."
    )
    contribution: Decimal | None = Field(
        description="Null when the caller's role does not see balances (org.view_balances)."
    )
    owner: str | None = Field(None, description="Username (staff number) of the primary manager.")
    outlet: str
    id_no: str = Field(description="Masked: first 6 and last 4 characters.")
    mobile: str = Field(description="Masked: first 3 and last 4 digits.")
    last_contact_at: dt.datetime | None = None


class CustomerList(Schema):
    items: list[CustomerItem]
    count: int


class Completeness(Schema):
    score: int
    missing: list[str]


class Owner(Schema):
    username: str
    role: str
    start_date: dt.date
    end_date: dt.date | None = None


class CustomerDetail(CustomerItem):
    id_type: str
    gender: str
    birth_year: int | None = None
    landline: str
    email: str
    address: str
    postal_code: str
    occupation: str
    industry: str
    education: str
    school: str
    tax_record: str
    marital_status: str
    investment_pref: str
    product_pref: str
    marketing_pref: str
    hobbies: str
    family_notes: str
    annual_income: Decimal | None = None
    legal_rep: str
    ownership_type: str
    size_class: str
    registered_capital: Decimal | None = None
    main_business: str
    open_date: dt.date
    completeness: Completeness
    owners: list[Owner]
    risk_tolerance: str | None = Field(
        None,
        description="C1..C5 of the latest risk assessment while it is valid; null when there is "
        "none or it has expired.",
    )
    assessment_expires: dt.date | None = Field(
        None,
        description="The last day the latest risk assessment is valid (past when expired); "
        "null when the customer has never been assessed.",
    )


class ProfilePatch(Schema):
    """Profile fields to change; omitted fields stay as they are, ``""`` or ``null`` clears one.

    Values are validated by the same rules as the web form and the extract files.
    """

    model_config = ConfigDict(extra="allow")

    name: str | None = None
    id_type: str | None = None
    id_no: str | None = None
    gender: str | None = None
    birth_date: str | None = None
    mobile: str | None = None
    landline: str | None = None
    email: str | None = None
    address: str | None = None
    postal_code: str | None = None
    occupation: str | None = None
    industry: str | None = None
    education: str | None = None
    school: str | None = None
    tax_record: str | None = None
    marital_status: str | None = None
    family_notes: str | None = None
    investment_pref: str | None = None
    product_pref: str | None = None
    marketing_pref: str | None = None
    hobbies: str | None = None
    annual_income: str | None = None
    legal_rep: str | None = None
    ownership_type: str | None = None
    size_class: str | None = None
    registered_capital: str | None = None
    main_business: str | None = None


class RevealIn(Schema):
    field: str = Field(description="id_no, mobile, landline, email, address, or account:<id>.")
    reason: str = Field(max_length=200)


class RevealOut(Schema):
    field: str
    value: str


class AssessmentIn(Schema):
    """A risk assessment made today with the customer (docs/suitability.md)."""

    answers: dict[str, str] = Field(
        description="Question id → answer id, for every question of the active questionnaire."
    )
    customer_signed: bool = Field(description="The customer signed to confirm the result.")
    qualified_investor: bool = False
    qualified_evidence: str = Field("", max_length=200)
    assessed_on: dt.date | None = Field(
        None, description="Today if given: a future or back-dated assessment is refused."
    )


class AssessmentOut(Schema):
    customer_no: str
    tolerance: str = Field(description="C1..C5")
    score: int | None
    assessed_on: dt.date
    valid_until: dt.date
    questionnaire_version: str
    source: str
    elderly: bool = Field(description="Aged 65 or over on the day.")
    qualified_investor: bool
