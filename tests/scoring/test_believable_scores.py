"""Scores a customer manager can believe (issue 13 item 8), on the 360 and the analyst page.

* P(alive) is not "100%" for a customer with ¥100 and one transaction long ago: the 360 says in
  words why there is no number; a monthly transactor's near-1 is explained, never rounded to 100%;
* a 衰退期 customer with a low attrition risk reads "<1%", not "0%", with why the two differ;
* the analyst page shows the attrition model's top decile against its baselines on the same
  validation rows, the out-of-time split and a calibration plot drawn on the server.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape as html_unescape
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from qiao.customers.services import customer_create
from qiao.org.models import OrgUnit, Role, Staff
from qiao.scoring import explain
from qiao.scoring.charts import calibration_svg
from qiao.scoring.models import ModelRun, ScoreSnapshot

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture
def analyst_client(db) -> Client:
    staff = Staff.objects.create(username="ana_b", name="分析员", role=Role.ANALYST, is_active=True)
    client = Client()
    client.force_login(staff)
    return client


def snapshot(customer_no: str, **fields: Any) -> ScoreSnapshot:
    branch, _ = OrgUnit.objects.get_or_create(
        code="B1", defaults={"name": "一支行", "level": "OUTLET", "path": "/B1/"}
    )
    customer = customer_create(
        customer_no=customer_no, customer_type="P", name="王五", branch=branch, open_date=AS_OF
    )
    values: dict[str, Any] = {
        "customer": customer,
        "as_of": AS_OF,
        "aum": Decimal(100),
        "contribution_year": Decimal(1),
        "tier_pyramid": "ORDINARY",
        "tier_deposit": "",
        "stage": "MATURITY",
        **fields,
    }
    return ScoreSnapshot.objects.create(**values)


def scores_text(client: Client, customer_no: str, language: str) -> str:
    html = client.get(f"/customers/{customer_no}/", HTTP_ACCEPT_LANGUAGE=language).content
    page = html.decode()
    part = page[page.index('id="scores"') : page.index('id="engagement-panel"')]
    return html_unescape(" ".join(re.sub(r"<[^>]+>", " ", part).split()))


def cell(text: str, label: str) -> str:
    """The words right after a label in the scores card."""
    return text[text.index(label) + len(label) :][:40]


@pytest.mark.django_db
def test_no_p_alive_of_100_percent_for_a_customer_with_100_yuan(analyst_client: Client) -> None:
    # what the nightly now writes for ¥100 and one transaction day 600 days ago: no P(alive)
    snapshot("P9000101", p_alive=None, features={"recency_days": 600, "aum": 100})
    # and a snapshot written before the fix (P(alive) 1 for x = 0) must not read "100%" either
    snapshot("P9000102", p_alive=0.9992, features={"recency_days": 9, "aum": 50000})
    en = scores_text(analyst_client, "P9000101", "en")
    assert "100%" not in en
    assert "P(alive): still transacting —" in en
    assert "Only one day with transactions of their own, 600 days ago" in en
    regular = scores_text(analyst_client, "P9000102", "en")
    assert "100%" not in regular, regular[regular.index("100%") - 300 :][:400]
    assert ">99%" in regular
    assert "Transacts regularly (the last time 9 days ago)" in regular
    zh = scores_text(analyst_client, "P9000101", "zh-hans")
    assert "100%" not in zh and "transactions of their own" not in zh
    with translation.override("zh-hans"):
        assert explain.alive_text(ScoreSnapshot.objects.get(customer__customer_no="P9000101")) in zh


@pytest.mark.django_db
def test_a_declining_customer_with_a_low_risk_says_why(analyst_client: Client) -> None:
    snapshot(
        "P9000103",
        stage="DECLINE",
        stage_why="transactions down 60 % in 3 months while AUM fell 4 %",
        reason_codes={
            "stage": {"code": "TXN_DOWN_AUM_DOWN", "params": {"txn_pct": 60, "aum_pct": 4}}
        },
        attrition_prob=0.0021,
        features={"recency_days": 12},
    )
    en = scores_text(analyst_client, "P9000103", "en")
    assert cell(en, "Attrition risk, next 3 months").split()[0] == "<1%"
    assert "0%" not in cell(en, "Attrition risk, next 3 months").split()[0]
    assert "Why Decline with a low attrition risk" in en and "衰退期" not in en
    assert "the stage looks back at the last 3 months (transactions down 60 %" in en
    zh = scores_text(analyst_client, "P9000103", "zh-hans")
    with translation.override("zh-hans"):
        snap = ScoreSnapshot.objects.get(customer__customer_no="P9000103")
        why = explain.explain_snapshot(snap)["stage_vs_attrition"]
    assert why and why in zh and "looks back" not in zh


@pytest.mark.django_db
def test_a_high_risk_outside_decline_names_what_the_model_saw() -> None:
    snap = snapshot(
        "P9000104",
        attrition_prob=0.35,
        attrition_reasons=["AUM down 18 % in the last month"],
        reason_codes={"attrition": [{"code": "AUM_DOWN_1M", "params": {"pct": 18}}]},
    )
    with translation.override("en"):
        why = explain.explain_snapshot(snap)
    assert why["stage_vs_attrition"].startswith("Why a high attrition risk in this stage")
    assert "AUM down 18 % in the last month" in why["stage_vs_attrition"]
    calm = snapshot("P9000105", attrition_prob=0.03)
    assert explain.explain_snapshot(calm)["stage_vs_attrition"] == ""


def test_probability_never_rounds_to_certainty() -> None:
    assert explain.probability(0.0004) == "<1%"
    assert explain.probability(0.9996) == ">99%"
    assert explain.probability(0.5) == "50%"
    assert explain.probability(None) == "—"
    assert explain.probability(float("nan")) == "—"


METRICS = {
    "auc": 0.853,
    "precision": 0.31,
    "recall": 0.22,
    "threshold": 0.02,
    "base_rate": 0.005,
    "n_train": 33555,
    "n_val": 34429,
    "train_periods": ["2026-04-30", "2026-05-31"],
    "gap_periods": ["2026-06-30", "2026-07-31"],
    "val_periods": ["2026-08-31", "2026-09-30"],
    "top_decile_precision": 0.0293,
    "top_decile_recall": 0.5872,
    "top_decile_lift": 5.9,
    "top_decile_rows": 3443,
    "feature_importance": {"trend_1m": 0.05, "aum": 0.04},
    "baselines": {
        "aum_trend_3m": {"auc": 0.812, "top_decile_precision": 0.0299, "top_decile_recall": 0.599},
        "logistic": {"auc": 0.827, "top_decile_precision": 0.029, "top_decile_recall": 0.581},
    },
    "calibration": [
        {"decile": i, "n": 3443, "predicted": 0.0005 * i, "observed": 0.0006 * i}
        for i in range(1, 11)
    ],
}


@pytest.mark.django_db
def test_the_analyst_page_compares_the_model_and_plots_its_calibration(
    analyst_client: Client,
) -> None:
    ModelRun.objects.create(
        as_of=AS_OF,
        engine="duckdb",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        ok=True,
        diagnostics={"attrition": {"panel_rows": 101635, "metrics": METRICS}},
    )
    html = analyst_client.get("/analyst/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Precision in the top decile 2.9%" in text and "Recall in the top decile 58.7%" in text
    table = html[html.index('id="table-attrition-baselines"') :]
    table = " ".join(re.sub(r"<[^>]+>", " ", table[: table.index("</table>")]).split())
    assert "This model (gradient-boosted trees) 0.853 2.9% 58.7%" in table
    assert "Rank by AUM trend, 3 months (largest fall first) 0.812 3.0% 59.9%" in table
    assert "Logistic regression on the same features 0.827 2.9% 58.1%" in table
    assert "validated on the later month ends 2026-08-31, 2026-09-30" in text
    assert "The month ends 2026-06-30, 2026-07-31 in between are left out" in text
    chart = html[html.index('id="chart-calibration"') :]
    chart = chart[: chart.index("</svg>")]
    assert chart.count('class="decile"') == 10 and 'class="diagonal"' in chart
    zh = analyst_client.get("/analyst/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    zh_text = " ".join(re.sub(r"<[^>]+>", " ", zh).split())
    for english in ("Precision in the top decile", "Logistic regression", "left out"):
        assert english not in zh_text, english


def test_the_calibration_plot_puts_each_decile_where_it_belongs() -> None:
    rows = [{"predicted": 0.01, "observed": 0.02}, {"predicted": 0.04, "observed": 0.04}]
    svg = str(calibration_svg(rows, title="t <x>", x_title="p", y_title="o"))
    assert "t &lt;x&gt;" in svg and "<x>" not in svg
    points = [
        (float(a), float(b))
        for a, b in re.findall(r'class="decile" cx="([\d.]+)" cy="([\d.]+)"', svg)
    ]
    assert len(points) == 2
    # the second point is on the diagonal, the first above it (observed > predicted)
    line = re.search(
        r'class="diagonal" x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"', svg
    )
    assert line is not None
    x1, y1, x2, y2 = map(float, line.groups())

    def on_diagonal_y(x: float) -> float:
        return y1 + (y2 - y1) * (x - x1) / (x2 - x1)

    assert points[1][1] == pytest.approx(on_diagonal_y(points[1][0]), abs=0.2)
    assert points[0][1] < on_diagonal_y(points[0][0]) - 1  # higher on the page = more observed
    assert str(calibration_svg([], title="t", x_title="p", y_title="o")) == ""
