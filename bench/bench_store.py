"""Benchmark of the nightly scoring's store step on PostgreSQL: one COPY stream against several.

The store writes one ``ScoreSnapshot`` a customer a night (docs/operations.md: ~84 s per
million customers in one stream, ~55 minutes at 40 M). Would several connections writing at once
be faster, and what would keeping "a failed store changes nothing" cost? Three ways to write the
same snapshot rows (made by the store's own ``_snapshot_rows`` from synthetic scores, so their
JSON is as wide as a night's), each into an empty copy of the snapshot table (``LIKE
scoring_scoresnapshot INCLUDING ALL``: its unique index and LZ4 JSON, not its foreign key):

- ``one_stream``: one connection, one transaction, one COPY (what ``qiao score`` does; the
  baseline);
- ``parallel_streams``: ``--streams`` connections at once, a transaction each (faster if the
  server has the cores; but a failure of one leaves the others' rows: not one transaction);
- ``parallel_stage_then_insert``: ``--streams`` connections COPY into an UNLOGGED staging table
  at once, then one transaction moves the rows with ``INSERT … SELECT`` (the night's rows appear
  at once or not at all, like one COPY).

PostgreSQL's ``max_prepared_transactions`` is 0 by default (and on this server), so one
transaction over several connections (two-phase commit) is not an option without reconfiguring
the server. Prints JSON: the seconds of each repetition, the medians and the ratios to
``one_stream``, with the load average.

Usage::

    python bench/bench_store.py --rows 200000 --streams 2 --repeat 3 --db qiao_h18_store
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

AS_OF = dt.date(2026, 10, 31)
TARGET = "bench_store_snapshot"
STAGE = "bench_store_stage"


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            c.execute(f'CREATE DATABASE "{name}"')


def synthetic_scores(n: int, seed: int = 5) -> pa.Table:
    """Scores as the pipeline gives them, with the columns the snapshot reads."""
    from qiao.scoring.services import FEATURE_KEYS

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({k: rng.lognormal(8, 2, n) for k in FEATURE_KEYS})
    frame["need_mode_why"] = np.where(rng.random(n) < 0.5, "2 active signals", "")
    frame["customer_id"] = rng.permutation(n) + 1  # a partition's customers: hash order
    frame["customer_no"] = [f"P{i:08d}" for i in range(n)]
    frame["aum"] = rng.lognormal(10, 2, n)
    frame["contribution_year"] = rng.normal(500, 300, n)
    frame["clv"] = rng.lognormal(7, 1, n)
    frame["p_alive"] = rng.random(n)
    frame["expected_txn_12m"] = rng.lognormal(2, 1, n)
    frame["attrition_prob"] = rng.random(n)
    frame["pareto_core"] = rng.random(n) < 0.2
    tiers = np.array(["ORDINARY", "GOLD", "PLATINUM", "DIAMOND", "PRIVATE"], dtype=object)
    frame["tier_pyramid"] = tiers[rng.integers(0, 5, n)]
    frame["tier_deposit"] = tiers[rng.integers(0, 5, n)]
    frame["tier_why"] = (
        '{"pyramid": {"tier": "GOLD", "rule": "aum >= 500000", "values": {"aum": 612345.67, '
        '"aum_avg_3m": 598000.12}}, "deposit": {"tier": "ORDINARY", "rule": "default"}}'
    )
    frame["attrition_reasons"] = '[{"code": "AUM_DOWN", "pct": 38}]'
    frame["attrition_reason_codes"] = '[{"code": "AUM_DOWN", "params": {"pct": 38}}]'
    frame["risk_style"] = "BALANCED"
    frame["stage"] = "STABLE"
    frame["stage_why"] = "balances steady for 12 months, tenure 6 years"
    frame["stage_why_code"] = "STABLE"
    frame["stage_why_params"] = '{"months": 12, "years": 6}'
    frame["motive"] = "ACCUMULATE"
    frame["motive_why"] = "time deposits 64 % of the balance"
    frame["need_mode"] = "ACTIVE"
    frame["cross_sell"] = '[{"product": "FUND", "lift": 2.1, "confidence": 0.42}]'
    table = pa.Table.from_pandas(frame, preserve_index=False)
    series = rng.lognormal(10, 1, n * 24).round(2)  # 24 month-ends of AUM a customer
    offsets = pa.array(np.arange(0, n * 24 + 1, 24, dtype=np.int32))
    return table.append_column("aum_series", pa.ListArray.from_arrays(offsets, series))


def snapshot_rows(n: int, batch: int = 50_000) -> list[pa.Table]:
    """The store's own snapshot rows (``_snapshot_rows``) for ``n`` synthetic customers."""
    import duckdb

    from qiao.scoring.services import _snapshot_rows

    scores = synthetic_scores(n)
    out = []
    with duckdb.connect() as duck:
        for start in range(0, n, batch):
            out.append(_snapshot_rows(duck, scores.slice(start, batch), AS_OF))
    return out


