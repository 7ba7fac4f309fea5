"""Bulk writes shared by ingest and the nightly scoring: COPY on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from django.db import models

Record = dict[str, Any]


class JSONText(str):
    """A value already serialised as JSON (by qiao.analytics): written to a JSON column as it is,
    not parsed and serialised again (at a million rows that round trip was half the time)."""


def fast_insert(
    model: type[models.Model],
    records: Iterable[Record],
    *,
    derive: Callable[[Record], Record] | None = None,
    batch: int = 5000,
) -> None:
    """Insert many rows fast: COPY on PostgreSQL, executemany on SQLite (Django's bulk_create
    spends most of its time compiling per-value SQL, which dominates at a million rows).

    Rows are prepared a batch at a time inside the open COPY, ``derive`` (fields computed from
    the record, such as search keys) included: the server indexes one batch while the next is
    being prepared, instead of waiting for all of them.
    """
    from django.db import connection
    from django.utils import timezone

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = [str(f.column) for f in fields]
    now = timezone.now()
    # What to write when a record leaves a field out, decided once per field, not per cell.
    plan: list[tuple[models.Field[Any, Any], Any, bool]] = []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            fallback: Any = now
        elif f.has_default():
            fallback = f.get_default()
        elif not f.null:
            fallback = "" if f.empty_strings_allowed else None
        else:
            fallback = None
        plan.append((f, fallback, f.get_internal_type() == "JSONField"))

    def batches() -> Iterator[list[tuple[Any, ...]]]:
        it = iter(records)
        while chunk := list(islice(it, batch)):
            if derive is not None:
                for rec in chunk:
                    rec.update(derive(rec))
            # Column by column: one pass per field over the batch, then rows by zipping.
            cells: list[list[Any]] = []
            for f, fallback, is_json in plan:
                column = [rec.get(f.attname) for rec in chunk]
                if fallback is not None:
                    column = [fallback if value is None else value for value in column]
                if is_json:
                    # JSON text is what both databases take for a JSON column (PostgreSQL parses
                    # it into jsonb, SQLite stores it), serialised as JSONField does it.
                    encoder = getattr(f, "encoder", None)
                    column = [
                        None
                        if value is None
                        else value
                        if isinstance(value, JSONText)
                        else json.dumps(value, cls=encoder)
                        for value in column
                    ]
                cells.append(column)
            yield list(zip(*cells, strict=True))

    table = model._meta.db_table
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for rows in batches():
                    for row in rows:
                        copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            for rows in batches():
                cur.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)  # noqa: S608


def copy_arrow(model: type[models.Model], tables: Any, *, db_table: str | None = None) -> int:
    """Insert the rows of Arrow tables whose columns are named as ``model``'s (attnames).

    ``tables`` is one table or an iterable of tables with the same columns (built as they are
    consumed: a generator keeps one batch in memory). For rows made column-wise (by DuckDB or
    Arrow) rather than as Python records: on PostgreSQL the rows go as CSV written by Arrow in C
    (every valid value quoted, so an empty string is not taken for NULL; JSON columns hold JSON
    text) into one ``COPY … (FORMAT csv)``, sent by a writer thread while this one builds and
    writes the next batch (DuckDB and Arrow release the GIL), so the client's work overlaps the
    server's instead of alternating with it; on SQLite the rows go to ``executemany``.
    ``db_table`` writes to another table with the same columns (a temporary one). Returns the
    number of rows.
    """
    import io

    import pyarrow as pa
    import pyarrow.csv as pa_csv
    from django.db import connection

    parts = iter([tables] if isinstance(tables, pa.Table) else tables)
    first = next(parts, None)
    if first is None:
        return 0
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    columns = [str(by_attname[name].column) for name in first.column_names]
    target = db_table or model._meta.db_table
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    n = 0
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            from psycopg.copy import QueuedLibpqWriter

            options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
            raw = cur.cursor
            sql = f"COPY {target} ({quoted}) FROM STDIN (FORMAT csv)"
            with raw.copy(sql, writer=QueuedLibpqWriter(raw)) as copy:
                for table in itertools.chain([first], parts):
                    for batch in table.to_batches(max_chunksize=20_000):
                        buffer = io.BytesIO()
                        pa_csv.write_csv(batch, buffer, options)
                        copy.write(buffer.getvalue())
                        n += batch.num_rows
        else:
            marks = ", ".join(["%s"] * len(columns))
            for table in itertools.chain([first], parts):
                for batch in table.to_batches(max_chunksize=5_000):
                    values = [col.to_pylist() for col in batch.columns]
                    rows = list(zip(*values, strict=True))
                    cur.executemany(f"INSERT INTO {target} ({quoted}) VALUES ({marks})", rows)  # noqa: S608
                    n += batch.num_rows
    return n
