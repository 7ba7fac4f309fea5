"""The scoring in partitions gives today's numbers: every field of every customer, both engines.

A bank of 80 customers scored whole (:func:`run_scoring`) and in partitions of about 20
(:func:`run_scoring_partitioned`) with the sample as large as the bank, so the models are fitted
on the same customers: the scores, the tier history, the events and the features agree field
for field. A smaller sample is drawn by partition and recorded with a second, disjoint one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from threadpoolctl import threadpool_limits

from qiao.analytics.lake import connect
from qiao.analytics.partitioned import (
    PartitionedScoring,
    partition_of,
    run_scoring_partitioned,
)
from qiao.analytics.scoring import SCORE_COLUMNS, ScoringResult, run_scoring

from .conftest import LakeBuilder, build_bank

AS_OF = dt.date(2026, 10, 31)
#: A low threshold so that the last snapshot gives ATTRITION_UP events to compare.
EVENTS = {"attrition": {"event_threshold": 0.01}}
WHOLE_SAMPLE = {
    **EVENTS,
    "partitions": {"size": 20, "sample_customers": 1000, "adequacy": False},
}


@pytest.fixture(scope="module", autouse=True)
def one_openmp_thread() -> Any:
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bank(LakeBuilder(tmp_path_factory.mktemp("bank") / "lake"), 80, seed=3).write()


@pytest.fixture(scope="module")
def con() -> Any:
    c = connect("duckdb", threads=2)
    yield c
    c.disconnect()


@pytest.fixture(scope="module")
def blacklist() -> list[str]:
    return ["P00003", "P00011"]


@pytest.fixture(scope="module")
def previous() -> pd.DataFrame:
    # a last snapshot: ATTRITION_UP events and tier changes are counted against it
    nos = [f"P{i:05d}" for i in range(1, 81)] + [f"C{i:05d}" for i in range(1, 81)]
    return pd.DataFrame(
        {"customer_no": nos, "attrition_prob": 0.0, "tier_pyramid": ["ORDINARY"] * len(nos)}
    )


@pytest.fixture(scope="module")
def whole(bank: Path, con: Any, blacklist: list[str], previous: pd.DataFrame) -> ScoringResult:
    return run_scoring(
        con=con, lake=bank, as_of=AS_OF, config=EVENTS, blacklisted=blacklist, previous=previous
    )


@pytest.fixture(scope="module")
def parts(
    bank: Path,
    con: Any,
    blacklist: list[str],
    previous: pd.DataFrame,
    tmp_path_factory: pytest.TempPathFactory,
) -> PartitionedScoring:
    return run_scoring_partitioned(
        con=con,
        lake=bank,
        as_of=AS_OF,
        config=WHOLE_SAMPLE,
        blacklisted=blacklist,
        previous=previous,
        work=tmp_path_factory.mktemp("work"),
        keep_features=True,
    )


def _plain(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Categoricals and string dtypes as objects, dates as ISO text, sorted by ``keys``."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        if "date" in col or col == "month_end":
            values = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
        out[col] = values
    return out.sort_values(keys).reset_index(drop=True)


def assert_same(a: pd.DataFrame, b: pd.DataFrame, what: str) -> None:
    assert list(a.columns) == list(b.columns), what
    assert len(a) == len(b), what
    for col in a.columns:
        x, y = a[col], b[col]
        if x.dtype.kind in "fiu" and y.dtype.kind in "fiu":
            np.testing.assert_array_equal(
                x.to_numpy(dtype=np.float64), y.to_numpy(dtype=np.float64), err_msg=f"{what}.{col}"
            )
        else:
            left = [None if v is None or v is pd.NA or v != v else v for v in x.astype(object)]
            right = [None if v is None or v is pd.NA or v != v else v for v in y.astype(object)]
            assert left == right, f"{what}.{col}"


def test_partitions_hold_their_customers_by_the_md5_rule(parts: PartitionedScoring):
    assert parts.n_partitions == 4  # 80 customers, about 20 to a partition
    seen: set[str] = set()
    for p in parts.parts():
        table = pq.read_table(parts.work / "in" / "customers" / f"part={p}", partitioning=None)
        nos = table.column("customer_no").to_pylist()
        assert nos, f"partition {p} is empty"
        assert {partition_of(no, 4) for no in nos} == {p}
        seen.update(nos)
    assert len(seen) == 80


def test_every_score_field_equals_the_whole_bank_run(
    whole: ScoringResult, parts: PartitionedScoring
):
    got = parts.collect()
    assert list(got.scores.columns) == list(SCORE_COLUMNS)
    assert_same(
        _plain(whole.scores, ["customer_no"]), _plain(got.scores, ["customer_no"]), "scores"
    )
    # the blacklist and the bank-wide rank reached every partition
    s = got.scores.set_index("customer_no")
    assert s.loc[["P00003", "P00011"], "tier_pyramid"].eq("RESTRICTED").all()
    assert sorted(s["contribution_rank"]) == list(range(1, 81))
    assert int(s["pareto_core"].sum()) == 16


def test_tier_history_events_and_features_equal_the_whole_bank_run(
    whole: ScoringResult, parts: PartitionedScoring
):
    got = parts.collect()
    keys = ["scheme", "customer_no", "month_end"]
    assert_same(_plain(whole.tier_history, keys), _plain(got.tier_history, keys), "tier_history")
    keys = ["customer_no", "event_date", "kind", "detail"]
    assert_same(_plain(whole.events, keys), _plain(got.events, keys), "events")
    assert len(got.events) and "ATTRITION_UP" in set(got.events["kind"])
    a, b = whole.features.sort_index(), got.features.sort_index()
    assert list(a.index) == list(b.index)
    assert_same(a.reset_index(), b.reset_index(), "features")


def test_diagnostics_add_up_to_the_whole_bank_run(whole: ScoringResult, parts: PartitionedScoring):
    w, p = whole.diagnostics, parts.diagnostics
    assert p["counts"] == w["counts"]
    assert p["tiers"] == w["tiers"]
    assert p["tier_changes_vs_previous"] == w["tier_changes_vs_previous"]
    assert p["riskstyle"]["k"] == w["riskstyle"]["k"]
    assert p["riskstyle"]["counts"] == w["riskstyle"]["counts"]
    assert p["assoc"]["n_rules"] == w["assoc"]["n_rules"]
    assert p["assoc"]["customers_with_candidates"] == w["assoc"]["customers_with_candidates"]
    assert p["attrition"] == w["attrition"]
    assert p["clv"]["params"] == w["clv"]["params"]
    for key in ("n_customers", "n_core"):
        assert p["pareto"][key] == w["pareto"][key]
    assert p["pareto"]["share_of_contribution"] == pytest.approx(
        w["pareto"]["share_of_contribution"], rel=1e-12
    )
    assert p["partitions"]["sample"] == {"partitions": 4, "customers": 80}


def test_a_smaller_sample_is_whole_partitions_and_a_second_one_is_recorded(
    bank: Path, con: Any, tmp_path: Path
):
    run = run_scoring_partitioned(
        con=con,
        lake=bank,
        as_of=AS_OF,
        config={"partitions": {"size": 10, "sample_customers": 20, "adequacy": True}},
        work=tmp_path,
    )
    info = run.diagnostics["partitions"]
    assert info["n"] == 8 and info["sample"]["partitions"] == 2
    nos = run.collect().scores["customer_no"].tolist()
    assert len(nos) == 80
    in_sample = sum(partition_of(no, 8) in (0, 1) for no in nos)
    assert info["sample"]["customers"] == in_sample
    first, second = info["adequacy"]
    assert first["customers"] == in_sample
    assert second["customers"] == sum(partition_of(no, 8) in (2, 3) for no in nos)
    assert set(first) == set(second) >= {"risk_style_k", "rules", "bgnbd", "attrition_base_rate"}


def test_a_pool_of_worker_processes_gives_what_one_process_gives(
    bank: Path, con: Any, blacklist: list[str], previous: pd.DataFrame, tmp_path: Path
):
    def run(workers: int) -> PartitionedScoring:
        return run_scoring_partitioned(
            con=con,
            lake=bank,
            as_of=AS_OF,
            config={
                **EVENTS,
                "partitions": {
                    "size": 10,
                    "sample_customers": 20,
                    "adequacy": True,
                    "workers": workers,
                },
            },
            blacklisted=blacklist,
            previous=previous,
            work=tmp_path / f"workers-{workers}",
        )

    one, pooled = run(1), run(2)
    assert one.diagnostics["partitions"]["workers"] == 1
    assert pooled.diagnostics["partitions"]["workers"] == 2
    # the second sample's fit ran on a worker: the same parameters as in this process
    assert pooled.diagnostics["partitions"]["adequacy"] == one.diagnostics["partitions"]["adequacy"]
    # the workers' CPU is counted in the steps' CPU seconds
    assert pooled.diagnostics["cpu_seconds"]["score"] > 0
    a, b = one.collect(), pooled.collect()
    assert_same(_plain(a.scores, ["customer_no"]), _plain(b.scores, ["customer_no"]), "scores")
    keys = ["customer_no", "scheme", "month_end"]
    assert_same(_plain(a.tier_history, keys), _plain(b.tier_history, keys), "tier_history")
    assert_same(
        _plain(a.events, ["customer_no", "kind"]), _plain(b.events, ["customer_no", "kind"]), "ev"
    )
    assert one.diagnostics["counts"] == pooled.diagnostics["counts"]


# --------------------------------------------------------------------------------------------------
# the operational database's inputs: streamed in chunks, each partition reads its own customers'
# --------------------------------------------------------------------------------------------------


def _shelf(bank: Path) -> pd.DataFrame:
    """The lake's products on the shelf (as ``shelf_frame`` gives them), all selling."""
    products = pq.read_table(bank / "ref" / "products.parquet").to_pandas()
    return pd.DataFrame(
        {
            "product_code": products["product_code"].astype(object),
            "category": products["category"].astype(object),
            "risk_level": products["risk_level"].fillna("").astype(object),
            "private": False,
            "sale_status": "ON_SALE",
            "motives": products["motives"].fillna("").astype(object),
            "min_amount": 0.0,
        }
    )


