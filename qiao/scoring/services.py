"""The nightly scoring, operational side: hand the lake to ``qiao.analytics`` and keep the results.

1. Snapshot the operational tables the models need into ``lake/ref/*.parquet``.
2. Run :func:`qiao.analytics.partitioned.run_scoring_partitioned` (DuckDB or Spark, one code
   path; :func:`qiao.analytics.scoring.run_scoring` for the whole bank at once). The last
   snapshot and the risk assessments are streamed to it in chunks (a server-side cursor on
   PostgreSQL), never read whole (decision 0010).
3. Store one ``ScoreSnapshot`` per customer for the date (replacing an earlier run of the same date:
   idempotent), the tier history at its change points, the events, the next-best products
   (as ``qiao.suitability.suggestions.suggestions_store`` does), and copy AUM, tier and
   contribution onto each customer's ``CustomerStanding`` for fast lists; partition by partition.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from qiao.analytics.scoring import MAIN_FEATURES
from qiao.core.bulk import copy_arrow
from qiao.core.lake import lake_files
from qiao.core.refs import refs_export
from qiao.credit.selectors import blacklisted_customer_no_rows, blacklisted_customer_nos
from qiao.customers.models import Customer, CustomerStanding
from qiao.scoring.models import ModelRun, ScoreEvent, ScoreSnapshot, TierHistory, TierRuleSet
from qiao.suitability.models import RiskAssessment
from qiao.suitability.suggestions import assessments_frame, shelf_frame, suggestions_store

Progress = Callable[[str, float], None]


def tier_rules() -> dict[str, Any] | None:
    """The active rule set from the admin, or ``None`` for the file in the repository."""
    rule_set = TierRuleSet.objects.filter(active=True).order_by("-updated_at").first()
    return rule_set.rules if rule_set else None


def _json(value: Any, default: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value


# The snapshot keeps the pipeline's main features (minus what has a column of its own) and the
# contribution parts, so the 360 can explain a score without reading the lake.
FEATURE_KEYS = [
    *(f for f in MAIN_FEATURES if f not in {"customer_type", "branch_code", "aum"}),
    "revenue_month",
    "cost_month",
    "contribution_month",
    "contribution_rank",
    "need_mode_why",
]


#: Rows read from the operational database at a time when streaming the last snapshot and the
#: assessments to the scoring (a chunk of 100,000 is ~10 MB in pandas).
_READ_CHUNK = 100_000

PREVIOUS_COLUMNS = ["customer_no", "attrition_prob", "tier_pyramid"]
ASSESSMENT_COLUMNS = ["customer_no", "tolerance", "valid_until", "qualified_investor"]


def _frames(rows: Iterable[tuple[Any, ...]], columns: list[str], size: int) -> Iterator[Any]:
    """Data frames of ``size`` rows from an iterator of tuples (a cursor)."""
    import pandas as pd

    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield pd.DataFrame(chunk, columns=columns)


def _previous_chunks(as_of: dt.date, size: int = _READ_CHUNK) -> Iterator[Any] | None:
    """The last snapshot before ``as_of`` (``customer_no, attrition_prob, tier_pyramid``) in
    chunks of ``size`` rows, read through a server-side cursor when consumed; ``None`` when there
    is none."""
    prev = (
        ScoreSnapshot.objects.filter(as_of__lt=as_of)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    if prev is None:
        return None
    rows = (
        ScoreSnapshot.objects.filter(as_of=prev)
        .values_list("customer__customer_no", "attrition_prob", "tier_pyramid")
        .iterator(chunk_size=size)
    )
    return _frames(rows, PREVIOUS_COLUMNS, size)


def _blacklist_chunks(size: int = _READ_CHUNK) -> Iterator[Any]:
    """The customer numbers on the blacklist now, in chunks of ``size`` (a server-side cursor)."""
    rows = blacklisted_customer_no_rows().values_list("customer_no").iterator(chunk_size=size)
    return _frames(rows, ["customer_no"], size)


def _previous(as_of: dt.date) -> Any:
    """The last snapshot whole (the whole-bank run, the parity reference)."""
    import pandas as pd

    chunks = _previous_chunks(as_of)
    if chunks is None:
        return None
    frames = list(chunks)
    return (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PREVIOUS_COLUMNS)
    )


def _assessment_chunks(as_of: dt.date, size: int = _READ_CHUNK) -> Iterator[Any]:
    """The risk assessments made by ``as_of`` in chunks, in ``assessments_frame``'s order (by
    customer, then date): each chunk keeps a customer's last row, and the scoring keeps the last
    row given over the chunks, so each customer's latest assessment counts, as there."""
    rows = (
        RiskAssessment.objects.filter(assessed_on__lte=as_of)
        .order_by("customer_id", "assessed_on", "id")
        .values_list("customer__customer_no", "tolerance", "valid_until", "qualified_investor")
        .iterator(chunk_size=size)
    )
    for frame in _frames(rows, ASSESSMENT_COLUMNS, size):
        yield frame.drop_duplicates("customer_no", keep="last")


