"""The nightly scoring in partitions: customers by hash, models fitted once, the same numbers.

:func:`run_scoring_partitioned` gives every customer the numbers :func:`qiao.analytics.scoring.
run_scoring` gives (with the models fitted on the same sample), but no step holds all the bank's
customers at once in the driver (decision 0010, ``docs/models.md`` "Scoring in partitions"):

1. **stage** — the engine (DuckDB or Spark, through Ibis) computes the per-customer aggregates of
   :mod:`qiao.analytics.features` and writes them as Parquet by *partition*: a customer's partition
   is ``int(md5(customer_no)[:8], 16) mod P`` (the same number on every engine and in Python), so
   a partition holds its customers and all their rows, nothing else. ``P`` is the number of
   customers divided by the partition size (``[partitions] size``), rounded up. The inputs from
   the operational database (the last snapshot, the assessments) come as chunks, are spooled to
   Parquet one chunk at a time and bucketed by the same hash.
2. **contribution** (per partition) — features and contribution; the contributions go back to
   the engine, which ranks them over the whole bank (the rank, the top share the tier rules read
   and the 20/80 core need every customer's number: an engine sort, not the driver's memory).
   The partitions of the *sample* also write their features.
3. **fit** (driver, once) — the models that learn from the bank are fitted on the sample: the
   customers of the first ``s`` partitions, ``s = ceil(sample_customers / size)``. Because the
   partition is a hash of the customer number, the sample is a uniform random draw of about
   ``sample_customers`` customers, fixed for a bank whose customers do not change. K-means risk
   style, the association rules, the attrition model (its panel is drawn from the sample) and
   BG/NBD (at most ``max_fit_customers`` of the sample) are fitted on it, each with its own seed
   as before. With ``adequacy`` the next ``s`` partitions (a disjoint sample) are fitted too and
   both sets of parameters are recorded side by side.
4. **score** (per partition, :func:`score_partition`) — features again, contribution with the
   bank-wide rank, tiers and their history, attributes, the models applied, events, the scores
   table and the next-best products; written as Parquet by partition.

Steps 2 and 4 are one plain-Python function over Arrow and pandas each; with DuckDB they run on
a small pool of worker processes on this machine (``[partitions] workers``, each working on one
partition at a time; 1 runs them in this process one after another), with Spark they run on the
executors through ``mapInPandas`` (the working folder must then be storage every executor reads
and writes). With ``adequacy``, the second sample's fit runs on the pool beside the first.
The operational side then stores the results partition by partition
(``qiao.scoring.services``).
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import gc
import hashlib
import json
import math
import multiprocessing
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from ibis.backends import BaseBackend
from threadpoolctl import threadpool_limits

from qiao.analytics.assoc import cross_sell_candidates, mine_rules
from qiao.analytics.attributes import rule_attributes
from qiao.analytics.attrition import (
    ATTRITION_LOOKBACK,
    AttritionResult,
    apply_attrition,
    fit_nightly_attrition,
)
from qiao.analytics.clv.nightly import ClvFit, apply_clv, fit_clv, not_projected_warning
from qiao.analytics.contribution import ContributionRates, compute_contribution
from qiao.analytics.features import (
    FeatureData,
    FeatureParams,
    MonthWindow,
    derive_features,
    feature_expressions,
    month_windows,
    txn_days_expr,
    txn_monthly_expr,
)
from qiao.analytics.jsonable import jsonable
from qiao.analytics.lake import engine_name, read_ref
from qiao.analytics.riskstyle import RiskStyleRater
from qiao.analytics.scoring import (
    TREND_MONTHS,
    ScoringResult,
    _assemble,
    _baskets,
    _cross_sell_json,
    _events,
    _feature_params,
    _Steps,
    _tier_changes,
    _tiers_step,
    load_scoring_config,
)
from qiao.analytics.suggest import SuggestParams, maturing_from_rows, suggest_step
from qiao.analytics.tiers import TierScheme, mark_blacklisted, parse_tier_rules
from qiao.core.lake import LARGE_AMOUNT, TIME_ZONE

__all__ = [
    "PartitionedScoring",
    "partition_of",
    "run_scoring_partitioned",
    "score_partition",
]

Progress = Callable[[str, float], None]

#: The staged inputs of a partition (the tables of :class:`FeatureData`, and the accounts
#: maturing soon for the next-best products).
STAGED = ("customers", "accounts", "balances", "txn_monthly", "txn_days", "large", "maturing")

#: The operational database's inputs, streamed in chunks and bucketed like the lake's
#: (``in/<name>/part=<p>/``): the last snapshot's three columns, the latest assessments and the
#: customer numbers on the blacklist.
#: ``_seq`` numbers the rows in the order given, so "the last row of a customer wins" holds
#: whatever order the engine writes a bucket's files in.
FROM_DATABASE = {
    "previous": pa.schema(
        [
            ("customer_no", pa.string()),
            ("attrition_prob", pa.float64()),
            ("tier_pyramid", pa.string()),
        ]
    ),
    "assessments": pa.schema(
        [
            ("customer_no", pa.string()),
            ("tolerance", pa.string()),
            ("valid_until", pa.date32()),
            ("qualified_investor", pa.bool_()),
        ]
    ),
    "blacklist": pa.schema([("customer_no", pa.string())]),
}
SEQ = "_seq"

#: A table given whole (a data frame, an Arrow table) or as chunks of one (any iterable of
#: them: a generator over a database cursor keeps one chunk in memory).
Frames: TypeAlias = pd.DataFrame | pa.Table | Iterable[pd.DataFrame | pa.Table]

RISK_STYLE_COLUMNS = [
    "aum",
    "turnover",
    "n_trades",
    "avg_trade_size",
    "return_ratio",
    "risky_share",
]


def partition_of(customer_no: str, n_partitions: int) -> int:
    """A customer's partition: the first 8 hex digits of the MD5 of the number, mod ``P``.

    The engines compute the same (``md5`` exists in DuckDB and Spark SQL alike)."""
    return (
        int(hashlib.md5(customer_no.encode("utf-8"), usedforsecurity=False).hexdigest()[:8], 16)
        % n_partitions
    )


def _bucket_sql(engine: str, n_partitions: int) -> str:
    if engine == "spark":
        digits = "conv(substr(md5(CAST(customer_no AS STRING)), 1, 8), 16, 10)"
        return f"CAST(CAST({digits} AS BIGINT) % {n_partitions} AS INT)"
    digits = "('0x' || substr(md5(CAST(customer_no AS VARCHAR)), 1, 8))::UBIGINT"
    return f"CAST({digits} % {n_partitions} AS INTEGER)"


# --------------------------------------------------------------------------------------------------
# the context every partition gets (small, picklable: Spark ships it to the executors)
# --------------------------------------------------------------------------------------------------


@dataclass
class Models:
    """The models fitted once for the night, applied to every partition."""

    risk_style: RiskStyleRater
    rules: pd.DataFrame
    attrition: AttritionResult
    attrition_diagnostics: dict[str, Any]
    clv: ClvFit


@dataclass
class Context:
    """What :func:`contribution_partition` and :func:`score_partition` need."""

    work: str
    as_of: _dt.date
    cfg: dict[str, Any]
    schemes: dict[str, TierScheme]
    params: FeatureParams
    months: list[MonthWindow]
    replay: int
    n_partitions: int
    schemas: dict[str, pa.Schema]
    sample_parts: frozenset[int] = frozenset()
    adequacy_parts: frozenset[int] = frozenset()
    shelf: pd.DataFrame | None = None
    n_customers: int = 0
    models: Models | None = None
    keep_features: bool = False

    @property
    def month_ends(self) -> list[_dt.date]:
        return [m.month_end for m in self.months]

    def path(self, *parts: str) -> Path:
        return Path(self.work).joinpath(*parts)


def _read_staged(ctx: Context, name: str, part: int) -> pa.Table:
    folder = ctx.path("in", name, f"part={part}")
    schema = ctx.schemas[name]
    if not folder.exists():
        return schema.empty_table()
    table = pq.read_table(folder, partitioning=None)
    if "part" in table.column_names:
        table = table.drop_columns(["part"])
    return table.cast(pa.schema([schema.field(n) for n in table.column_names]))


def _read_from_database(ctx: Context, name: str, part: int) -> pd.DataFrame | None:
    """A partition's rows of an input from the operational database (``None`` when the run was
    given none), in the order given."""
    if name not in ctx.schemas:
        return None
    table = _read_staged(ctx, name, part)
    if SEQ in table.column_names:
        table = table.sort_by(SEQ).drop_columns([SEQ])
    return table.to_pandas()


def _partition_data(ctx: Context, part: int) -> FeatureData:
    return FeatureData(
        customers=_read_staged(ctx, "customers", part),
        accounts=_read_staged(ctx, "accounts", part),
        balances=_read_staged(ctx, "balances", part),
        txn_monthly=_read_staged(ctx, "txn_monthly", part),
        txn_days=_read_staged(ctx, "txn_days", part),
        large=_read_staged(ctx, "large", part),
    )


def _partition_features(ctx: Context, part: int) -> tuple[FeatureData, pd.DataFrame, int]:
    data = _partition_data(ctx, part)
    features = derive_features(data, ctx.as_of, ctx.params)
    hit = 0
    if "blacklist" in ctx.schemas:  # this partition's customers on the blacklist
        listed = set(_read_staged(ctx, "blacklist", part).column("customer_no").to_pylist())
        hit = mark_blacklisted(features, listed) if listed else 0
    return data, features, hit


def _write(frame: pd.DataFrame | pa.Table, path: Path, *, index: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = (
        frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=index)
    )
    pq.write_table(table, path)


# --------------------------------------------------------------------------------------------------
# the per-partition functions (plain Python on Arrow and pandas; DuckDB or Spark executors)
# --------------------------------------------------------------------------------------------------


def contribution_partition(ctx: Context, part: int) -> dict[str, Any]:
    """Pass 1 of a partition: features and contribution; writes ``contrib/part=<p>.parquet``
    (``customer_no, contribution_month``) and, for a partition of a sample, its features and
    baskets. Returns the partition's row counts."""
    data, features, hit = _partition_features(ctx, part)
    rates = ContributionRates.from_config(ctx.cfg["contribution"])
    contrib = compute_contribution(features, rates)
    _write(
        pd.DataFrame(
            {
                "customer_no": features.index.to_numpy(dtype=object),
                "contribution_month": contrib["contribution_month"].to_numpy(),
            }
        ),
        ctx.path("contrib", f"part={part}", "data.parquet"),
    )
    if part in ctx.sample_parts or part in ctx.adequacy_parts:
        which = "sample" if part in ctx.sample_parts else "adequacy"
        _write(features, ctx.path(which, "features", f"{part}.parquet"), index=True)
        baskets = _baskets(features, data, ctx.as_of, str(ctx.cfg["assoc"]["item"]))
        _write(baskets, ctx.path(which, "baskets", f"{part}.parquet"))
    return {
        "customers": len(features),
        "accounts": data.accounts.num_rows,
        "balance_accounts": data.balances.num_rows,
        "customer_months_with_transactions": data.txn_monthly.num_rows,
        "customers_with_transactions_in_history": data.txn_days.num_rows,
        "large_transactions": data.large.num_rows,
        "blacklisted": hit,
    }


