"""The scoring's explanations rendered in the reader's language (qiao.scoring.explain).

The analytics write English text and a code with parameters; rendered in English, the codes must
say what the analytics said, and in Chinese they must not say it in English. Old snapshots (text
only) still show their text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

from qiao.analytics.attributes import rule_attributes
from qiao.analytics.attrition import reason_code, render_reason
from qiao.customers.services import customer_create
from qiao.demo.generate import generate_bank
from qiao.ingest.services import ingest_paths
from qiao.org.models import Role, Staff
from qiao.scoring import explain
from qiao.scoring.models import ModelRun, ScoreSnapshot
from qiao.scoring.services import score_run
from tests.analytics.test_attributes import random_features

AS_OF = dt.date(2026, 10, 31)


def test_attribute_codes_in_english_say_what_the_analytics_said():
    out = rule_attributes(random_features())
    seen = set()
    with translation.override("en"):
        for kind in ("stage", "motive", "need_mode"):
            for text, code, params in zip(
                out[f"{kind}_why"], out[f"{kind}_why_code"], out[f"{kind}_why_params"], strict=True
            ):
                assert explain.render_attribute(kind, code, json.loads(params)) == text
                seen.add((kind, code))
    assert len(seen) >= 15  # nearly every code of the three attributes was met


@pytest.mark.parametrize(
    ("feature", "value", "median"),
    [
        ("trend_3m", -0.38, 0.0),
        ("trend_12m", 0.2, 0.0),
        ("txn_trend_3m", -0.5, 0.0),
        ("txn_trend_3m", 0.5, 0.0),
        ("recency_days", 95.0, 20.0),
        ("recency_days", 3.0, 20.0),
        ("recency_days", float("nan"), 20.0),
        ("aum", 8000.0, 50000.0),
        ("aum", 2.5e6, 50000.0),
        ("n_products", 1.0, 3.0),
        ("n_products", 4.0, 3.0),
        ("frequency", 1.0, 9.0),
        ("frequency", 2.0, 9.0),
        ("frequency", 20.0, 9.0),
        ("contacts_90d", 0.0, 2.0),
        ("contacts_90d", 1.0, 2.0),
        ("contacts_90d", 5.0, 2.0),
        ("liquidity", 0.86, 0.4),
        ("deposit_liquidity", 0.1, 0.4),
        ("amt_large_out_30d", 512345.0, 0.0),
        ("n_large_out_30d", 1.0, 0.0),
        ("n_large_out_30d", 3.0, 0.0),
        ("td_maturing_30d", 2e5, 0.0),
        ("ebank_services", 0.0, 2.0),
        ("n_ebank_activated", 1.0, 2.0),
        ("n_ebank_activated", 3.0, 2.0),
        ("tenure_months", 1.0, 60.0),
        ("tenure_months", 8.0, 60.0),
        ("tenure_months", 80.0, 60.0),
        ("mystery", 9.5, 1.0),
        ("mystery", 0.1, 1.0),
        ("mystery", float("nan"), 1.0),
    ],
)
def test_attrition_codes_in_english_say_what_the_analytics_said(feature, value, median):
    code, params = reason_code(feature, value, median)
    with translation.override("en"):
        assert explain.render_attrition(code, params) == render_reason(feature, value, median)


def test_chinese_reasons():
    with translation.override("zh-hans"):
        assert (
            explain.render_attribute("stage", "AUM_DOWN_3M", {"pct": 23}) == "近3个月资产下降 23%"
        )
        assert explain.render_attribute("motive", "LOAN_BALANCE", {"amount": 250000}) == (
            "贷款余额 25万元"
        )
        need = explain.render_attribute(
            "need_mode", "SIGNALS_WEAK", {"electronic_pct": 80, "purchases": 2}
        )
        assert need is not None and "80%" in need and "；" in need
        assert explain.render_attrition("AUM_DOWN", {"pct": 38, "months": 3}) == (
            "近3个月资产下降 38%"
        )
        assert explain.render_attrition("PRODUCTS_FEW", {"n": 1}) == "仅持有 1 种产品"
        assert "资产" in str(explain.render_attrition("NOT_RECORDED", {"feature": "aum"}))
    with translation.override("zh-hant"):
        assert explain.render_attrition("AUM_DOWN", {"pct": 38, "months": 3}) == (
            "近3個月資產下降 38%"
        )


def test_unknown_codes_and_bad_params_fall_back():
    assert explain.render_attribute("stage", "SOMETHING_NEW", {}) is None
    assert explain.render_attribute("stage", "AUM_DOWN_3M", {}) is None  # pct missing
    assert explain.render_attrition("SOMETHING_NEW", {}) is None
    assert explain.render_warning("X", {}, "as written") == "as written"


def test_tier_rules_render_from_their_conditions():
    why = {
        "rule": "AUM ≥ 300,000",
        "conditions": [{"feature": "aum", "op": ">=", "value": 300000.0, "actual": 412345.0}],
        "held_by_hysteresis": False,
        "months_below": 0,
    }
    top = {
        "rule": "contribution rank share ≤ 0.01 and monthly contribution > 0",
        "conditions": [
            {"feature": "contribution_top_share", "op": "<=", "value": 0.01, "actual": 0.004},
            {"feature": "contribution_month", "op": ">", "value": 0, "actual": 950.0},
        ],
    }
    held = {**why, "held_by_hysteresis": True, "months_below": 2}
    deposit = {
        "conditions": [
            {"feature": "deposits", "op": "between", "value": 1e5, "high": 2e5, "actual": 150000}
        ]
    }
    restricted = {"conditions": [{"feature": "restricted_flag", "op": ">=", "value": 1}]}
    with translation.override("en"):
        assert explain.render_tier_why(why) == "AUM ≥ ¥300,000 (now ¥412,345)"
        assert explain.render_tier_why(top) == (
            "rank by contribution (top share) ≤ 1% (now 0.4%) and "
            "monthly contribution > ¥0 (now ¥950)"
        )
        assert explain.render_tier_why(held).endswith("; kept for now: 2 months below this tier")
        assert explain.render_tier_why(deposit) == "deposits ¥100,000 – ¥200,000 (now ¥150,000)"
        assert explain.render_tier_why({"rule": "x", "conditions": []}) == (
            "no higher tier's rule holds"
        )
        assert explain.render_tier_why(restricted).startswith("restricted")
        # a snapshot written before the conditions were kept
        assert explain.render_tier_why({"rule": "AUM ≥ 50万"}) == "AUM ≥ 50万"
    with translation.override("zh-hans"):
        text = explain.render_tier_why(why)
        assert text.startswith("资产 ≥ 30万元") and "41.23万元" in text
        assert "AUM" not in text


def test_cross_sell_and_warnings_in_chinese():
    candidate = {
        "item": "WEALTH",
        "reason": "holds FUND and TIME; 62 % of such customers also hold WEALTH",
        "antecedent": ["FUND", "TIME"],
        "pct": 62,
    }
    with translation.override("en"):
        rendered = explain.render_cross_sell(candidate)
        assert rendered["item"] == "WEALTH" and "62 %" in rendered["reason"]
    with translation.override("zh-hans"):
        rendered = explain.render_cross_sell(candidate)
        assert "62%" in rendered["reason"] and "holds" not in rendered["reason"]
        assert "、" in explain.join_items(["a", "b", "c"])
        assert explain.render_cross_sell({"item": "FUND", "reason": "peers"})["reason"] == "peers"
        diag = {
            "warnings": ["qiao.analytics.clv is not available: its columns are left empty", "z"],
            "warning_codes": [
                {"code": "MODULE_MISSING", "params": {"module": "qiao.analytics.clv"}},
                {"code": "TEXT", "params": {"text": "z"}},
            ],
        }
        texts = explain.warning_texts(diag)
        assert "qiao.analytics.clv" in texts[0] and "not available" not in texts[0]
        assert texts[1] == "z"
        assert explain.warning_texts({"warnings": ["old"]}) == ["old"]


# ------------------------------------------------------------------------------ pages, end to end


@pytest.fixture
def scored_bank(tmp_path: Path, db) -> ModelRun:
    out = tmp_path / "extracts"
    generate_bank(out, customers=300, months=12, seed=5, as_of=AS_OF)
    results = ingest_paths([out])
    assert all(r.ok and r.rejected == 0 for r in results), [r.summary() for r in results]
    return score_run(as_of=AS_OF)


@pytest.fixture
def analyst_client(db) -> Client:
    staff = Staff.objects.create(username="ana_x", name="分析员", role=Role.ANALYST, is_active=True)
    client = Client()
    client.force_login(staff)
    return client


def section(html: str, start: str, end: str) -> str:
    part = html[html.index(start) : html.index(end)]
    return " ".join(re.sub(r"<[^>]+>", " ", part).split())


@pytest.mark.django_db
def test_the_360_explains_the_scores_in_chinese(scored_bank: ModelRun, analyst_client: Client):
    assert scored_bank.ok
    snap = (
        ScoreSnapshot.objects.filter(as_of=AS_OF, reason_codes__has_key="attrition")
        .exclude(stage="")
        .exclude(cross_sell=[])
        .select_related("customer")
        .first()
    )
    assert snap is not None
    assert {"stage", "motive", "need_mode", "attrition"} <= set(snap.reason_codes)
    assert "conditions" in snap.tier_why["pyramid"]
    url = f"/customers/{snap.customer.customer_no}/"

    zh = analyst_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    scores = section(zh, 'id="scores"', 'id="engagement-panel"')
    for english in (snap.stage_why, snap.motive_why, *snap.attrition_reasons):
        assert english not in scores, english
    assert snap.tier_why["pyramid"]["rule"] not in scores
    assert all(c["reason"] not in scores for c in snap.cross_sell)
    with translation.override("zh-hans"):
        why = explain.explain_snapshot(snap)
    assert why["stage"] in scores and why["motive"] in scores and why["need_mode"] in scores
    assert re.search(r"[\u4e00-\u9fff]", why["stage"] + why["motive"])

    en = analyst_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    scores_en = section(en, 'id="scores"', 'id="engagement-panel"')
    assert snap.stage_why in scores_en and snap.motive_why in scores_en
    for reason in snap.attrition_reasons:
        assert reason in scores_en


@pytest.mark.django_db
def test_the_analyst_page_gives_the_runs_warnings_in_chinese(analyst_client: Client):
    from django.utils import timezone

    ModelRun.objects.create(
        as_of=AS_OF,
        engine="duckdb",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        ok=True,
        diagnostics={
            "warnings": [
                "qiao.analytics.clv is not available: its columns are left empty",
                "BG/NBD: the fit is not reliable",
            ],
            "warning_codes": [
                {"code": "MODULE_MISSING", "params": {"module": "qiao.analytics.clv"}},
                {"code": "BGNBD", "params": {"message": "the fit is not reliable"}},
            ],
            "riskstyle": {
                "k": 0,
                "warnings": ["10 missing values treated as 0"],
                "warning_codes": [{"code": "MISSING_AS_ZERO", "params": {"n": 10}}],
            },
            "attrition": {
                "metrics": {
                    "auc": 0.8,
                    "notes": ["3 rows without a label dropped"],
                    "note_codes": [{"code": "ROWS_WITHOUT_LABEL", "params": {"n": 3}}],
                    "feature_importance": {"trend_3m": 0.12, "aum": 0.1},
                }
            },
            "seconds": {"features": 1.0, "attributes": 0.1},
        },
    )
    html = analyst_client.get("/analyst/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    for english in (
        "is not available",
        "missing values treated as 0",
        "rows without a label dropped",
        "Rule attributes",
    ):
        assert english not in text, english
    assert "qiao.analytics.clv 不可用" in text and "BG/NBD：the fit is not reliable" in text
    assert "10 个缺失值按 0 处理" in text and "已剔除 3 行无标签数据" in text
    assert "近3个月资产变化" in text and "规则属性" in text  # importances and steps in words


@pytest.mark.django_db
def test_an_old_snapshot_still_shows_its_text(analyst_client: Client):
    from qiao.org.models import OrgUnit

    branch = OrgUnit.objects.create(code="B1", name="一支行", level="OUTLET", path="/B1/")
    customer = customer_create(
        customer_no="P9000001", customer_type="P", name="王五", branch=branch, open_date=AS_OF
    )
    ScoreSnapshot.objects.create(
        customer=customer,
        as_of=AS_OF,
        aum=Decimal(1),
        contribution_year=Decimal(1),
        tier_pyramid="GOLD",
        tier_deposit="",
        stage="DECLINE",
        stage_why="AUM down 31 % over 3 months",
        attrition_reasons=["AUM fell 30 % in 3 months"],
        tier_why={"pyramid": {"rule": "AUM ≥ 50万"}},
    )
    html = analyst_client.get(
        f"/customers/{customer.customer_no}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    scores = section(html, 'id="scores"', 'id="engagement-panel"')
    assert "AUM down 31 % over 3 months" in scores and "AUM fell 30 % in 3 months" in scores
    assert "AUM ≥ 50万" in scores