def default_as_of() -> dt.date:
    """The last day with balances in the lake (the extract date), else yesterday."""
    import duckdb

    files = [str(p) for p in lake_files(settings.LAKE_DIR, "balances")]
    if files:
        con = duckdb.connect()
        try:
            [(latest,)] = con.execute(
                "SELECT max(balance_date) FROM read_parquet(?)", [files]
            ).fetchall()
        finally:
            con.close()
        if latest is not None:
            return latest
    return timezone.localdate() - dt.timedelta(days=1)


def score_run(
    *,
    as_of: dt.date | None = None,
    engine: str = "duckdb",
    progress: Progress | None = None,
    partition_size: int | None = None,
    spark_master: str | None = None,
) -> ModelRun:
    """Score the bank as of ``as_of`` and keep the results (see the module's docstring).

    ``partition_size``: customers per partition (``None``: the setting
    ``QIAO_SCORE_PARTITION_SIZE``; 0 scores the whole bank at once, as before issue 18).
    ``spark_master``: the Spark cluster's URL with ``engine="spark"`` (``None``: the setting
    ``QIAO_SPARK_MASTER``, by default ``local[2]``)."""
    from qiao.analytics.lake import connect

    as_of = as_of or default_as_of()
    size = settings.QIAO["SCORE_PARTITION_SIZE"] if partition_size is None else partition_size
    run = ModelRun.objects.create(as_of=as_of, engine=engine, started_at=timezone.now())
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    result: Any = None
    try:
        refs_export(settings.LAKE_DIR)
        seconds["export_refs"] = round(time.perf_counter() - started, 3)
        if engine == "spark":
            master = spark_master or settings.SCORE_SPARK_MASTER
            con = connect("spark", spark_master=master)
        else:
            con = connect("duckdb", memory_limit=settings.SCORE_DUCKDB_MEMORY or None)
        try:
            result = _run_pipeline(con, as_of, int(size), progress)
        finally:
            disconnect = getattr(con, "disconnect", None)
            if callable(disconnect):
                disconnect()
        if progress:
            progress("saving", 0.95)
        n = _store(result, as_of, seconds)
    except Exception as exc:
        run.finished_at = timezone.now()
        run.message = f"{type(exc).__name__}: {exc}"
        run.save()
        raise
    finally:
        cleanup = getattr(result, "cleanup", None)
        if callable(cleanup):
            cleanup()
    diagnostics = dict(result.diagnostics)
    diagnostics["seconds"] = {**diagnostics.get("seconds", {}), **seconds}
    diagnostics["seconds_total"] = round(time.perf_counter() - started, 2)
    run.customers = n
    run.diagnostics = json.loads(json.dumps(diagnostics, default=str))
    run.ok = True
    run.finished_at = timezone.now()
    run.save()
    if progress:
        progress("done", 1.0)
    return run