@pytest.fixture(scope="module")
def assessments(bank: Path) -> pd.DataFrame:
    """Two assessments a customer, in the order ``assessments_frame``'s query gives them: an
    expired C1 first, then the one that counts (C2-C5, valid; a few qualified investors)."""
    nos = pq.read_table(bank / "ref" / "customers.parquet").column("customer_no").to_pylist()
    rows = []
    for i, no in enumerate(sorted(nos)):
        rows.append((no, "C1", dt.date(2025, 1, 31), False))
        rows.append((no, f"C{2 + i % 4}", dt.date(2027, 3, 31), i % 9 == 0))
    return pd.DataFrame(
        rows, columns=["customer_no", "tolerance", "valid_until", "qualified_investor"]
    )


def _chunks(frame: pd.DataFrame, size: int, pulled: list[int]) -> Any:
    """The frame as a database cursor gives it: ``size`` rows at a time, counted in ``pulled``."""
    for start in range(0, len(frame), size):
        pulled.append(min(size, len(frame) - start))
        yield frame.iloc[start : start + size]


def test_each_partition_reads_only_its_own_customers_previous_rows_and_assessments(
    bank: Path,
    con: Any,
    blacklist: list[str],
    previous: pd.DataFrame,
    assessments: pd.DataFrame,
    tmp_path: Path,
):
    shelf = _shelf(bank)
    whole = run_scoring(
        con=con,
        lake=bank,
        as_of=AS_OF,
        config=EVENTS,
        blacklisted=blacklist,
        previous=previous,
        shelf=shelf,
        assessments=assessments,
    )
    pulled: dict[str, list[int]] = {"previous": [], "assessments": [], "blacklist": []}
    # chunks of 7 and 9 rows: a customer's two assessments fall into two chunks now and then
    listed = pd.DataFrame({"customer_no": blacklist})
    parts = run_scoring_partitioned(
        con=con,
        lake=bank,
        as_of=AS_OF,
        config=WHOLE_SAMPLE,
        blacklisted=_chunks(listed, 1, pulled["blacklist"]),
        previous=_chunks(previous, 7, pulled["previous"]),
        shelf=shelf,
        assessments=_chunks(assessments, 9, pulled["assessments"]),
        work=tmp_path,
    )
    assert sum(pulled["previous"]) == len(previous) and max(pulled["previous"]) == 7
    assert sum(pulled["assessments"]) == len(assessments)
    assert pulled["blacklist"] == [1, 1]
    assert not (tmp_path / "spool").exists()  # no whole copy is left behind
    # the blacklist too: each listed customer in its own partition's bucket only
    for no in blacklist:
        p = partition_of(no, parts.n_partitions)
        table = pq.read_table(tmp_path / "in" / "blacklist" / f"part={p}", partitioning=None)
        assert no in table.column("customer_no").to_pylist()
    assert sum(1 for _ in (tmp_path / "in" / "blacklist").glob("part=*")) <= len(blacklist)
    assert parts.diagnostics["counts"]["blacklisted"] == whole.diagnostics["counts"]["blacklisted"]
    assert parts.diagnostics["counts"]["blacklisted"] == len(blacklist)

    # what each partition reads: its own customers' rows, every row once, in the given order
    for name, given in (("previous", previous), ("assessments", assessments)):
        seen = []
        for p in parts.parts():
            table = pq.read_table(tmp_path / "in" / name / f"part={p}", partitioning=None)
            nos = table.column("customer_no").to_pylist()
            assert nos and {partition_of(no, parts.n_partitions) for no in nos} == {p}, name
            seen.append(table.select([*given.columns, "_seq"]).to_pandas())
        got = pd.concat(seen).sort_values("_seq")
        assert got["_seq"].tolist() == list(range(len(given))), name
        keys = list(given.columns)
        assert_same(
            _plain(given.reset_index(drop=True), keys),
            _plain(got.drop(columns="_seq").reset_index(drop=True), keys),
            name,
        )

    # and the numbers that read them are the whole-bank run's: events against the last
    # snapshot, the next-best products against the latest assessment of each customer
    got = parts.collect()
    tiers = got.scores.set_index("customer_no")["tier_pyramid"]
    assert (
        set(tiers[blacklist])
        == {"RESTRICTED"}
        == set(whole.scores.set_index("customer_no")["tier_pyramid"][blacklist])
    )
    keys = ["customer_no", "event_date", "kind", "detail"]
    assert_same(_plain(whole.events, keys), _plain(got.events, keys), "events")
    assert "ATTRITION_UP" in set(got.events["kind"])
    assert (
        parts.diagnostics["tier_changes_vs_previous"]
        == whole.diagnostics["tier_changes_vs_previous"]
    )
    keys = ["customer_no", "rank"]
    assert len(whole.suggestions) > 0
    assert_same(_plain(whole.suggestions, keys), _plain(got.suggestions, keys), "suggestions")
    assert parts.diagnostics["suggest"] == whole.diagnostics["suggest"]


