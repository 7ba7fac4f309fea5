"""Personas for the survey tests: sub-branch S01 with outlets O0101 (Alice and Bob, CMs; Hannah,
outlet head; Leo, lobby) and O0102 (Carol, CM); branch B02 with Dave (CM); Nina, analyst at head
office (sees all); Mark, marketing (manages surveys)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.utils import timezone

from qiao.customers.models import Customer
from qiao.org.models import OrgUnit, Role, Staff
from qiao.surveys.models import Answer, Response, Source, Survey
from qiao.surveys.services import surveys_load_builtin
from tests import factories
from tests.factories import make_unit, own

_seq = itertools.count(1)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def org(db) -> dict[str, OrgUnit]:
    ho = make_unit("HO", "HEAD_OFFICE", None)
    b01 = make_unit("B01", "BRANCH", ho)
    s01 = make_unit("S01", "SUB_BRANCH", b01)
    o1 = make_unit("O0101", "OUTLET", s01, "东门网点")
    o2 = make_unit("O0102", "OUTLET", s01, "西门网点")
    b02 = make_unit("B02", "BRANCH", ho)
    o3 = make_unit("O0201", "OUTLET", b02, "南岸网点")
    return {"HO": ho, "S01": s01, "O0101": o1, "O0102": o2, "O0201": o3}


def make_staff(username: str, role: str, unit: OrgUnit, name: str) -> Staff:
    """Staff without a password (the pages are tested with force_login): hashing one costs
    most of a test's set-up."""
    member = Staff(username=username, name=name, role=role, unit=unit, is_active=True)
    member.set_unusable_password()
    member.save()
    return member


@pytest.fixture
def people(org) -> dict[str, Staff]:
    return {
        "alice": make_staff("alice", Role.CM, org["O0101"], "Alice"),
        "bob": make_staff("bob", Role.CM, org["O0101"], "Bob"),
        "carol": make_staff("carol", Role.CM, org["O0102"], "Carol"),
        "dave": make_staff("dave", Role.CM, org["O0201"], "Dave"),
        "hannah": make_staff("hannah", Role.OUTLET_HEAD, org["O0101"], "Hannah"),
        "leo": make_staff("leo", Role.LOBBY, org["O0101"], "Leo"),
        "nina": make_staff("nina", Role.ANALYST, org["HO"], "Nina"),
        "mark": make_staff("mark", Role.MARKETING, org["HO"], "Mark"),
    }


@pytest.fixture
def surveys(db) -> dict[str, Survey]:
    surveys_load_builtin()
    return {s.code: s for s in Survey.objects.all()}


def customer_of(manager: Staff, **fields: Any) -> Customer:
    n = next(_seq)
    fields.setdefault("mobile", f"139{n:08d}")
    name = fields.pop("name", f"客户{n}")
    c = factories.make_customer(f"P{n:07d}", name, manager.unit, **fields)
    own(c, manager)
    return c


def answer(
    survey: Survey,
    *,
    staff: Staff | None,
    outlet: OrgUnit | None,
    day: dt.date,
    customer: Customer | None = None,
    valid: bool = True,
    **values: Any,
) -> Response:
    """A loaded response with ``values`` keyed by question code (ints, choice codes or text)."""
    r = Response.objects.create(
        survey=survey,
        customer=customer,
        staff=staff,
        outlet=outlet,
        answered_on=day,
        source=Source.LOADED,
        valid=valid,
    )
    for q in survey.questions.all():
        if q.code not in values:
            continue
        val = values[q.code]
        Answer.objects.create(
            response=r,
            question=q,
            number=val if isinstance(val, int) else None,
            choice=val if isinstance(val, str) and q.kind == "CHOICE" else "",
            text=val if isinstance(val, str) and q.kind == "TEXT" else "",
        )
    return r