def _run_pipeline(con: Any, as_of: dt.date, partition_size: int, progress: Progress | None) -> Any:
    """The analytics' run: in partitions of ``partition_size`` customers
    (:func:`qiao.analytics.partitioned.run_scoring_partitioned`, decision 0010), or the whole
    bank at once when it is 0 (:func:`qiao.analytics.scoring.run_scoring`)."""
    from qiao.analytics.partitioned import run_scoring_partitioned
    from qiao.analytics.scoring import run_scoring

    inputs: dict[str, Any] = {
        "con": con,
        "lake": settings.LAKE_DIR,
        "as_of": as_of,
        "tier_rules": tier_rules(),
        "progress": progress,
        # The bank's settings, the same the work list uses (docs/configuration.md).
        "time_zone": settings.TIME_ZONE,
        "large_amount": float(settings.QIAO["LARGE_AMOUNT"]),
        # The next-best products: the shelf (a few hundred products) as data.
        "shelf": shelf_frame(),
    }
    # The blacklist now (限制 and no suggestion, docs/keyaccounts.md) is given with the other
    # inputs from the database below: whole, or in chunks to the partitions.
    if partition_size <= 0:
        return run_scoring(
            **inputs,
            previous=_previous(as_of),
            assessments=assessments_frame(as_of=as_of),
            blacklisted=blacklisted_customer_nos(),
        )
    base = settings.SCORE_WORK_DIR
    work = Path(base) / f"score-{as_of.isoformat()}" if base else None
    partitions: dict[str, Any] = {"size": partition_size}
    if settings.QIAO["SCORE_WORKERS"] > 0:
        partitions["workers"] = settings.QIAO["SCORE_WORKERS"]
    # The last snapshot and the assessments stream out of the database chunk by chunk into
    # Parquet bucketed like the lake; each partition reads its own customers' rows.
    return run_scoring_partitioned(
        **inputs,
        blacklisted=_blacklist_chunks(),
        previous=_previous_chunks(as_of),
        assessments=_assessment_chunks(as_of),
        config={"partitions": partitions},
        work=work,
    )


#: Score rows turned into snapshot rows and written per batch (a million at once would hold
#: every row's JSON text in memory twice).
_STORE_BATCH = 50_000


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _features_sql(types: dict[str, str]) -> str:
    """The snapshot's ``features``: the :data:`FEATURE_KEYS` the scores have and ``aum_series``,
    non-finite numbers as null, as JSON text made by DuckDB (``to_json(struct_pack(…))``)."""
    fields = []
    for key in [k for k in [*FEATURE_KEYS, "aum_series"] if k in types]:
        col = _sql_name(key)
        finite = types[key] in {"DOUBLE", "FLOAT"}
        fields.append(
            f"{col} := " + (f"CASE WHEN isfinite({col}) THEN {col} END" if finite else col)
        )
    return f"CAST(to_json(struct_pack({', '.join(fields)})) AS VARCHAR)"


def _snapshot_sql(types: dict[str, str]) -> str:
    """One ``ScoreSnapshot`` row per scores row, column for column, in DuckDB (no Python per row).

    Money is rounded to the cent (non-finite: 0, and a lifetime value that cannot be computed is
    left empty); non-finite probabilities are empty; the English "why" texts are cut at 300
    characters; JSON columns take the pipeline's JSON text as it is, with ``{}`` / ``[]`` for
    none; ``reason_codes`` is assembled from the pipeline's code and parameter columns.
    """

    def col(name: str, missing: str = "NULL") -> str:
        return _sql_name(name) if name in types else missing

    def money(name: str) -> str:
        return f"CAST(round(CASE WHEN isfinite({col(name)}) THEN {col(name)} ELSE 0 END, 2) AS DECIMAL(18, 2))"

    def number(name: str) -> str:
        return f"CASE WHEN isfinite({col(name)}) THEN CAST({col(name)} AS DOUBLE) END"

    def text(name: str, limit: int | None = None) -> str:
        value = f"coalesce(CAST({col(name)} AS VARCHAR), '')"
        return f"left({value}, {limit})" if limit else value

    def json_text(name: str, default: str) -> str:
        return f"coalesce(nullif(CAST({col(name)} AS VARCHAR), ''), '{default}')"

    reasons = []
    for kind in ("stage", "motive", "need_mode"):
        code = col(f"{kind}_why_code")
        reasons.append(
            f"""CASE WHEN {code} <> '' THEN '"{kind}": {{"code": ' || CAST(to_json({code}) AS VARCHAR)
                || ', "params": ' || {json_text(f"{kind}_why_params", "{}")} || '}}' END"""
        )
    attrition = col("attrition_reason_codes")
    reasons.append(
        f"""CASE WHEN ltrim(CAST({attrition} AS VARCHAR)) LIKE '[%'
            THEN '"attrition": ' || {attrition} END"""
    )
    clv = col("clv")
    return f"""
        SELECT CAST(customer_id AS BIGINT) AS customer_id,
               CAST($as_of AS DATE) AS as_of,
               {money("aum")} AS aum,
               {money("contribution_year")} AS contribution_year,
               {text("tier_pyramid")} AS tier_pyramid,
               {text("tier_deposit")} AS tier_deposit,
               {json_text("tier_why", "{}")} AS tier_why,
               coalesce(CAST({col("pareto_core")} AS BOOLEAN), false) AS pareto_core,
               {number("p_alive")} AS p_alive,
               {number("expected_txn_12m")} AS expected_txn_12m,
               CASE WHEN isfinite({clv}) THEN {money("clv")} END AS clv,
               {number("attrition_prob")} AS attrition_prob,
               {json_text("attrition_reasons", "[]")} AS attrition_reasons,
               {text("risk_style")} AS risk_style,
               {text("stage")} AS stage,
               {text("stage_why", 300)} AS stage_why,
               {text("motive")} AS motive,
               {text("motive_why", 300)} AS motive_why,
               {text("need_mode")} AS need_mode,
               {json_text("cross_sell", "[]")} AS cross_sell,
               {_features_sql(types)} AS features,
               '{{' || concat_ws(', ', {", ".join(reasons)}) || '}}' AS reason_codes
        FROM score_batch
        WHERE customer_id IS NOT NULL
    """