def _copy(tables: list[pa.Table], target: str) -> None:
    """One connection (this thread's), one transaction, one COPY of ``tables``."""
    from django.db import connection, transaction

    from qiao.core.bulk import copy_arrow
    from qiao.scoring.models import ScoreSnapshot

    try:
        with transaction.atomic():
            copy_arrow(ScoreSnapshot, iter(tables), db_table=target)
    finally:
        connection.close()


def _in_threads(shares: list[list[pa.Table]], target: str) -> None:
    errors: list[BaseException] = []

    def run(share: list[pa.Table]) -> None:
        try:
            _copy(share, target)
        except BaseException as exc:  # noqa: BLE001 - reported after the join
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _split(tables: list[pa.Table], k: int) -> list[list[pa.Table]]:
    return [tables[i::k] for i in range(k)]


def _truncate(*names: str) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        for name in names:
            cur.execute(f"TRUNCATE {name}")
        cur.execute(f"VACUUM ANALYZE {TARGET}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--streams", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", default="qiao_h18_store")
    args = parser.parse_args(argv)

    _ensure_database(args.db)
    os.environ["QIAO_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiao.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from qiao.core.database import database_migrate

    database_migrate()
    with connection.cursor() as cur:
        for name, unlogged in ((TARGET, ""), (STAGE, "UNLOGGED")):
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            cur.execute(
                f"CREATE {unlogged} TABLE {name} (LIKE scoring_scoresnapshot INCLUDING ALL)"
            )
        # the stage needs no constraint or index: it is read once, whole
        cur.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN "
            "('p', 'u')",
            [STAGE],
        )
        for (name,) in cur.fetchall():
            cur.execute(f'ALTER TABLE {STAGE} DROP CONSTRAINT "{name}"')
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [STAGE])
        for (index,) in cur.fetchall():
            cur.execute(f'DROP INDEX "{index}"')
        cur.execute("SHOW max_prepared_transactions")
        prepared = cur.fetchone()[0]

    report: dict[str, Any] = {
        "rows": args.rows,
        "streams": args.streams,
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "max_prepared_transactions": prepared,
        "load_average_before": _load(),
    }
    t0 = time.perf_counter()
    tables = snapshot_rows(args.rows)
    report["prepare_seconds"] = round(time.perf_counter() - t0, 1)
    report["bytes_per_row_arrow"] = round(sum(t.nbytes for t in tables) / args.rows)
    columns = ", ".join(tables[0].column_names)

    def one_stream() -> None:
        _copy(tables, TARGET)

    def parallel_streams() -> None:
        _in_threads(_split(tables, args.streams), TARGET)

    def parallel_stage_then_insert() -> None:
        _in_threads(_split(tables, args.streams), STAGE)
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {TARGET} ({columns}) SELECT {columns} FROM {STAGE}"  # noqa: S608
            )
            cur.execute(f"TRUNCATE {STAGE}")

    ways = {
        "one_stream": one_stream,
        "parallel_streams": parallel_streams,
        "parallel_stage_then_insert": parallel_stage_then_insert,
    }
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeat):
        for name, way in ways.items():  # interleaved: the machine's load falls on all alike
            _truncate(TARGET, STAGE)
            t = time.perf_counter()
            way()
            seconds[name].append(round(time.perf_counter() - t, 2))
            with connection.cursor() as cur:
                cur.execute(f"SELECT count(*) FROM {TARGET}")  # noqa: S608
                assert cur.fetchone()[0] == args.rows, name
    medians = {name: statistics.median(v) for name, v in seconds.items()}
    report["seconds"] = seconds
    report["median_seconds"] = medians
    report["seconds_per_million_rows"] = {
        name: round(m / args.rows * 1_000_000, 1) for name, m in medians.items()
    }
    report["ratio_to_one_stream"] = {
        name: round(m / medians["one_stream"], 3) for name, m in medians.items()
    }
    report["load_average_after"] = _load()
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE {TARGET}")
        cur.execute(f"DROP TABLE {STAGE}")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