def _ranks(ctx: Context, part: int, index: pd.Index) -> npt.NDArray[np.int64]:
    table = pq.read_table(ctx.path("rank", f"part={part}"), partitioning=None)
    ranks = pd.Series(
        table.column("contribution_rank").to_numpy(), index=table.column("customer_no").to_pylist()
    )
    return np.asarray(ranks.reindex(index).to_numpy(), dtype=np.int64)


def score_partition(ctx: Context, part: int) -> dict[str, Any]:
    """Pass 2 of a partition: everything :func:`qiao.analytics.scoring.run_scoring` computes
    for its customers, with the bank-wide rank and the night's models; writes ``scores``,
    ``tier_history``, ``events`` and ``suggestions`` as ``<name>/part=<p>.parquet``. Returns the
    partition's counts (summed over the partitions into the run's diagnostics)."""
    assert ctx.models is not None
    cfg, models = ctx.cfg, ctx.models
    data, features, _ = _partition_features(ctx, part)
    out: dict[str, Any] = {}

    # contribution, with the rank over the whole bank
    rates = ContributionRates.from_config(cfg["contribution"])
    contrib = compute_contribution(features, rates)
    rank = _ranks(ctx, part, features.index)
    n = max(ctx.n_customers, 1)
    n_core = math.ceil(rates.pareto_share * ctx.n_customers) if ctx.n_customers else 0
    contrib["contribution_rank"] = rank
    contrib["contribution_top_share"] = rank / n
    contrib["pareto_core"] = rank <= n_core
    for col in ("contribution_month", "contribution_year", "contribution_top_share"):
        features[col] = contrib[col]

    tier_results, tier_history, out["tiers"] = _tiers_step(
        features, ctx.schemes, ctx.month_ends[: ctx.replay]
    )
    attrs = rule_attributes(features, cfg.get("attributes"))

    labels = models.risk_style.predict(features[RISK_STYLE_COLUMNS])
    risk_style = pd.Series(labels, index=features.index).astype(object)
    out["riskstyle_counts"] = {str(k): int(v) for k, v in risk_style.value_counts().items()}

    assoc = cfg["assoc"]
    baskets = _baskets(features, data, ctx.as_of, str(assoc["item"]))
    cands = cross_sell_candidates(baskets, models.rules, top_n=int(assoc["top_n"]))
    cross_sell = _cross_sell_json(cands, features.index)
    out["baskets"] = len(baskets)
    out["customers_with_candidates"] = int(cands["customer_no"].nunique()) if len(cands) else 0

    att = cfg["attrition"]
    attrition = apply_attrition(
        models.attrition, features, ctx.month_ends, att, models.attrition_diagnostics
    )
    clv, n_bad = apply_clv(models.clv, features, contrib["contribution_month"], cfg["clv"])
    out["clv_not_projected"] = n_bad
    out["clv_distinct_rfm_rows"] = int(clv.diagnostics.get("distinct_rfm_rows", 0))

    # this partition's customers' rows only (the whole snapshot never comes to this process)
    previous = _read_from_database(ctx, "previous", part)
    events = _events(
        tier_results,
        data,
        attrition.prob,
        previous,
        ctx.as_of,
        ctx.params,
        float(att["event_threshold"]),
    )
    if previous is not None and "tier_pyramid" in previous and "pyramid" in tier_results:
        out["tier_changes_vs_previous"] = _tier_changes(tier_results["pyramid"], previous)
    out["events"] = {str(k): int(v) for k, v in events["kind"].value_counts().items()}
    scores = _assemble(
        features, ctx.as_of, contrib, tier_results, clv, attrition, risk_style, attrs, cross_sell
    )
    _write(scores, ctx.path("scores", f"part={part}.parquet"))
    _write(tier_history, ctx.path("tier_history", f"part={part}.parquet"))
    _write(events, ctx.path("events", f"part={part}.parquet"))
    if ctx.keep_features:
        _write(features, ctx.path("features", f"part={part}.parquet"), index=True)
    if ctx.shelf is not None:
        shelf = ctx.shelf
        maturing = maturing_from_rows(_read_staged(ctx, "maturing", part).to_pandas(), shelf)
        assessments = _read_from_database(ctx, "assessments", part)
        suggestions, out["suggest"] = suggest_step(
            con=None,
            lake=None,
            as_of=ctx.as_of,
            features=features,
            attrs=attrs,
            accounts=data.accounts,
            rules=models.rules,
            shelf=shelf,
            assessments=assessments,
            cfg=cfg,
            maturing=maturing,
        )
        _write(suggestions, ctx.path("suggestions", f"part={part}.parquet"))
        # the products the shelf offers: the same in every partition, not to be summed (a list:
        # ``_add`` keeps the first partition's)
        out["suggest_products"] = [out["suggest"].pop("products", 0)]
    out["scores"] = len(scores)
    out["tier_history"] = len(tier_history)
    return jsonable(out)