def _snapshot_rows(con: Any, batch: Any, as_of: dt.date) -> pa.Table:
    """The snapshots of a batch of scores (with their ``customer_id``) as an Arrow table."""
    con.register("score_batch", batch)
    try:
        types = {str(r[0]): str(r[1]) for r in con.execute("DESCRIBE score_batch").fetchall()}
        return con.execute(_snapshot_sql(types), {"as_of": as_of}).to_arrow_table()
    finally:
        con.unregister("score_batch")


def _store(result: Any, as_of: dt.date, seconds: dict[str, float]) -> int:
    """Write the run's results in one transaction; the time of each part goes to ``seconds``.

    ``result`` is a :class:`qiao.analytics.scoring.ScoringResult` (the whole bank at once) or a
    :class:`qiao.analytics.partitioned.PartitionedScoring`, whose partitions are read and
    written one after another (the scores, standings, events and tier history of one partition
    in memory at a time, and the ids of that partition's customers only; PostgreSQL takes each
    through COPY)."""
    import duckdb
    import pandas as pd

    lap = _Lap(seconds, "store_")
    partitioned = hasattr(result, "read")
    whole_map: Any = None
    if partitioned:
        parts: Any = (
            (result.read("scores", p), result.read("tier_history", p), result.read("events", p))
            for p in result.parts()
        )
    else:
        parts = iter([(result.scores, result.tier_history, result.events)])
        ids = dict(Customer.objects.values_list("customer_no", "id"))
        whole_map = pd.Series(ids, dtype="Int64")  # customer number -> id, vectorised maps
        del ids
    lap("prepare")
    stored = 0
    with duckdb.connect() as duck, transaction.atomic():
        ScoreSnapshot.objects.filter(as_of=as_of).delete()
        ScoreEvent.objects.filter(as_of=as_of).delete()
        lap("delete")
        history_cleared = False
        for scores, tier_history, events in parts:
            if not len(scores):
                continue
            # a partition's events and tier history are of its scored customers
            id_of = _ids_of(scores["customer_no"]) if partitioned else whole_map
            lap("ids")
            stored += _store_snapshots(duck, scores, id_of, as_of, lap)
            if len(events):
                copy_arrow(ScoreEvent, _event_rows(events, id_of, as_of))
            lap("events")
            # The replay covers a window of month ends; history before it is kept as it was.
            history = _tier_changes(tier_history, id_of) if len(tier_history) else None
            if history is not None and history.num_rows:
                if not history_cleared:
                    window_start = pc.min(history["month_end"]).as_py()
                    TierHistory.objects.filter(month_end__gte=window_start).delete()
                    history_cleared = True
                copy_arrow(TierHistory, history)
            lap("tier_history")
        if partitioned:
            suggestions = (
                (result.read("suggestions", p) for p in result.parts())
                if result.has_suggestions
                else iter(())
            )
            suggestions_store(suggestions, as_of=as_of, id_of=_ids_of)
        else:
            suggestions_store(result.suggestions, as_of=as_of, id_of=whole_map)
        lap("suggestions")
    lap("commit")  # the deferred foreign-key checks run here
    return stored


