"""Reading the analytical lake through Ibis (DuckDB in-process, or PySpark local/cluster).

The lake's layout, keys, which files are data and the *newest load wins* rule are the contract of
:mod:`qiao.core.lake` (docs/data-interface.md, "The lake"); this module reads it with Ibis, the rule
as :func:`qiao.core.lake.newest_load` (a ``row_number()`` window, pushed to the engine)::

    lake/transactions/month=YYYY-MM/part-*.parquet   one file per load, rows carry ``load_id``
    lake/balances/month=YYYY-MM/part-*.parquet       idem
    lake/ref/<name>.parquet                          snapshots of operational tables

Connections are opened only at the edge (the CLI, a test, the benchmark) with :func:`connect`; every
other function takes the backend ``con`` as an argument.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from qiao.core.lake import REF_KEYS, lake_files, lake_months, newest_load

__all__ = [
    "BALANCE_SCHEMA",
    "REF_SCHEMAS",
    "TRANSACTION_SCHEMA",
    "LakeError",
    "connect",
    "engine_name",
    "lake_months",
    "read_balances",
    "read_ref",
    "read_transactions",
    "read_transactions_month",
    "write_ref_table",
]

Engine = Literal["duckdb", "spark"]

_MONEY = dt.Decimal(18, 2)

#: Canonical column types of the transaction extract (after reading, every file is cast to these).
TRANSACTION_SCHEMA: dict[str, dt.DataType] = {
    "txn_id": dt.string,
    "account_no": dt.string,
    "customer_no": dt.string,
    "txn_time": dt.Timestamp(timezone="UTC"),
    "amount": _MONEY,
    "direction": dt.string,
    "channel": dt.string,
    "txn_type": dt.string,
    "product_code": dt.string,
    "gain": _MONEY,
    "cash": dt.string,
    "pay_method": dt.string,  # optional (seed 002 R6): typed null in files written before it
    "load_id": dt.int64,
}

#: Canonical column types of the balance extract.
BALANCE_SCHEMA: dict[str, dt.DataType] = {
    "account_no": dt.string,
    "customer_no": dt.string,
    "balance_date": dt.date,
    "balance": _MONEY,
    "load_id": dt.int64,
}

#: Reference snapshots: columns we read (others are ignored), whether the file must exist, and the
#: natural key used for the latest-load rule when a snapshot carries ``load_id``.
REF_SCHEMAS: dict[str, dict[str, dt.DataType]] = {
    "customers": {
        "customer_no": dt.string,
        "customer_type": dt.string,
        "birth_date": dt.date,
        "gender": dt.string,
        "occupation": dt.string,
        "industry": dt.string,
        "branch_code": dt.string,
        "open_date": dt.date,
        "size_class": dt.string,
    },
    "accounts": {
        "account_no": dt.string,
        "customer_no": dt.string,
        "product_code": dt.string,
        "open_date": dt.date,
        "maturity_date": dt.date,
        "close_date": dt.date,
        "status": dt.string,
        "balance": _MONEY,
    },
    "products": {
        "product_code": dt.string,
        "name": dt.string,
        "category": dt.string,
        "risk_level": dt.string,
        "motives": dt.string,
        "term_days": dt.int64,
        "rate": dt.float64,
    },
    "ebanking": {
        "customer_no": dt.string,
        "service": dt.string,
        "opened_date": dt.date,
        "activated_date": dt.date,
    },
    "payroll": {
        "customer_no": dt.string,
        "account_no": dt.string,
        "relation_type": dt.string,
        "start_date": dt.date,
        "end_date": dt.date,
    },
    "contacts": {
        "customer_no": dt.string,
        "contact_date": dt.date,
        "channel": dt.string,
    },
}

#: Optional columns of a reference snapshot: read when present, typed null otherwise.
REF_OPTIONAL_COLUMNS: dict[str, dict[str, dt.DataType]] = {
    "customers": {"blacklisted": dt.boolean},
    "ebanking": {"closed_date": dt.date, "source": dt.string},
}

#: Snapshots without which scoring cannot run. The others may be absent (read as empty tables).
REQUIRED_REFS = frozenset({"customers", "accounts", "products"})

_REF_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class LakeError(RuntimeError):
    """The lake is missing something the analytics need, or a snapshot is malformed."""


# --------------------------------------------------------------------------------------------------
# connections
# --------------------------------------------------------------------------------------------------


def connect(
    engine: Engine = "duckdb",
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
    spark_master: str = "local[2]",
    spark_driver_memory: str = "2g",
    spark_shuffle_partitions: int = 4,
) -> BaseBackend:
    """Open an Ibis backend for the analytics.

    Parameters
    ----------
    engine
        ``"duckdb"`` (in-process, the default) or ``"spark"`` (PySpark; local mode by default).
    threads, memory_limit
        DuckDB settings (default: DuckDB's own, i.e. all cores and 80 % of RAM).
    spark_master, spark_driver_memory, spark_shuffle_partitions
        Spark session settings. Local mode with two cores and modest memory suits a laptop or a
        test; a cluster deployment passes its own master URL.

    Returns
    -------
    BaseBackend
        An Ibis backend. Close it with ``con.disconnect()`` when done.
    """
    if engine == "duckdb":
        config: dict[str, Any] = {}
        if threads is not None:
            config["threads"] = threads
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        return ibis.duckdb.connect(**config)
    if engine == "spark":
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master(spark_master)
            .appName("qiao-analytics")
            .config("spark.driver.memory", spark_driver_memory)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(spark_shuffle_partitions))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            # "2024-01" must stay a string partition value, never a guessed date.
            .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        # getOrCreate() may hand back an existing session: set the runtime options we rely on.
        session.conf.set("spark.sql.session.timeZone", "UTC")
        session.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        return ibis.pyspark.connect(session)
    raise ValueError(f"unknown engine {engine!r}: use 'duckdb' or 'spark'")


def engine_name(con: BaseBackend) -> str:
    """Return ``"duckdb"`` or ``"spark"`` for a backend (its Ibis name otherwise)."""
    name = str(con.name)
    return "spark" if name == "pyspark" else name


# --------------------------------------------------------------------------------------------------
# partitioned extracts
# --------------------------------------------------------------------------------------------------


def _empty(schema: dict[str, dt.DataType]) -> ir.Table:
    arrow = pa.schema([pa.field(name, typ.to_pyarrow()) for name, typ in schema.items()])
    return ibis.memtable(arrow.empty_table())


def _conform(table: ir.Table, schema: dict[str, dt.DataType], what: str) -> ir.Table:
    """Select the contract columns in a fixed order and cast them to their canonical types."""
    present = set(table.columns)
    cols = []
    for name, typ in schema.items():
        if name in present:
            col = table[name]
            cols.append((col if col.type() == typ else col.cast(typ)).name(name))
        elif name in ("txn_id", "account_no", "customer_no", "load_id", "balance_date", "balance"):
            raise LakeError(f"{what}: required column {name} missing")
        else:
            cols.append(ibis.null(typ).name(name))
    return table.select(cols)


def _read_partitioned(
    con: BaseBackend,
    lake: Path,
    kind: str,
    schema: dict[str, dt.DataType],
    months: Sequence[str] | None,
) -> ir.Table | None:
    wanted = lake_months(lake, kind)
    if months is not None:
        keep = set(months)
        wanted = [m for m in wanted if m in keep]
    if not wanted:
        return None
    root = (Path(lake) / kind).absolute()
    if engine_name(con) == "duckdb":
        files = [str(f) for f in lake_files(Path(lake).absolute(), kind, wanted)]
        table = con.read_parquet(files, union_by_name=True, hive_partitioning=False)
    else:
        # Spark reads the partitioned folder (partition discovery adds ``month``) and prunes
        # the partitions through the filter. It skips names starting with "." or "_" itself;
        # the glob filter skips the other files that are not ``*.parquet``, as lake_files does.
        table = con.read_parquet(str(root), mergeSchema="true", pathGlobFilter="*.parquet")
        table = table.filter(table.month.isin(list(wanted)))
    return _conform(table, schema, f"lake/{kind}")


def read_transactions(
    con: BaseBackend, lake: Path, *, months: Sequence[str] | None = None
) -> ir.Table:
    """Transactions of the lake, latest load per ``txn_id``.

    Parameters
    ----------
    con
        An Ibis backend from :func:`connect`.
    lake
        The lake folder.
    months
        ``YYYY-MM`` partitions to read (all when ``None``). Partitions are pruned before reading.

    Returns
    -------
    ibis.Table
        Columns of :data:`TRANSACTION_SCHEMA`, lazily deduplicated.
    """
    table = _read_partitioned(con, lake, "transactions", TRANSACTION_SCHEMA, months)
    if table is None:
        return _empty(TRANSACTION_SCHEMA)
    return newest_load(table, "transactions")


@dataclass(frozen=True)
class _FileStats:
    path: str
    load: int
    low: str
    high: str


#: Longer statistics may have been cut by the writer (a cut maximum is no upper bound).
_STAT_CHARS = 30


def _file_stats(path: Path) -> _FileStats | None:
    """The load and the ``txn_id`` range of a data file from its Parquet footer (``None``: the
    footer does not say, or the file holds more than one load)."""
    meta = pq.ParquetFile(path).metadata
    names = meta.schema.names
    if "txn_id" not in names or "load_id" not in names:
        return None
    i_id, i_load = names.index("txn_id"), names.index("load_id")
    lows, highs, loads = [], [], set()
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        if group.num_rows == 0:
            continue
        sid, sload = group.column(i_id).statistics, group.column(i_load).statistics
        if sid is None or sload is None or not sid.has_min_max or not sload.has_min_max:
            return None
        low, high = sid.min, sid.max
        if not isinstance(low, str) or not isinstance(high, str) or len(high) > _STAT_CHARS:
            return None
        lows.append(low)
        highs.append(high)
        loads.update({int(sload.min), int(sload.max)})
    if len(loads) != 1:
        return None if loads else _FileStats(str(path), 0, "", "")
    return _FileStats(str(path), loads.pop(), min(lows), max(highs))


def read_transactions_month(con: BaseBackend, lake: Path, month: str) -> ir.Table | None:
    """The transactions of one month partition with the newest-load rule, planned from the files'
    footers (``None`` when the month has no data file).

    The rule needs a row dropped only when a *newer* load holds the same ``txn_id``. A load
    writes a key once, so when the ``txn_id`` ranges of two loads' files do not overlap (daily
    loads of increasing ids) neither can supersede the other; when a newer file does overlap (a
    correction), the older file's rows are anti-joined on the newer file's ids only, a small
    hash table. The result is the same rows as :func:`read_transactions` for that month, without
    hashing every ``txn_id`` of the month (the window over 20 M ids is most of a report's time).
    A file whose footer lacks the statistics, or Spark, falls back to the window.
    """
    files = lake_files(Path(lake).absolute(), "transactions", [month])
    if not files:
        return None
    stats = [_file_stats(f) for f in files] if engine_name(con) == "duckdb" else [None]
    if any(s is None for s in stats):
        return read_transactions(con, lake, months=[month])
    known = sorted((s for s in stats if s is not None and s.high), key=lambda s: -s.load)
    parts: list[ir.Table] = []
    done: list[_FileStats] = []
    for f in known:
        newer = [g for g in done if g.load > f.load and not (g.high < f.low or f.high < g.low)]
        table = _conform(
            con.read_parquet(f.path, hive_partitioning=False), TRANSACTION_SCHEMA, f.path
        )
        if newer:
            ids = _conform(
                con.read_parquet(
                    [g.path for g in newer], union_by_name=True, hive_partitioning=False
                ),
                TRANSACTION_SCHEMA,
                "lake/transactions",
            ).select("txn_id")
            table = table.anti_join(ids, table.txn_id == ids.txn_id)
        parts.append(table)
        done.append(f)
    if not parts:
        return _empty(TRANSACTION_SCHEMA)
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out


def read_balances(con: BaseBackend, lake: Path, *, months: Sequence[str] | None = None) -> ir.Table:
    """End-of-day balances of the lake, latest load per ``(account_no, balance_date)``.

    A balance row holds until the account's next row (carry-forward); see
    :func:`qiao.analytics.features.monthly_balance_expr`.
    """
    table = _read_partitioned(con, lake, "balances", BALANCE_SCHEMA, months)
    if table is None:
        return _empty(BALANCE_SCHEMA)
    return newest_load(table, "balances")


def ref_path(lake: Path, name: str) -> Path:
    """Path of the reference snapshot ``name`` (``lake/ref/<name>.parquet``)."""
    if not _REF_NAME.match(name):
        raise LakeError(f"invalid reference table name {name!r}")
    return Path(lake) / "ref" / f"{name}.parquet"


def read_ref(con: BaseBackend, lake: Path, name: str) -> ir.Table:
    """A reference snapshot as an Ibis table with the contract columns.

    ``customers``, ``accounts`` and ``products`` are required (:class:`LakeError` when missing);
    ``ebanking``, ``payroll`` and ``contacts`` are optional and read as empty tables when absent.
    Columns outside the contract are dropped; optional contract columns missing from the file are
    typed nulls. When the snapshot carries ``load_id`` the latest load per natural key wins.
    """
    if name not in REF_SCHEMAS:
        raise LakeError(
            f"unknown reference table {name!r} (known: {', '.join(sorted(REF_SCHEMAS))})"
        )
    schema = {**REF_SCHEMAS[name], **REF_OPTIONAL_COLUMNS.get(name, {})}
    path = ref_path(lake, name)
    if not path.is_file():
        if name in REQUIRED_REFS:
            raise LakeError(f"reference snapshot {path} is missing (it is required for scoring)")
        return _empty(schema)
    table = con.read_parquet(str(path.absolute()))
    keys = REF_KEYS[name]
    if "load_id" in table.columns and keys:
        table = newest_load(table, name)
    present = set(table.columns)
    required = [c for c in REF_KEYS[name] if c not in present]
    if "customer_no" not in present and name != "products":
        required.append("customer_no")
    if required:
        raise LakeError(f"lake/ref/{name}.parquet: required column {required[0]} missing")
    cols = []
    for col, typ in schema.items():
        if col in present:
            expr = table[col]
            cols.append((expr if expr.type() == typ else expr.cast(typ)).name(col))
        else:
            cols.append(ibis.null(typ).name(col))
    return table.select(cols)


def write_ref_table(lake: Path, name: str, table: pa.Table) -> Path:
    """Write a reference snapshot atomically (written aside, then ``os.replace``).

    Called by the operational side when it exports ``customers``, ``accounts``, ``products``,
    ``ebanking``, ``payroll`` or ``contacts`` for the nightly scoring. Readers never see a half
    written file: the new file is written in ``lake/ref/`` under a temporary name and renamed over
    the old one (an atomic rename on POSIX and Windows).

    Parameters
    ----------
    lake
        The lake folder.
    name
        Snapshot name, e.g. ``"customers"``.
    table
        The rows, with at least the natural-key columns of the snapshot.

    Returns
    -------
    Path
        The final path.
    """
    path = ref_path(lake, name)
    if name in REF_SCHEMAS:
        needed = list(REF_KEYS[name]) or ["customer_no"]
        missing = [c for c in needed if c not in table.column_names]
        if missing:
            raise LakeError(f"ref table {name}: required column {missing[0]} missing")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".parquet.tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