# --------------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------------


@dataclass
class PartitionedScoring:
    """What :func:`run_scoring_partitioned` returns: the run's diagnostics and its results as
    Parquet by partition in ``work`` (read them one partition at a time)."""

    work: Path
    n_partitions: int
    diagnostics: dict[str, Any]
    rules: pd.DataFrame = field(default_factory=pd.DataFrame)
    has_suggestions: bool = False

    def parts(self) -> range:
        return range(self.n_partitions)

    def read(self, name: str, part: int) -> pd.DataFrame:
        """``scores``, ``tier_history``, ``events``, ``suggestions`` or ``features`` of a
        partition (empty when the partition has none)."""
        path = self.work / name / f"part={part}.parquet"
        if not path.exists():
            return pd.DataFrame()
        frame = pq.read_table(path).to_pandas()
        if "aum_series" in frame:  # lists, as run_scoring gives them (Parquet gives arrays)
            frame["aum_series"] = [list(map(float, v)) for v in frame["aum_series"]]
        return frame

    def collect(self) -> ScoringResult:
        """All partitions in one :class:`ScoringResult` (for tests and small banks only: the
        store reads the partitions one at a time)."""

        def whole(name: str) -> pd.DataFrame:
            frames = [f for p in self.parts() if len(f := self.read(name, p))]
            return pd.concat(frames, ignore_index=name != "features") if frames else pd.DataFrame()

        features = whole("features")
        return ScoringResult(
            scores=whole("scores"),
            tier_history=whole("tier_history"),
            events=whole("events"),
            diagnostics=self.diagnostics,
            features=features.sort_index() if len(features) else features,
            rules=self.rules,
            suggestions=whole("suggestions"),
        )

    def cleanup(self) -> None:
        """Remove the working folder."""
        shutil.rmtree(self.work, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# the engine's parts: staging, ranking
# --------------------------------------------------------------------------------------------------


def _sql(con: BaseBackend, expr: Any) -> str:
    hooks = getattr(con, "_run_pre_execute_hooks", None)
    if callable(hooks):
        hooks(expr)  # registers in-memory tables (an empty reference table, say)
    return str(con.compile(expr))


def _write_buckets(con: BaseBackend, sql: str, folder: Path, n_partitions: int) -> None:
    """The rows of ``sql`` written as Parquet under ``folder/part=<p>/``."""
    engine = engine_name(con)
    bucket = _bucket_sql(engine, n_partitions)
    if engine == "spark":
        session = con._session  # type: ignore[attr-defined]
        frame = session.sql(f"SELECT *, {bucket} AS part FROM ({sql}) AS q")  # noqa: S608
        frame.write.mode("overwrite").partitionBy("part").parquet(str(folder))
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    target = str(folder).replace("'", "''")
    con.raw_sql(  # type: ignore[attr-defined]
        # the SQL of our own Ibis expressions and our working folder: no outside input
        f"COPY (SELECT *, {bucket} AS part FROM ({sql}) AS q) TO '{target}' "  # noqa: S608
        "(FORMAT parquet, PARTITION_BY (part), OVERWRITE_OR_IGNORE true)"
    )


def _stage(
    con: BaseBackend,
    lake: Path,
    as_of: _dt.date,
    params: FeatureParams,
    work: Path,
    n_partitions: int,
    maturity_days: int,
) -> dict[str, pa.Schema]:
    """Step 1: the engine's aggregates by partition; returns each table's schema."""
    if engine_name(con) == "duckdb":
        # DuckDB spills what exceeds its memory limit here (its default, ".tmp" in the working
        # directory, is shared with whatever else runs there)
        spill = str(work / "spill").replace("'", "''")
        con.raw_sql(f"SET temp_directory = '{spill}'")  # type: ignore[attr-defined]
    exprs = feature_expressions(con, lake, as_of, params)
    accounts = exprs.accounts
    owners = accounts.select(owner_account=accounts.account_no, customer_no=accounts.customer_no)
    bal = exprs.balances
    balances = bal.inner_join(owners, bal.account_no == owners.owner_account).select(
        "customer_no", *bal.columns
    )
    acc = read_ref(con, lake, "accounts")
    end = as_of + _dt.timedelta(days=int(maturity_days))
    maturing = acc.filter(
        acc.maturity_date >= as_of,
        acc.maturity_date <= end,
        acc.close_date.isnull() | (acc.close_date > as_of),
    ).select("customer_no", "product_code", "balance")
    base = exprs.txn_base.cache()
    try:
        tables = {
            "customers": exprs.customers,
            "accounts": accounts,
            "balances": balances,
            "txn_monthly": txn_monthly_expr(base),
            "txn_days": txn_days_expr(base, params),
            "large": exprs.large,
            "maturing": maturing,
        }
        schemas = {}
        for name, expr in tables.items():
            schemas[name] = expr.schema().to_pyarrow()
            _write_buckets(con, _sql(con, expr), work / "in" / name, n_partitions)
    finally:
        base.release()
    return schemas


def _files(con: BaseBackend, folder: Path, view: str, pattern: str) -> str:
    """The Parquet files of our working ``folder`` as a table the engine's SQL can read (a
    temporary view on Spark; ``pattern``: the files under the folder, for DuckDB)."""
    if engine_name(con) == "spark":
        session = con._session  # type: ignore[attr-defined]
        session.read.parquet(str(folder)).createOrReplaceTempView(view)
        return view
    glob = (str(folder) + "/" + pattern).replace("'", "''")
    return f"read_parquet('{glob}', hive_partitioning = false)"


def _spool(frames: Frames, schema: pa.Schema, folder: Path) -> pa.Schema:
    """Write the chunks of an input from the operational database as Parquet files, one file a
    chunk (one chunk in memory at a time), each row numbered (:data:`SEQ`) in the order given.
    Returns the schema written: the columns of ``schema`` the chunks have."""
    folder.mkdir(parents=True, exist_ok=True)
    chunks: Iterable[pd.DataFrame | pa.Table] = (
        [frames] if isinstance(frames, pd.DataFrame | pa.Table) else frames
    )
    written: pa.Schema | None = None
    seq = 0
    for i, chunk in enumerate(chunks):
        names = list(chunk.column_names if isinstance(chunk, pa.Table) else chunk.columns)
        if "customer_no" not in names:
            raise ValueError("required column customer_no missing")
        fields = pa.schema([schema.field(n) for n in schema.names if n in names])
        if written is None:
            written = fields
        elif fields != written:
            raise ValueError(f"chunk {i} has the columns {fields.names}, not {written.names}")
        if isinstance(chunk, pa.Table):
            table = chunk.select(fields.names).cast(fields)
        else:
            table = pa.Table.from_pandas(chunk[fields.names], schema=fields, preserve_index=False)
        table = table.append_column(SEQ, pa.array(np.arange(seq, seq + table.num_rows)))
        seq += table.num_rows
        if table.num_rows:
            pq.write_table(table, folder / f"chunk-{i:06d}.parquet")
    return (written or schema).append(pa.field(SEQ, pa.int64()))


def _blacklist_frames(
    blacklisted: Collection[str] | Frames | None, size: int = 100_000
) -> Frames | None:
    """The blacklist as chunks of ``customer_no`` (``None`` when there is none, as
    :func:`~qiao.analytics.scoring.run_scoring` treats an empty list): a collection of customer
    numbers is cut into chunks; frames, or an iterable of them, pass as they are."""
    if blacklisted is None or isinstance(blacklisted, pd.DataFrame | pa.Table):
        return blacklisted
    if isinstance(blacklisted, Collection):
        nos = [str(c) for c in blacklisted if isinstance(c, str)]
        if len(nos) == len(blacklisted):
            if not nos:
                return None
            return (
                pd.DataFrame({"customer_no": nos[i : i + size]}) for i in range(0, len(nos), size)
            )
    return blacklisted  # type: ignore[return-value]


def _stage_from_database(
    con: BaseBackend, work: Path, name: str, frames: Frames, n_partitions: int
) -> pa.Schema:
    """Step 1 for an input from the operational database: its chunks spooled, then bucketed by
    the engine with the lake's hash (``in/<name>/part=<p>/``), so each partition reads its own
    customers' rows and no process holds them all."""
    spool = work / "spool" / name
    schema = _spool(frames, FROM_DATABASE[name], spool)
    if any(spool.glob("*.parquet")):
        table = _files(con, spool, f"qiao_{name}", "*.parquet")
        _write_buckets(con, f"SELECT * FROM {table}", work / "in" / name, n_partitions)  # noqa: S608
    shutil.rmtree(spool, ignore_errors=True)
    return schema


def _rank(con: BaseBackend, work: Path, n_partitions: int, pareto_share: float) -> dict[str, Any]:
    """Contribution rank over the whole bank (descending, ties by customer number, as
    :func:`qiao.analytics.contribution.compute_contribution`), written by partition; and the
    Pareto summary from engine aggregates."""
    table = _files(con, work / "contrib", "qiao_contrib", "*/*.parquet")
    ranked = (
        "SELECT customer_no, contribution_month, row_number() OVER "  # noqa: S608
        f"(ORDER BY contribution_month DESC, customer_no ASC) AS contribution_rank FROM {table}"  # noqa: S608
    )
    _write_buckets(
        con,
        f"SELECT customer_no, contribution_rank FROM ({ranked}) AS r",  # noqa: S608
        work / "rank",
        n_partitions,
    )
    # the summary: sums in the engine (no customer's number comes to the driver)
    summary_sql = (
        "SELECT count(*) AS n, sum(contribution_month) AS total, "  # noqa: S608
        "sum(CASE WHEN contribution_month > 0 THEN contribution_month ELSE 0 END) AS positive "
        f"FROM {table}"  # noqa: S608 - our own working folder, no outside input
    )
    n, total, positive = _one_row(con, summary_sql)
    n = int(n or 0)
    n_core = math.ceil(pareto_share * n) if n else 0
    core_sql = (
        "SELECT sum(contribution_month) AS core, "  # noqa: S608
        "sum(CASE WHEN contribution_month > 0 THEN contribution_month ELSE 0 END) AS core_pos "
        f"FROM ({ranked}) AS r WHERE contribution_rank <= {n_core}"  # noqa: S608
    )
    core, core_pos = _one_row(con, core_sql)
    total, positive = float(total or 0.0), float(positive or 0.0)
    core, core_pos = float(core or 0.0), float(core_pos or 0.0)
    return {
        "n_customers": n,
        "n_core": min(n_core, n),
        "core_contribution_month": core,
        "total_contribution_month": total,
        "share_of_contribution": core / total if total > 0 else None,
        "share_of_positive_contribution": core_pos / positive if positive > 0 else None,
    }


def _one_row(con: BaseBackend, sql: str) -> tuple[Any, ...]:
    if engine_name(con) == "spark":
        row = con._session.sql(sql).collect()[0]  # type: ignore[attr-defined]
        return tuple(row)
    return tuple(con.raw_sql(sql).fetchone())  # type: ignore[attr-defined]


def _count_customers(con: BaseBackend, lake: Path) -> int:
    customers = read_ref(con, lake, "customers")
    return int(customers.count().execute())


# --------------------------------------------------------------------------------------------------
# running the partitions
# --------------------------------------------------------------------------------------------------


def _worker_init() -> None:
    """A pool worker: one thread for the numeric libraries and Arrow (the pool's processes share
    the cores; each working with several threads would only make them wait for each other)."""
    threadpool_limits(1)
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def _pool(con: BaseBackend, workers: int, n_parts: int) -> Executor | None:
    """The worker processes for the per-partition passes with DuckDB (``None``: this process
    does them one after another; Spark has its executors). Started by *spawn*: a fresh
    interpreter, none of this process's threads (DuckDB's) or open files carried over."""
    if engine_name(con) == "spark" or workers <= 1 or n_parts <= 1:
        return None
    return ProcessPoolExecutor(
        max_workers=min(workers, n_parts),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
    )


def _release_memory() -> None:
    """Give the memory a finished partition freed back to the system (a worker waiting for its
    next partition, or idle while another fits, would otherwise keep its heap at its high
    water mark): Arrow's pool, then the C heap (glibc's ``malloc_trim``, where there is one)."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return
    libc.malloc_trim(0)


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``fn(*args)`` and the CPU seconds it took in this (worker) process; then the memory it
    freed handed back."""
    start = time.process_time()
    result = fn(*args)
    _release_memory()
    return result, time.process_time() - start


def _run_parts(
    con: BaseBackend,
    fn: Callable[[Context, int], dict[str, Any]],
    ctx: Context,
    parts: list[int],
    pool: Executor | None = None,
    worker_cpu: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """``fn(ctx, p)`` for every partition: on ``pool`` (DuckDB with workers), in this process,
    or on Spark's executors through ``mapInPandas`` (one task per partition). The pool's CPU
    seconds are added to ``worker_cpu["cpu"]``."""
    if engine_name(con) != "spark" or not parts:
        if pool is None:
            return [fn(ctx, p) for p in parts]
        futures = [pool.submit(_timed, fn, ctx, p) for p in parts]
        results = []
        for future in futures:
            out, cpu = future.result()
            results.append(out)
            if worker_cpu is not None:
                worker_cpu["cpu"] = worker_cpu.get("cpu", 0.0) + cpu
        return results
    session = con._session  # type: ignore[attr-defined]
    frame = session.createDataFrame(pd.DataFrame({"part": np.asarray(parts, dtype=np.int32)}))
    frame = frame.repartition(len(parts), "part")

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            ids = [int(p) for p in batch["part"]]
            yield pd.DataFrame(
                {
                    "part": np.asarray(ids, dtype=np.int32),
                    "out": [json.dumps(fn(ctx, p)) for p in ids],
                }
            )

    rows = frame.mapInPandas(run, "part int, out string").collect()
    by_part = {int(r["part"]): json.loads(r["out"]) for r in rows}
    return [by_part[p] for p in parts]


def _add(total: dict[str, Any], part: Mapping[str, Any]) -> dict[str, Any]:
    """Sum the numbers of a partition's counts into ``total`` (nested dicts summed key by key)."""
    for key, value in part.items():
        if isinstance(value, Mapping):
            total[key] = _add(dict(total.get(key, {})), value)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            total.setdefault(key, value)
        else:
            total[key] = total.get(key, 0) + value
    return total


def _read_sample(work: Path, which: str, what: str) -> pd.DataFrame:
    folder = work / which / what
    files = sorted(folder.glob("*.parquet")) if folder.exists() else []
    frames = [pq.read_table(f).to_pandas() for f in files]
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames)
    return out.sort_index() if what == "features" else out.sort_values(["customer_no", "item"])


def _fit(
    sample: pd.DataFrame,
    baskets: pd.DataFrame,
    cfg: Mapping[str, Any],
    month_ends: list[_dt.date],
    holdout_days: float,
    steps: _Steps,
) -> tuple[Models, dict[str, Any]]:
    """Step 3: the night's models from the sample's features and baskets."""
    diag: dict[str, Any] = {}
    rs_cfg = cfg["riskstyle"]
    rater = RiskStyleRater(
        sample_size=int(rs_cfg["sample_size"]), random_state=int(rs_cfg["random_state"])
    )
    rater.fit(sample[RISK_STYLE_COLUMNS])
    diag["riskstyle"] = {
        "k": rater.k_,
        "silhouette": {str(k): v for k, v in rater.silhouette_.items()},
        "warnings": list(rater.warnings_),
        "warning_codes": list(rater.warning_codes_),
    }
    assoc = cfg["assoc"]
    rules = mine_rules(
        baskets,
        min_support=float(assoc["min_support"]),
        min_confidence=float(assoc["min_confidence"]),
        min_lift=float(assoc["min_lift"]),
        max_len=int(assoc["max_len"]),
    )
    diag["assoc"] = {
        "item": assoc["item"],
        "n_rules": len(rules),
        "top_rules": jsonable(
            rules.head(int(assoc["top_rules_in_diagnostics"])).to_dict("records")
        ),
    }
    attrition, att_diag = fit_nightly_attrition(sample, month_ends, cfg["attrition"])
    clv = fit_clv(sample, cfg["clv"], holdout_days=holdout_days, warn=steps.warn)
    models = Models(
        risk_style=rater,
        rules=rules,
        attrition=attrition,
        attrition_diagnostics=att_diag,
        clv=clv,
    )
    return models, diag


def _fit_sample(
    work: str, which: str, cfg: Mapping[str, Any], month_ends: list[_dt.date], holdout_days: float
) -> tuple[Models, int]:
    """The models of one sample (``sample`` or ``adequacy``) from its files, and its number of
    customers: the adequacy check's second fit, on a pool worker beside the first."""
    features = _read_sample(Path(work), which, "features")
    baskets = _read_sample(Path(work), which, "baskets")
    models, _ = _fit(features, baskets, cfg, month_ends, holdout_days, _Steps(None, 1))
    return models, len(features)


def _parameters(models: Models, n: int) -> dict[str, Any]:
    """The parameters of a sample's models, for the adequacy check."""
    out: dict[str, Any] = {"customers": n, "risk_style_k": models.risk_style.k_}
    cen = models.risk_style.centroids_
    if len(cen):
        out["risk_style_shares"] = {
            str(name): round(float(share), 4)
            for name, share in cen.groupby("name")["share"].sum().items()
        }
    out["rules"] = len(models.rules)
    metrics = models.attrition.metrics
    out["attrition_auc"] = metrics.get("auc")
    out["attrition_base_rate"] = metrics.get("base_rate")
    out["bgnbd"] = models.clv.diagnostics.get("params", {})
    return jsonable(out)


def _passes(
    con: BaseBackend,
    ctx: Context,
    pool: Executor | None,
    steps: _Steps,
    diag: dict[str, Any],
    *,
    size: int,
    workers: int,
    n_sample: int,
    adequacy: bool,
) -> tuple[dict[str, Any], dict[str, Any], Models]:
    """Steps 2-4: the contribution pass, the rank, the fits and the scoring pass (on ``pool``
    when given). Fills ``diag``; returns the scoring pass's totals, the fit's diagnostics and
    the models."""
    cfg, work, parts = ctx.cfg, Path(ctx.work), list(range(ctx.n_partitions))
    # the pool's CPU seconds by step (the steps' own clock sees this process only)
    pooled: dict[str, dict[str, float]] = {"contribution": {}, "fit": {}, "score": {}}
    with steps.step("contribution"):
        counts: dict[str, Any] = {}
        for c in _run_parts(con, contribution_partition, ctx, parts, pool, pooled["contribution"]):
            _add(counts, c)
        if "blacklist" not in ctx.schemas:
            counts.pop("blacklisted", None)
        diag["counts"] = counts
        diag["pareto"] = _rank(
            con, work, ctx.n_partitions, float(cfg["contribution"]["pareto_share"])
        )
        ctx.n_customers = int(diag["pareto"]["n_customers"])
    with steps.step("fit"):
        months = ctx.months
        holdout_days = float(months[0].end - months[ctx.params.holdout_months - 1].start)
        # the second sample's fit (the adequacy check) on a worker, beside the first
        second: Future[tuple[tuple[Models, int], float]] | None = None
        if adequacy and pool is not None:
            second = pool.submit(
                _timed, _fit_sample, ctx.work, "adequacy", cfg, ctx.month_ends, holdout_days
            )
        sample = _read_sample(work, "sample", "features")
        # beside the worker's fit, one thread here too (OpenMP threads that wait for a busy core
        # spin: two fits of two threads each on two cores take longer than one thread each)
        with threadpool_limits(1 if second is not None else None):
            models, fit_diag = _fit(
                sample,
                _read_sample(work, "sample", "baskets"),
                cfg,
                ctx.month_ends,
                holdout_days,
                steps,
            )
        diag["partitions"] = {
            "n": ctx.n_partitions,
            "size": size,
            "workers": min(workers, ctx.n_partitions) if pool is not None else 1,
            "engine": engine_name(con),
            "sample": {"partitions": n_sample, "customers": len(sample)},
        }
        n_sampled = len(sample)
        del sample  # one sample's features in memory at a time in this process
        _release_memory()
        if adequacy:
            if second is not None:
                (other, n_other), pooled["fit"]["cpu"] = second.result()
            else:
                other, n_other = _fit_sample(
                    ctx.work, "adequacy", cfg, ctx.month_ends, holdout_days
                )
            diag["partitions"]["adequacy"] = [
                _parameters(models, n_sampled),
                _parameters(other, n_other),
            ]
            del other
        ctx.models = models
    with steps.step("score"):
        totals: dict[str, Any] = {}
        for c in _run_parts(con, score_partition, ctx, parts, pool, pooled["score"]):
            _add(totals, c)
    for name, cpu in pooled.items():
        if cpu:
            steps.cpu_seconds[name] = round(steps.cpu_seconds[name] + cpu["cpu"], 3)
    return totals, fit_diag, models


def run_scoring_partitioned(
    *,
    con: BaseBackend,
    lake: Path,
    as_of: _dt.date,
    config: Mapping[str, Any] | None = None,
    tier_rules: Mapping[str, Any] | None = None,
    previous: Frames | None = None,
    progress: Progress | None = None,
    time_zone: str = TIME_ZONE,
    large_amount: float = LARGE_AMOUNT,
    shelf: pd.DataFrame | None = None,
    assessments: Frames | None = None,
    blacklisted: Collection[str] | Frames | None = None,
    work: Path | None = None,
    keep_features: bool = False,
) -> PartitionedScoring:
    """Score every customer of the lake as of ``as_of``, partition by partition.

    The parameters are :func:`qiao.analytics.scoring.run_scoring`'s, and:

    previous, assessments, blacklisted
        As :func:`~qiao.analytics.scoring.run_scoring`'s, or an iterable of chunks of them
        (data frames or Arrow tables with the same columns; a generator over a database cursor):
        they are spooled to Parquet one chunk at a time and bucketed by the engine like the
        lake's rows, and each partition reads its own customers' rows. When a customer has
        several rows, the last one given counts.
    work
        The working folder for the staged inputs and the results (a new temporary folder when
        ``None``; on Spark it must be storage every executor reads and writes).
    keep_features
        Also write each partition's full feature frame (tests; the scores hold the main ones).

    The partition size, the sample and the adequacy check are the ``[partitions]`` table of
    ``scoring.toml``.
    """
    cfg = load_scoring_config(config)
    schemes = parse_tier_rules(tier_rules)
    steps = _Steps(progress, total=5)
    part_cfg = cfg["partitions"]
    att = cfg["attrition"]
    replay = int(cfg["tiers"]["replay_months"])
    history = max(
        13,
        TREND_MONTHS,
        replay,
        int(att["horizon_months"]) + int(att["panel_months"]) - 1 + ATTRITION_LOOKBACK,
    )
    params = _feature_params(cfg, history, time_zone=time_zone, large_amount=large_amount)
    months = month_windows(as_of, history)
    work = Path(work or tempfile.mkdtemp(prefix="qiao-score-"))
    work.mkdir(parents=True, exist_ok=True)
    for sub in (
        "in",
        "spool",
        "contrib",
        "rank",
        "sample",
        "adequacy",
        "scores",
        "tier_history",
        "events",
        "suggestions",
        "features",
    ):
        shutil.rmtree(work / sub, ignore_errors=True)
    diag: dict[str, Any] = {"as_of": as_of.isoformat(), "history_months": history}

    with steps.step("stage"):
        n_customers = _count_customers(con, lake)
        size = max(int(part_cfg["size"]), 1)
        n_parts = max(1, math.ceil(n_customers / size))
        n_sample = min(n_parts, max(1, math.ceil(int(part_cfg["sample_customers"]) / size)))
        adequacy = bool(part_cfg["adequacy"]) and n_parts >= 2 * n_sample
        suggest_days = SuggestParams.from_config(cfg["suggest"]).maturity_days
        schemas = _stage(con, lake, as_of, params, work, n_parts, suggest_days)
        listed = _blacklist_frames(blacklisted)
        for name, frames in (
            ("previous", previous),
            ("assessments", assessments),
            ("blacklist", listed),
        ):
            if frames is not None:
                schemas[name] = _stage_from_database(con, work, name, frames, n_parts)
        if "blacklist" in schemas and not any((work / "in" / "blacklist").glob("*/*")):
            del schemas["blacklist"]  # an empty list, as run_scoring takes one: not counted
        shutil.rmtree(work / "spool", ignore_errors=True)
    ctx = Context(
        work=str(work),
        as_of=as_of,
        cfg=dict(cfg),
        schemes=dict(schemes),
        params=params,
        months=months,
        replay=replay,
        n_partitions=n_parts,
        schemas=schemas,
        sample_parts=frozenset(range(n_sample)),
        adequacy_parts=frozenset(range(n_sample, 2 * n_sample)) if adequacy else frozenset(),
        shelf=shelf,
        keep_features=keep_features,
    )
    workers = int(part_cfg.get("workers", 1))
    pool = _pool(con, workers, n_parts)
    try:
        totals, fit_diag, models = _passes(
            con,
            ctx,
            pool,
            steps,
            diag,
            size=size,
            workers=workers,
            n_sample=n_sample,
            adequacy=adequacy,
        )
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    with steps.step("summarise"):
        diag["tiers"] = totals.get("tiers", {})
        diag["riskstyle"] = {**fit_diag["riskstyle"], "counts": totals.get("riskstyle_counts", {})}
        diag["assoc"] = {
            **fit_diag["assoc"],
            "baskets": totals.get("baskets", 0),
            "customers_with_candidates": totals.get("customers_with_candidates", 0),
        }
        diag["attrition"] = models.attrition_diagnostics
        if models.clv.model is not None:
            n_bad = int(totals.get("clv_not_projected", 0))
            if n_bad:
                not_projected_warning(n_bad, steps.warn)
            info = {k: v for k, v in models.clv.diagnostics.items() if k != "holdout"}
            info["distinct_rfm_rows"] = totals.get("clv_distinct_rfm_rows", 0)
            info["holdout"] = models.clv.diagnostics.get("holdout")
            diag["clv"] = info
        if "tier_changes_vs_previous" in totals:
            diag["tier_changes_vs_previous"] = totals["tier_changes_vs_previous"]
        diag["counts"]["events"] = totals.get("events", {})
        if shelf is not None:
            products = totals.get("suggest_products") or [0]
            diag["suggest"] = {**totals.get("suggest", {}), "products": int(products[0])}
    diag["seconds"] = steps.seconds
    diag["cpu_seconds"] = steps.cpu_seconds
    diag["warnings"] = steps.warnings
    diag["warning_codes"] = steps.warning_codes
    diag["counts"]["scores"] = totals.get("scores", 0)
    diag["counts"]["tier_history"] = totals.get("tier_history", 0)
    if progress:
        progress("done", 1.0)
    return PartitionedScoring(
        work=work,
        n_partitions=n_parts,
        diagnostics=jsonable(diag),
        rules=models.rules,
        has_suggestions=shelf is not None,
    )
