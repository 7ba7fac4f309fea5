"""Spark parity: the same Ibis expressions give the same features on DuckDB and PySpark."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from qiao.analytics.features import FeatureParams, compute_features
from qiao.analytics.lake import connect, engine_name, read_balances, read_transactions

from .conftest import LakeBuilder, build_bank

AS_OF = dt.date(2026, 10, 31)
PARAMS = FeatureParams(history_months=21)


@pytest.fixture(scope="module")
def parity_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    b = build_bank(LakeBuilder(tmp_path_factory.mktemp("parity") / "lake"), 30, seed=11)
    # edge cases both engines must agree on: a txn just after local midnight, a closed account,
    # a restated balance, a customer with nothing at all
    b.customer("P99998")
    b.account("X1", "P00001", "TD1", close_date=dt.date(2026, 10, 11), status="CLOSED")
    b.balance("X1", dt.date(2026, 9, 15), 12_345.67)
    b.balance("X1", dt.date(2026, 9, 15), 23_456.78, load_id=5)
    b.txn("X1", dt.datetime(2026, 10, 30, 16, 0, tzinfo=dt.UTC), 60_000, direction="C")
    b.txn("X1", dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.UTC), 70_000, direction="C")
    return b.write()


def _compare(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.index) == list(b.index)
    assert list(a.columns) == list(b.columns)
    for col in a.columns:
        x, y = a[col], b[col]
        if x.dtype == object or str(x.dtype) in ("str", "string") or x.dtype == bool:
            assert x.astype(object).tolist() == y.astype(object).tolist(), col
        else:
            np.testing.assert_allclose(
                x.to_numpy(dtype=float), y.to_numpy(dtype=float), rtol=1e-9, atol=1e-6, err_msg=col
            )


@pytest.mark.spark
def test_features_are_equal_on_duckdb_and_spark(parity_lake: Path, spark_con: Any):
    duck = connect("duckdb", threads=2)
    try:
        on_duck = compute_features(duck, parity_lake, AS_OF, PARAMS)
        n_txn_duck = read_transactions(duck, parity_lake).count().execute()
        n_bal_duck = read_balances(duck, parity_lake).count().execute()
    finally:
        duck.disconnect()
    assert engine_name(spark_con) == "spark"
    on_spark = compute_features(spark_con, parity_lake, AS_OF, PARAMS)
    _compare(on_duck, on_spark)
    assert read_transactions(spark_con, parity_lake).count().execute() == n_txn_duck
    assert read_balances(spark_con, parity_lake).count().execute() == n_bal_duck
    # the comparison is not vacuous
    assert on_duck["aum"].sum() > 0 and on_duck["frequency"].sum() > 0
    assert on_duck.loc["P00001", "n_large_in_30d"] >= 1
    assert on_duck.loc["P99998", "aum"] == 0