def _ids_of(customer_nos: Any) -> Any:
    """Customer number -> id (an ``Int64`` Series) for these numbers only: a partition's, so the
    store never holds the whole bank's map. Numbers not in the database are left out."""
    import pandas as pd

    nos = [str(n) for n in pd.unique(customer_nos)]
    rows: list[tuple[str, int]] = []
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT customer_no, id FROM {Customer._meta.db_table} "  # noqa: S608
                "WHERE customer_no = ANY(%s)",
                [nos],
            )
            rows = cur.fetchall()
    else:  # SQLite: at most 999 parameters a statement
        for i in range(0, len(nos), 900):
            rows += Customer.objects.filter(customer_no__in=nos[i : i + 900]).values_list(
                "customer_no", "id"
            )
    return pd.Series(dict(rows), dtype="Int64")


def _store_snapshots(duck: Any, scores: Any, id_of: Any, as_of: dt.date, lap: _Lap) -> int:
    """The snapshots of a frame of scores (batch by batch) and their customers' standings."""
    if not len(scores):
        return 0
    # customers no longer in the database get no snapshot
    customer_ids = scores["customer_no"].map(id_of)
    updates: list[pa.Table] = []

    def snapshot_batches() -> Iterator[pa.Table]:
        # Built one batch at a time while the previous one is on its way to the database.
        for start in range(0, len(scores), _STORE_BATCH):
            batch = scores.iloc[start : start + _STORE_BATCH].assign(
                customer_id=customer_ids.iloc[start : start + _STORE_BATCH].to_numpy()
            )
            rows = _snapshot_rows(duck, batch, as_of)
            updates.append(
                rows.select(
                    ["customer_id", "aum", "tier_pyramid", "contribution_year"]
                ).rename_columns(["customer_id", "aum", "tier", "contribution"])
            )
            yield rows

    stored = copy_arrow(ScoreSnapshot, snapshot_batches())
    lap("snapshots")
    if updates:
        _update_standings(pa.concat_tables(updates), as_of)
    lap("standings")
    return stored


class _Lap:
    """Seconds since the last lap, recorded under ``prefix + name``."""

    def __init__(self, seconds: dict[str, float], prefix: str = "") -> None:
        self.seconds, self.prefix, self.last = seconds, prefix, time.perf_counter()

    def __call__(self, name: str) -> None:
        # added up: a partitioned run laps each part once per partition
        now, key = time.perf_counter(), self.prefix + name
        self.seconds[key] = round(self.seconds.get(key, 0.0) + now - self.last, 3)
        self.last = now


def _event_rows(events: Any, id_of: Any, as_of: dt.date) -> pa.Table:
    """The pipeline's events (``customer_no, event_date, kind, detail`` as JSON text) as rows of
    ``ScoreEvent``, column-wise; customers no longer in the database are left out, and a
    missing or unreadable detail becomes ``{}``."""
    import numpy as np
    import pandas as pd

    cids = events["customer_no"].map(id_of)
    known = cids.notna().to_numpy()
    n = int(known.sum())
    days = pd.to_datetime(events["event_date"]).to_numpy()[known].astype("datetime64[D]")
    details = [_json_text(d) for d in events["detail"].to_numpy(dtype=object)[known]]
    return pa.table(
        {
            "customer_id": pa.array(cids.to_numpy()[known].astype(np.int64), pa.int64()),
            "event_date": pa.array(days, pa.date32()),
            "kind": pa.array(events["kind"].to_numpy(dtype=object)[known], pa.string()),
            "detail": pa.array(details, pa.string()),
            "as_of": pa.array([as_of] * n, pa.date32()),
        }
    )


def _json_text(value: Any) -> str:
    """JSON text for a JSON column: the value as it is when it is a JSON object's text, else its
    serialisation (``{}`` for nothing)."""
    parsed = _json(value, {})
    if isinstance(value, str) and isinstance(parsed, dict) and parsed:
        return value
    return json.dumps(parsed if isinstance(parsed, dict) else {}, ensure_ascii=False)


