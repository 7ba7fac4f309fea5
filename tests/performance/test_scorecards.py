"""The scorecards on a tiny bank counted by hand (tests/performance/conftest.py), ranks and ties,
the grade flag, and who sees whose numbers."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from qiao.analytics.scorecard import (
    Period,
    PeriodError,
    ScorecardConfig,
    competition_rank,
    load_config,
    score_cards,
)
from qiao.api.services import api_token_issue
from qiao.performance.selectors import scorecards, scorecards_all
from qiao.performance.services import target_set

from .conftest import AS_OF

NOV = Period.parse("2026-11")


def _targets(bank) -> None:
    by = bank.staff["analyst"]
    target_set(staff=bank.staff["li"], period=NOV, measure="aum_avg", value=Decimal(139000), by=by)
    target_set(staff=bank.staff["li"], period=NOV, measure="fee_income", value=Decimal(40), by=by)
    target_set(staff=bank.staff["wang"], period=NOV, measure="aum_avg", value=Decimal(30000), by=by)
    target_set(staff=bank.staff["chen"], period=NOV, measure="aum_avg", value=Decimal(10000), by=by)


def _cards(bank) -> dict[str, dict]:
    _as_of, cards = scorecards_all(NOV, AS_OF)
    return {c["staff_no"]: c for c in cards}


def test_measures_counted_by_hand(bank):
    _targets(bank)
    cards = _cards(bank)
    li = {k: v["actual"] for k, v in cards["li"]["measures"].items()}
    # A1 100,000 all month; A2 50,000 for 15 of 30 days; A5 20,000 for 21 of 30 days.
    assert li["aum_avg"] == pytest.approx(139_000.00)
    assert li["deposits"] == pytest.approx(114_000.00)  # A1 + A5 (A2 is a wealth product)
    assert li["fee_income"] == pytest.approx(20.00)  # 12.50 + 7.50, not October's 99
    assert li["new_customers"] == 1  # P4 opened 2026-11-10
    assert li["products_per_customer"] == pytest.approx(1.5)  # P1: demand + wealth; P4: demand
    assert li["contacts"] == 2
    assert li["coverage"] == pytest.approx(0.5)  # 钻石 P1 contacted, 金 P4 not
    assert li["retention"] == pytest.approx(1.0)  # P1 had AUM in October and still has
    assert li["loans"] == 0
    wang = {k: v["actual"] for k, v in cards["wang"]["measures"].items()}
    assert wang["aum_avg"] == pytest.approx(30_000)
    assert wang["loans"] == pytest.approx(200_000)  # from the credit book
    assert wang["coverage"] == 0
    chen = {k: v["actual"] for k, v in cards["chen"]["measures"].items()}
    assert chen["aum_avg"] == 0
    assert chen["retention"] == 0  # P3's balance went to 0 on 2026-11-01
    assert chen["coverage"] is None  # no customer of a cadence tier
    # Trend: six months, oldest first, November last.
    assert cards["li"]["trend"]["months"][-1] == "2026-11"
    assert cards["li"]["trend"]["aum_avg"][-1] == pytest.approx(139_000)
    assert cards["li"]["trend"]["aum_avg"][-2] == pytest.approx(100_000)


def test_score_and_ranks(bank):
    _targets(bank)
    cards = _cards(bank)
    # Li: AUM 100 % (weight 0.20), fee income 50 % (0.15): 100 × 0.275 / 0.35.
    assert cards["li"]["score"] == pytest.approx(78.57)
    assert cards["wang"]["score"] == 100
    assert cards["chen"]["score"] == 0
    assert cards["zhao"]["score"] is None  # no target: not ranked
    assert (cards["wang"]["rank_bank"], cards["li"]["rank_bank"], cards["chen"]["rank_bank"]) == (
        1,
        2,
        3,
    )
    assert (cards["wang"]["rank_unit"], cards["li"]["rank_unit"]) == (1, 2)
    assert cards["li"]["of_unit"] == 2 and cards["li"]["of_bank"] == 3
    assert cards["chen"]["rank_unit"] == 1
    assert cards["zhao"]["rank_bank"] is None


def test_ties_share_the_better_rank():
    assert competition_rank([90, 95, 90, None, 80]) == [2, 1, 2, None, 4]
    config = ScorecardConfig(weights={"aum_avg": 1.0})
    rows = [
        {"staff_no": "a", "unit": "O1", "aum_avg": 50.0},
        {"staff_no": "b", "unit": "O1", "aum_avg": 50.0},
        {"staff_no": "c", "unit": "O2", "aum_avg": 200.0},
    ]
    targets = {(s, "aum_avg"): 100.0 for s in "abc"}
    cards = {c.staff_no: c for c in score_cards(rows, targets, config)}
    assert cards["c"].score == 150  # 200 % of target counts as the cap, 150 %
    assert cards["a"].rank_bank == cards["b"].rank_bank == 2
    assert cards["a"].rank_unit == cards["b"].rank_unit == 1


def test_attainment_is_capped():
    config = ScorecardConfig(weights={"aum_avg": 1.0}, attainment_cap=1.5)
    [card] = score_cards(
        [{"staff_no": "a", "unit": "", "aum_avg": 500.0}], {("a", "aum_avg"): 100.0}, config
    )
    assert card.attainment["aum_avg"] == 1.5 and card.score == 150


def test_junior_cm_with_a_diamond_customer_is_flagged(bank):
    cards = _cards(bank)
    assert cards["li"]["grade_flags"] == {"DIAMOND": 1}
    assert cards["wang"]["grade_flags"] == {}
    assert cards["chen"]["grade_flags"] == {}


def test_periods():
    assert Period.parse("2026-Q4").start.month == 10 and Period.parse("2026-Q4").end.day == 31
    assert Period.parse("2026").parts("QUARTER")[1].key == "2026-Q2"
    assert Period.parse("2026-02").end.day == 28
    for bad in ("2026-13", "2026-Q5", "26", "2026-1", "", "2026-Q0", "１２３４"):
        with pytest.raises(PeriodError):
            Period.parse(bad)


def test_config_rejects_an_unknown_measure():
    with pytest.raises(ValueError, match="unknown measure"):
        load_config("[weights]\nprofit = 1\n")
    assert load_config().weights["aum_avg"] > 0


def test_scope_a_cm_sees_only_their_own(bank, client):
    _targets(bank)
    _as_of, cards = scorecards(staff=bank.staff["li"], period=NOV)
    assert [c["staff_no"] for c in cards] == ["li"]
    _as_of, cards = scorecards(staff=bank.staff["zhao"], period=NOV)
    assert {c["staff_no"] for c in cards} == {"li", "wang", "zhao"}
    _as_of, cards = scorecards(staff=bank.staff["analyst"], period=NOV)
    assert {c["staff_no"] for c in cards} == {"li", "wang", "zhao", "chen"}

    client.force_login(bank.staff["li"])
    page = client.get("/performance/?period=2026-11").content.decode()
    assert 'id="own-scorecard"' in page and "李明" in page
    assert "王芳" not in page and "team-scorecards" not in page
    assert "¥139,000.00" in page or "13.90万元" in page
    client.force_login(bank.staff["zhao"])
    page = client.get("/performance/?period=2026-11").content.decode()
    assert "王芳" in page and "李明" in page and "陈静" not in page
    assert 'id="grade-flags"' in page


def test_api_scorecards(bank, client):
    _targets(bank)
    raw, _token = api_token_issue(staff=bank.staff["li"])
    r = client.get("/api/scorecards?period=2026-11", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 200
    body = r.json()
    assert [i["staff"]["staff_no"] for i in body["items"]] == ["li"]
    item = body["items"][0]
    assert item["score"] == pytest.approx(78.57)
    assert item["rank"] == {"outlet": 2, "of_outlet": 2, "bank": 2, "of_bank": 3}
    assert item["measures"]["aum_avg"]["actual"] == pytest.approx(139000)
    assert item["measures"]["fee_income"]["attainment"] == pytest.approx(0.5)
    bad = client.get("/api/scorecards?period=2026-13", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert bad.status_code == 422 and "period" in bad.json()["fields"]
    assert client.get("/api/scorecards").status_code == 401
    json.dumps(body)


def test_home_card_shows_own_rank(bank, client):
    _targets(bank)
    client.force_login(bank.staff["li"])
    card = client.get("/performance/card/?period=2026-11").content.decode()
    assert "78.57" in card and "2 of 3" in card


def test_the_scorecards_and_staffing_reports(bank):
    from qiao.core.reports import REPORTS

    _targets(bank)
    report = REPORTS["scorecards"].build(bank.staff["zhao"], {"period": "2026-11"})
    rows = {r["name"]: r for r in report.table("scorecards").rows}
    assert set(rows) == {"李明", "王芳", "赵强"}  # the outlet head's team, by name
    assert rows["李明"]["aum_avg"] == pytest.approx(139_000)
    assert rows["李明"]["rank_unit"] == 2 and rows["李明"]["fee_income_att"] == pytest.approx(0.5)
    staffing = REPORTS["staffing"].build(bank.staff["analyst"], {})
    units = {r["unit"]: r for r in staffing.table("staffing").rows}
    # 东城: 1 钻石 (365/30 meetings of 90 min, 365/91 with the head of 120) + 2 金 (365/30 calls
    # of 15 min, 365/91 meetings of 90): about 2,660 minutes a year, far below one CM's 60,000:
    # the outlet's minimum of 1; it has 2 (Li, Wang: the outlet head is not counted).
    assert units["东城网点"]["needed"] == 1 and units["东城网点"]["has"] == 2
    assert units["东城网点"]["gap"] == -1
    assert units["东城网点"]["workload"] == pytest.approx(
        (365 / 30 * 90 + 365 / 91 * 120 + 2 * (365 / 30 * 15 + 365 / 91 * 90)) / 60_000, abs=0.01
    )
