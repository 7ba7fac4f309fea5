"""The survey_answers extract: a questionnaire loads whole or not at all, each wrong row named by
line, column and reason; hostile input is refused and loads nothing; loading twice changes
nothing."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qiao.ingest.services import ingest_file
from qiao.surveys.models import Answer, Invitation, Response
from tests.surveys.conftest import customer_of

HEADER = "survey,questionnaire_no,question,answer,answered_on,token,customer_no,outlet_code,valid\n"


def load(tmp_path, body: str, name: str = "survey_answers_20260311.csv"):
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return ingest_file(path)


def rejects(result) -> list[dict[str, str]]:
    if result.rejects_file is None:
        return []
    return list(csv.DictReader(result.rejects_file.open(encoding="utf-8-sig")))


def test_the_ebanking_questionnaire_loads_and_loads_once(tmp_path, org, surveys):
    body = (
        "ebanking,Q0001,usage,none,2026-03-10,,,O0101,Y\n"
        "ebanking,Q0001,willingness,MAYBE,2026-03-10,,,O0101,Y\n"
        "ebanking,Q0001,main_need,BILL_PAYMENT,2026-03-10,,,O0101,Y\n"
        "ebanking,Q0001,comment,希望能代缴水电费,2026-03-10,,,O0101,Y\n"
        "ebanking,Q0002,usage,MOBILE,2026-03-10,,,O0102,N\n"
        "ebanking,Q0002,willingness,WILLING,2026-03-10,,,O0102,N\n"
        "ebanking,Q0002,main_need,ONLINE_PAYMENT,2026-03-10,,,O0102,N\n"
    )
    result = load(tmp_path, body)
    assert result.ok and result.loaded == 7 and result.rejected == 0
    first = Response.objects.get(reference="Q0001")
    assert first.outlet == org["O0101"] and first.valid and first.customer is None
    assert Answer.objects.get(response=first, question__code="usage").choice == "NONE"
    assert not Response.objects.get(reference="Q0002").valid
    again = load(tmp_path, body)
    assert again.ok and again.loaded == 0 and again.updated == 0 and again.unchanged == 7
    assert Answer.objects.count() == 7


def test_a_wrong_row_rejects_its_questionnaire(tmp_path, org, surveys):
    body = (
        "ebanking,Q0003,usage,ONLINE,2026-03-10,,,O0101,\n"
        "ebanking,Q0003,willingness,SOMETIMES,2026-03-10,,,O0101,\n"  # not an option
        "ebanking,Q0003,main_need,TRANSFER,2026-03-10,,,O0101,\n"
        "ebanking,Q0004,usage,ONLINE,2026-03-10,,,O0101,\n"  # required questions missing
        "ebanking,Q0005,usage,ONLINE,2026-03-10,,,O0101,\n"
        "ebanking,Q0005,willingness,WILLING,2026-03-10,,,O0101,\n"
        "ebanking,Q0005,main_need,TRANSFER,2026-03-10,,,O0101,\n"
        "ebanking,Q0005,satisfaction,6,2026-03-10,,,O0101,\n"  # 1 to 5
        "nosuch,Q0006,usage,ONLINE,2026-03-10,,,O0101,\n"
        "ebanking,Q0007,usage,ONLINE,2026-03-10,,,,\n"  # no outlet, customer or token
    )
    result = load(tmp_path, body)
    assert result.ok and result.loaded == 0
    assert Response.objects.count() == 0
    found = {(r["line"], r["column"]): r["reason"] for r in rejects(result)}
    assert "must be one of" in found[("3", "answer")]
    assert found[("2", "questionnaire_no")] == "another row of this questionnaire is wrong"
    assert found[("5", "question")] == "this question needs an answer"
    assert "from 1 to 5" in found[("9", "answer")]
    assert found[("10", "survey")] == "is not a survey of Qiao"
    assert "neither token nor customer_no" in found[("11", "outlet_code")]


def test_an_answer_to_an_invitation_speaks_about_its_staff(tmp_path, people, org, surveys):
    alice = people["alice"]
    c = customer_of(alice)
    inv = Invitation.objects.create(
        survey=surveys["after-contact"],
        customer=c,
        staff=people["bob"],
        outlet=org["O0101"],
        trigger="CONTACT",
        channel="SMS",
        sent_on=dt.date(2026, 3, 9),
        sent_at=dt.datetime(2026, 3, 9, 2, tzinfo=dt.UTC),
        token="SABC123",
    )
    body = (
        f"after-contact,R1,csat,5,2026-03-10,SABC123,{c.customer_no},,\n"
        "after-contact,R1,nps,9,2026-03-10,SABC123," + c.customer_no + ",,\n"
        "after-contact,R2,csat,4,2026-03-10,SABC123,,,\n"  # the invitation is answered already
        "after-contact,R3,csat,4,2026-03-10,SNOPE,,,\n"
        "ebanking,R4,usage,NONE,2026-03-10,SABC123,,,\n"
    )
    result = load(tmp_path, body)
    r = Response.objects.get(reference="R1")
    assert r.invitation == inv and r.staff == people["bob"] and r.customer == c
    found = {(x["line"], x["column"]): x["reason"] for x in rejects(result)}
    assert found[("4", "token")] == "has already been answered"
    assert found[("5", "token")] == "is not an invitation Qiao sent"
    assert found[("6", "token")] == "belongs to another survey"


CELL = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(question=st.sampled_from(["csat", "nps", "usage", "x", ""]), answer=CELL, day=CELL)
def test_hostile_input_is_refused_and_loads_nothing(
    tmp_path_factory, surveys, question, answer, day
):
    """Any answer text and any date: either a clean, valid answer loads, or every row of the
    questionnaire is rejected with a reason and nothing is stored."""
    tmp = tmp_path_factory.mktemp("h")
    # The outlet is unknown, so nothing may ever load: every outcome must be a named reject.
    path = tmp / "survey_answers_20260311.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER.strip().split(","))
        w.writerow(["after-contact", "H1", question, answer, day, "", "", "NOUNIT", ""])
    before = Answer.objects.count()
    try:
        result = ingest_file(path)
    except Exception as exc:  # the reader may refuse the whole file: with a message, not a crash
        pytest.fail(f"ingest raised {type(exc).__name__}: {exc}")
    assert Answer.objects.count() == before and Response.objects.count() == 0
    if result.ok:
        assert result.rejected == 1
        assert all(r["reason"] for r in rejects(result))
    else:
        assert result.message


def test_a_bad_date_rejects_the_whole_questionnaire(tmp_path, org, surveys):
    body = (
        "ebanking,Q0008,usage,ONLINE,2026-03-10,,,O0101,\n"
        "ebanking,Q0008,willingness,WILLING,2026-02-30,,,O0101,\n"
        "ebanking,Q0008,main_need,TRANSFER,2026-03-10,,,O0101,\n"
    )
    result = load(tmp_path, body)
    assert result.ok and result.loaded == 0 and result.rejected == 3
    found = {(r["line"], r["column"]) for r in rejects(result)}
    assert ("3", "answered_on") in found and ("2", "questionnaire_no") in found
    assert Response.objects.count() == 0