def _tier_changes(tier_history: Any, ids: Any) -> pa.Table:
    """Keep the tier path at its change points (and its first month): the history, compactly.

    Vectorised: per scheme, the path is laid out as a month × customer matrix of tier codes and
    compared with the month before (a million customers × 24 month ends is 24 M rows a scheme).
    Returns ``customer_id, month_end, scheme, tier`` as an Arrow table; customers no longer in
    the database are left out.
    """
    import numpy as np
    import pandas as pd

    # ``ids``: customer number -> id, a mapping or a Series (built once by the caller)
    id_of = ids if isinstance(ids, pd.Series) else pd.Series(ids, dtype="Int64")
    parts: list[pa.Table] = []
    for scheme in pd.unique(tier_history["scheme"]):
        part = tier_history[tier_history["scheme"] == scheme]
        cust_codes, customers = pd.factorize(part["customer_no"])
        month_codes, months = pd.factorize(part["month_end"], sort=True)
        tier_codes, tiers = pd.factorize(part["tier"])
        path = np.full((len(months), len(customers)), -1, dtype=np.int32)
        path[month_codes, cust_codes] = tier_codes
        keep = path >= 0
        keep[1:] &= path[1:] != path[:-1]
        m_idx, c_idx = np.nonzero(keep)
        cids = pd.Series(customers).map(id_of).to_numpy()[c_idx]
        known = ~pd.isna(cids)
        month_days = pd.to_datetime(pd.Index(months)).to_numpy().astype("datetime64[D]")
        tier_names = np.asarray([str(t) for t in tiers], dtype=object)
        parts.append(
            pa.table(
                {
                    "customer_id": pa.array(cids[known].astype(np.int64), pa.int64()),
                    "month_end": pa.array(month_days[m_idx[known]], pa.date32()),
                    "scheme": pa.array([str(scheme)] * int(known.sum()), pa.string()),
                    "tier": pa.array(tier_names[path[m_idx, c_idx][known]], pa.string()),
                }
            )
        )
    schema = pa.schema(
        [
            ("customer_id", pa.int64()),
            ("month_end", pa.date32()),
            ("scheme", pa.string()),
            ("tier", pa.string()),
        ]
    )
    return pa.concat_tables(parts) if parts else schema.empty_table()


def _update_standings(updates: pa.Table, as_of: dt.date) -> None:
    """Write each scored customer's AUM, tier and contribution to their standing, set-based.

    ``updates`` has the columns ``customer_id, aum, tier, contribution``. The standings are a narrow table
    of their own (decision 0005): rewriting a million of them touches three small indexes, not
    the customers' search indexes. PostgreSQL: the values go into a temporary table with COPY,
    one UPDATE … FROM joins it (changed rows only) and one INSERT adds any missing standing.
    Elsewhere: an upsert per 2,000 rows. A run for an earlier date than a standing's (a backfill)
    leaves it as it is: the lists show the latest scoring.
    """
    table = CustomerStanding._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE qiao_score_update (customer_id bigint, aum numeric(18, 2), "
                "tier varchar(20), contribution numeric(18, 2)) ON COMMIT DROP"
            )
            copy_arrow(CustomerStanding, updates, db_table="qiao_score_update")
            cur.execute("ANALYZE qiao_score_update")
            cur.execute(
                f"UPDATE {table} AS s SET aum = u.aum, tier = u.tier, "
                "contribution = u.contribution, as_of = %s "
                "FROM qiao_score_update AS u WHERE s.customer_id = u.customer_id "
                "AND (s.as_of IS NULL OR s.as_of <= %s) "
                "AND (s.aum, s.tier, s.contribution, s.as_of) "
                "IS DISTINCT FROM (u.aum, u.tier, u.contribution, %s)",
                [as_of, as_of, as_of],
            )
            cur.execute(
                f"INSERT INTO {table} (customer_id, aum, tier, contribution, as_of) "
                "SELECT u.customer_id, u.aum, u.tier, u.contribution, %s FROM qiao_score_update AS u "
                f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS s WHERE s.customer_id = u.customer_id)",
                [as_of],
            )
            cur.execute("DROP TABLE qiao_score_update")
        return
    columns = ("customer_id", "aum", "tier", "contribution")
    rows = list(zip(*(updates[c].to_pylist() for c in columns)))
    for i in range(0, len(rows), 2000):
        batch = rows[i : i + 2000]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(batch))
        params: list[Any] = [x for row in batch for x in (*row, as_of)]
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {table} (customer_id, aum, tier, contribution, as_of) "
                f"VALUES {values} ON CONFLICT (customer_id) DO UPDATE SET aum = excluded.aum, "
                "tier = excluded.tier, contribution = excluded.contribution, as_of = excluded.as_of "
                f"WHERE {table}.as_of IS NULL OR {table}.as_of <= excluded.as_of",
                params,
            )
