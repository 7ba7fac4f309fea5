"""The analyst page: tier pyramid, model diagnostics, last runs; only for the bank-wide roles."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from qiao.customers.models import Customer
from qiao.org.models import Role
from qiao.scoring.models import ModelRun, ScoreSnapshot
from qiao.scoring.selectors import analyst_overview, can_see_analyst_page
from tests.workbench.conftest import Bank, _staff, make_customer

AS_OF = dt.date(2026, 6, 30)
URL = "/analyst/"


def diagnostics() -> dict[str, Any]:
    """The keys ``qiao.analytics.scoring.run_scoring`` writes (values from a 20,000-customer demo)."""
    return {
        "as_of": AS_OF.isoformat(),
        "history_months": 21,
        "counts": {"customers": 5, "scores": 5, "events": {"TIER_UP": 2, "LARGE_INFLOW": 1}},
        "pareto": {"n_customers": 5, "n_core": 1, "share_of_contribution": 0.75},
        "tiers": {"pyramid": {"GOLD": 2, "ORDINARY": 2}, "deposit": {"VIP": 1}},
        "riskstyle": {
            "k": 4,
            "silhouette": {"4": 0.6197995623656505, "5": 0.5595587602269038, "6": 0.5788372994},
            "counts": {"DORMANT": 3, "CONSERVATIVE": 1, "BALANCED": 1},
            "warnings": [],
        },
        "assoc": {
            "item": "category",
            "baskets": 32270,
            "n_rules": 6,
            "top_rules": [
                {
                    "antecedent": ["BOND", "DEMAND"],
                    "consequent": "TIME",
                    "support": 0.0102,
                    "confidence": 0.453125,
                    "lift": 1.8624618587091437,
                    "count": 203,
                }
            ],
            "customers_with_candidates": 1578,
        },
        "attrition": {
            "panel_rows": 101635,
            "panel_positive_rate": 0.005,
            "metrics": {
                "base_rate": 0.00502779554287401,
                "n_train": 67323,
                "n_val": 34312,
                "notes": [],
                "auc": 0.807020245521243,
                "threshold": 0.023581534591518693,
                "precision": 0.25654450261780104,
                "recall": 0.2832369942196532,
                "feature_importance": {"trend_3m": 0.124062, "aum": 0.107229, "age": 0.01656},
            },
        },
        "clv": {
            "fit_customers": 19855,
            "params": {"r": 1.532042, "alpha": 21.601790, "a": 0.008671, "b": 3.953205},
            "converged": True,
            "loglik": -2677095.395887915,
            "holdout": [
                {
                    "frequency_cal": "0",
                    "n_customers": 226,
                    "actual_mean": 1.7035398230088497,
                    "predicted_mean": 1.6066170058825375,
                    "actual_total": 385.0,
                    "predicted_total": 363.0954433294535,
                },
                {
                    "frequency_cal": "7+",
                    "n_customers": 17112,
                    "actual_mean": 6.526647966339411,
                    "predicted_mean": 6.390780737031614,
                    "actual_total": 111684.0,
                    "predicted_total": 109359.03997208498,
                },
                {
                    "frequency_cal": "total",
                    "n_customers": 17338,
                    "actual_mean": 5.930047694753577,
                    "predicted_mean": 5.797248683745413,
                    "actual_total": 112069.0,
                    "predicted_total": 109722.1354154144,
                },
            ],
        },
        "seconds": {"features": 3.062, "tiers": 0.17, "riskstyle": 2.241, "attrition": 6.195},
        "cpu_seconds": {"features": 5.512},
        "warnings": ["BG/NBD (calibration): thin data in one month"],
        "seconds_total": 19.58,
    }


def snapshot(customer: Customer, pyramid: str, deposit: str, aum: int, contrib: int, core: bool):
    return ScoreSnapshot(
        customer=customer,
        as_of=AS_OF,
        aum=Decimal(aum),
        contribution_year=Decimal(contrib),
        tier_pyramid=pyramid,
        tier_deposit=deposit,
        pareto_core=core,
    )


@pytest.fixture
def scored(bank: Bank) -> ModelRun:
    started = timezone.now() - dt.timedelta(hours=2)
    ModelRun.objects.create(
        as_of=AS_OF - dt.timedelta(days=1),
        engine="duckdb",
        started_at=started - dt.timedelta(days=1),
        finished_at=None,
        ok=False,
        message="ValueError: the lake is empty",
    )
    run = ModelRun.objects.create(
        as_of=AS_OF,
        engine="duckdb",
        started_at=started,
        finished_at=started + dt.timedelta(seconds=19.6),
        customers=5,
        diagnostics=diagnostics(),
        ok=True,
    )
    ScoreSnapshot.objects.bulk_create(
        [
            snapshot(bank.x, "GOLD", "VIP", 500_000, 3_000, True),
            snapshot(bank.z, "GOLD", "ORDINARY", 80_000, 500, False),
            snapshot(bank.y, "ORDINARY", "KEY", 200_000, 400, False),
            snapshot(bank.w, "ORDINARY", "QUALITY", 150_000, 100, False),
            snapshot(bank.small, "RESTRICTED", "ORDINARY", 5_000, -0, False),
        ]
    )
    return run


def text_of(html: str, element_id: str) -> str:
    """The text of the element with that id (tags dropped, whitespace squeezed)."""
    match = re.search(rf'id="{element_id}".*?</(table|p|div)>', html, re.S)
    assert match, element_id
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split())


def test_analyst_sees_pyramid_models_and_runs(scored: ModelRun, login) -> None:
    response = login("head_office").get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans")  # 万元 in Chinese
    assert response.status_code == 200
    html = response.content.decode()

    pyramid = text_of(html, "table-pyramid")
    # tier, customers, share: 2 gold (40 %), 2 ordinary, 1 restricted, no diamond.
    assert re.search(r"金\S* 2 40\.0%", pyramid), pyramid
    assert re.search(r"普通\S* 2 40\.0%", pyramid), pyramid
    assert re.search(r"钻石\S* 0 0\.0%", pyramid), pyramid
    assert "58.00万元" in pyramid  # gold AUM: 500,000 + 80,000
    deposit = text_of(html, "table-deposit")
    assert "VIP" in deposit and " 1 20.0%" in deposit
    # Pareto: 3,000 of 4,000 yuan (75 %).
    assert "75.0%" in text_of(html, "pareto")

    attrition = text_of(html, "table-attrition")
    assert "0.807" in attrition and "25.7%" in attrition and "28.3%" in attrition
    silhouette = text_of(html, "table-silhouette")
    assert "0.620" in silhouette and "0.560" in silhouette and "0.579" in silhouette
    assert re.search(r"4 \(\S+\) 0\.620", silhouette), silhouette
    holdout = text_of(html, "table-holdout")
    for number in ("226", "1.704", "1.607", "17112", "6.527", "6.391", "5.930", "5.797"):
        assert number in holdout, (number, holdout)
    assert "1.5320" in text_of(html, "table-bgnbd")
    assert "1.86" in text_of(html, "table-rules")
    assert "thin data in one month" in text_of(html, "warnings")

    runs = text_of(html, "table-runs")
    assert "2026-06-30" in runs and "19.6" in runs and "the lake is empty" in runs
    models = text_of(html, "table-models")
    assert models.count("2026-06-30") == 5  # every model ran in the latest run
    assert 'src="/static/scoring/analyst.js"' in html

    data = json.loads(
        re.search(
            r'<script id="analyst-data" type="application/json">(.*?)</script>', html, re.S
        ).group(1)  # type: ignore[union-attr]
    )
    assert [row["n"] for row in data["pyramid"]] == [0, 0, 2, 2, 1]
    assert [row["x"] for row in data["holdout"]] == ["0", "7+"]  # the total row is not plotted
    assert [s["chosen"] for s in data["silhouette"]] == [True, False, False]


def test_english_labels(scored: ModelRun, login) -> None:
    client = login("head_office")
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    if "Gold" not in html:  # the locale middleware may be configured with a cookie only
        client.cookies["django_language"] = "en"
        html = client.get(URL).content.decode()
    assert "Gold 2 40.0%" in text_of(html, "table-pyramid")
    assert "¥580,000.00" in text_of(html, "table-pyramid")


def test_the_models_sample_and_its_second_fit_side_by_side(scored: ModelRun, login) -> None:
    """A partitioned run records its sample and the parameters of two disjoint samples' fits
    (decision 0010): the page shows them in words, numbers with separators."""
    first = {
        "customers": 251234,
        "risk_style_k": 5,
        "risk_style_shares": {"DORMANT": 0.41, "BALANCED": 0.2},
        "rules": 6,
        "attrition_auc": 0.8123,
        "attrition_base_rate": 0.0051,
        "bgnbd": {"r": 1.53, "alpha": 21.6},
    }
    second = {**first, "customers": 249876, "risk_style_k": 4, "attrition_auc": 0.8101}
    scored.diagnostics = {
        **diagnostics(),
        "partitions": {
            "n": 4,
            "size": 250000,
            "engine": "duckdb",
            "sample": {"partitions": 1, "customers": 251234},
            "adequacy": [first, second],
        },
    }
    scored.save()
    client = login("head_office")
    client.cookies["django_language"] = "en"
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    said = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "scored in 4 partitions of about 250,000" in said
    assert "251,234 customers" in said
    table = text_of(html, "table-sample")
    assert "Customers 251,234 249,876" in table
    assert "Risk style: number of clusters 5 4" in table
    assert "Attrition: AUC 0.812 0.810" in table
    assert "BG/NBD alpha 21.6000 21.6000" in table
    assert "DORMANT" not in table and "0.4100" in table  # the style in words


def test_a_whole_bank_run_has_no_sample_section(scored: ModelRun, login) -> None:
    html = login("head_office").get(URL).content.decode()
    assert 'id="table-sample"' not in html and analyst_overview()["sample"]["present"] is False


@pytest.mark.parametrize("persona", ["cm_owner", "outlet_head", "lobby", "auditor"])
def test_others_get_404(scored: ModelRun, login, persona: str) -> None:
    assert login(persona).get(URL).status_code == 404


def test_anonymous_is_sent_to_login(scored: ModelRun) -> None:
    response = Client().get(URL)
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize("role", [Role.RISK_MANAGER, Role.PRODUCT_MANAGER, Role.ADMIN])
def test_other_bankwide_roles_see_it(bank: Bank, role: str) -> None:
    member = _staff(f"u_{role.lower()}", "某人", role, bank.ho)
    client = Client()
    client.force_login(member)
    assert client.get(URL).status_code == 200
    assert can_see_analyst_page(member)


def test_nav_link_only_for_those_roles(scored: ModelRun, login) -> None:
    link = f'href="{reverse("scoring:analyst")}"'
    assert link in login("head_office").get(reverse("home")).content.decode()
    assert link not in login("cm_owner").get(reverse("home")).content.decode()


def test_no_run_yet(bank: Bank, login) -> None:
    response = login("head_office").get(URL)
    assert response.status_code == 200
    assert 'id="analyst-data"' not in response.content.decode()
    assert analyst_overview()["has_run"] is False


def test_queries_do_not_grow_with_customers(
    scored: ModelRun, bank: Bank, login, django_assert_max_num_queries
) -> None:
    client = login("head_office")
    client.get(URL)  # warm the session and the caches
    extra = [make_customer(f"P1{i:06d}", "钱七", bank.o1, aum=Decimal(1000)) for i in range(40)]
    ScoreSnapshot.objects.bulk_create(
        [snapshot(c, "ORDINARY", "ORDINARY", 1_000, 10, False) for c in extra]
    )
    for _ in range(8):
        ModelRun.objects.create(
            as_of=AS_OF - dt.timedelta(days=30),
            engine="duckdb",
            started_at=timezone.now() - dt.timedelta(days=30),
            diagnostics=diagnostics(),
            ok=True,
        )
    # session 1 (+3 to save it), user 1, nav permissions 2, user's unit 1, the page 5, the
    # next-best products' take-up (per reason, per product) and evaluation (two groups) 4.
    with django_assert_max_num_queries(17):
        response = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert re.search(r"普通\S* 42 ", text_of(response.content.decode(), "table-pyramid"))