@pytest.mark.spark
def test_spark_executors_give_the_same_scores(
    bank: Path,
    whole: ScoringResult,
    spark_con: Any,
    tmp_path: Path,
    blacklist: list[str],
    previous: pd.DataFrame,
):
    pulled: list[int] = []
    parts = run_scoring_partitioned(
        con=spark_con,
        lake=bank,
        as_of=AS_OF,
        config={**EVENTS, "partitions": {"size": 40, "sample_customers": 1000, "adequacy": False}},
        blacklisted=blacklist,
        # the last snapshot in chunks, bucketed by Spark for its executors
        previous=_chunks(previous, 50, pulled),
        work=tmp_path,
    )
    assert parts.diagnostics["partitions"]["engine"] == "spark"
    assert sum(pulled) == len(previous)
    got = parts.collect()
    assert_same(
        _plain(whole.scores, ["customer_no"]), _plain(got.scores, ["customer_no"]), "scores"
    )
    keys = ["scheme", "customer_no", "month_end"]
    assert_same(_plain(whole.tier_history, keys), _plain(got.tier_history, keys), "tier_history")
    keys = ["customer_no", "event_date", "kind", "detail"]
    assert_same(_plain(whole.events, keys), _plain(got.events, keys), "events")
    assert "ATTRITION_UP" in set(got.events["kind"])
    assert (
        parts.diagnostics["tier_changes_vs_previous"]
        == whole.diagnostics["tier_changes_vs_previous"]
    )
