"""CSAT and NPS worked by hand on a few answers; the question tallies of the e-banking
questionnaire; the reader's scope."""

from __future__ import annotations

import datetime as dt

import pytest

from qiao.surveys.selectors import (
    csat_of,
    nps_of,
    question_tallies,
    responses_visible_to,
    satisfaction_by,
    satisfaction_by_staff,
)
from tests.surveys.conftest import answer, customer_of

D1 = dt.date(2026, 3, 10)
D2 = dt.date(2026, 4, 2)


@pytest.fixture
def answered(people, org, surveys):
    s = surveys["after-contact"]
    alice, bob = people["alice"], people["bob"]
    a1, a2, b1 = customer_of(alice), customer_of(alice), customer_of(bob)
    # Alice, March: CSAT 5, 4, 2 → 2 of 3 satisfied; NPS 10, 9, 3 → (2 − 1)/3 = 33.3.
    answer(s, staff=alice, outlet=org["O0101"], day=D1, customer=a1, csat=5, nps=10)
    answer(s, staff=alice, outlet=org["O0101"], day=D1, customer=a2, csat=4, nps=9)
    answer(s, staff=alice, outlet=org["O0101"], day=D1, customer=a1, csat=2, nps=3, comment="慢")
    # Alice, April: CSAT 3; NPS 7, 8 passive only → 0. An invalid 1 / 0 never counts.
    answer(s, staff=alice, outlet=org["O0101"], day=D2, customer=a2, csat=3, nps=7)
    answer(s, staff=alice, outlet=org["O0101"], day=D2, customer=a2, nps=8)
    answer(s, staff=alice, outlet=org["O0101"], day=D2, customer=a2, csat=1, nps=0, valid=False)
    # Bob: one 1 and one 0 → CSAT 0, NPS −100.
    answer(s, staff=bob, outlet=org["O0101"], day=D1, customer=b1, csat=1, nps=0)
    return s


def test_the_definitions_by_hand():
    assert csat_of([5, 4, 2]) == pytest.approx(2 / 3)
    assert nps_of([10, 9, 3]) == pytest.approx(100 / 3)
    assert nps_of([7, 8]) == 0
    assert csat_of([]) is None and nps_of([]) is None


def test_satisfaction_by_staff(answered, people):
    march = satisfaction_by_staff(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))
    alice = march[people["alice"].pk]
    assert alice.responses == 3
    assert alice.csat == pytest.approx(2 / 3)
    assert alice.nps == pytest.approx(100 / 3)
    assert march[people["bob"].pk].csat == 0 and march[people["bob"].pk].nps == -100
    both = satisfaction_by_staff(start=D1, end=D2)[people["alice"].pk]
    # 5 valid responses; CSAT 5,4,2,3 → 2/4; NPS 10,9,3,7,8 → (2 − 1)/5 = 20.
    assert both.responses == 5
    assert both.csat == pytest.approx(0.5)
    assert both.nps == pytest.approx(20.0)


def test_by_month_and_outlet(answered, people, org):
    from qiao.surveys.models import Response

    months = satisfaction_by(Response.objects.all(), "month")
    keys = sorted(months)
    assert [k.month for k in keys] == [3, 4]
    april = months[keys[1]]
    assert april.responses == 2 and april.csat == 0 and april.nps == 0
    outlets = satisfaction_by(Response.objects.all(), "outlet_id")
    assert outlets[org["O0101"].pk].responses == 6


def test_scope(answered, people):
    assert responses_visible_to(staff=people["nina"]).count() == 7
    assert responses_visible_to(staff=people["hannah"]).count() == 7
    # Bob sees his customer's answer only; Dave (another branch) sees nothing.
    assert responses_visible_to(staff=people["bob"]).count() == 1
    assert responses_visible_to(staff=people["dave"]).count() == 0
    assert responses_visible_to(staff=people["leo"]).count() == 0


def test_question_tallies_of_the_ebanking_questionnaire(surveys, people, org):
    s = surveys["ebanking"]
    for outlet, need in (
        ("O0101", "ONLINE_PAYMENT"),
        ("O0101", "BILL_PAYMENT"),
        ("O0101", "ONLINE_PAYMENT"),
        ("O0201", "TRANSFER"),
    ):
        answer(
            s,
            staff=None,
            outlet=org[outlet],
            day=D1,
            usage="NONE",
            willingness="MAYBE",
            main_need=need,
        )
    answer(
        s, staff=None, outlet=org["O0101"], day=D1, valid=False, usage="BOTH", main_need="WEALTH"
    )
    everyone = {
        t["code"]: t for t in question_tallies(staff=people["nina"], survey_code="ebanking")
    }
    need = {o["code"]: o for o in everyone["main_need"]["options"]}
    assert everyone["main_need"]["answered"] == 4
    assert need["ONLINE_PAYMENT"]["count"] == 2 and need["ONLINE_PAYMENT"]["share"] == 0.5
    assert need["WEALTH"]["count"] == 0  # the invalid questionnaire is left out
    assert need["BILL_PAYMENT"]["label"] == "Bill payment on behalf (utilities, fees)"
    # The outlet head of O0101 sees the anonymous questionnaires of their subtree only.
    hannah = {
        t["code"]: t for t in question_tallies(staff=people["hannah"], survey_code="ebanking")
    }
    assert hannah["main_need"]["answered"] == 3
    assert question_tallies(staff=people["nina"], survey_code="nope") == []


def test_the_report_leaves_the_outlets_questionnaires_out_unless_asked(surveys, people, org):
    from qiao.surveys.report import build_satisfaction

    answer(
        surveys["ebanking"],
        staff=None,
        outlet=org["O0101"],
        day=D1,
        usage="NONE",
        willingness="MAYBE",
        main_need="BILL_PAYMENT",
        satisfaction=2,
    )
    answer(surveys["after-contact"], staff=people["alice"], outlet=org["O0101"], day=D1, csat=5)
    service = build_satisfaction(people["nina"], {"month": "2026-03"}).table("by_outlet").rows
    assert [(r["responses"], r["csat"]) for r in service] == [(1, 1.0)]
    asked = build_satisfaction(people["nina"], {"month": "2026-03", "survey": "ebanking"})
    assert [r["responses"] for r in asked.table("by_outlet").rows] == [1]
