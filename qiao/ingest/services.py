"""``qiao ingest``: the one path by which extracts get in (CLI, demo and tests all use it)."""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qiao.core.csvsafe import csv_safe_row
from qiao.ingest import lake as lake_io
from qiao.ingest.kinds import LOAD_ORDER
from qiao.ingest.master import APPLIERS, Counts, Reject, clean_rows
from qiao.ingest.models import LoadRecord
from qiao.ingest.reader import FileRefused, RawFile, kind_for, read_file
from qiao.ingest.recovery import LoadLock, load_lock, recover
from qiao.org.models import Staff
from qiao.products.models import Account

Progress = Callable[[str, float], None]
#: the ignored columns named in a summary line (the rest are counted)
SHOWN_IGNORED = 10
#: a longer rejected value is shown by its start and its length in the reject file
REJECT_VALUE_MAX = 1000


@dataclass
class FileResult:
    path: Path
    kind: str = ""
    encoding: str = ""
    ok: bool = False
    message: str = ""
    rows: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects_file: Path | None = None
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        if not self.ok:
            return f"{self.path.name}  {_('REFUSED')}: {self.message}"
        line = f"{self.path.name}  [{self.encoding}]  " + _(
            "loaded %(loaded)s  updated %(updated)s  unchanged %(unchanged)s  rejected %(rejected)s"
        ) % {
            "loaded": f"{self.loaded:,}",
            "updated": f"{self.updated:,}",
            "unchanged": f"{self.unchanged:,}",
            "rejected": f"{self.rejected:,}",
        }
        if self.rejects_file:
            line += f" → {self.rejects_file}"
        if len(self.ignored_columns) > SHOWN_IGNORED:
            # A file with thousands of extra columns gets a line, not a page.
            line += "  " + _("ignored %(n)s columns: %(cols)s and %(more)s more") % {
                "n": f"{len(self.ignored_columns):,}",
                "cols": ", ".join(self.ignored_columns[:SHOWN_IGNORED]),
                "more": f"{len(self.ignored_columns) - SHOWN_IGNORED:,}",
            }
        elif self.ignored_columns:
            line += "  " + _("ignored columns: %(cols)s") % {
                "cols": ", ".join(self.ignored_columns)
            }
        return line


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders contribute their extract files. Ordered by dependency."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.name.endswith(".rejects.csv") or not child.is_file():
                    continue
                try:
                    kind_for(child)
                except FileRefused:
                    continue
                files.append(child)
        else:
            files.append(path)

    def order(p: Path) -> tuple[int, str]:
        try:
            return LOAD_ORDER.index(kind_for(p).name), p.name
        except FileRefused:
            return -1, p.name  # refused first, with its message

    return sorted(files, key=order)


def _rejects_path(path: Path) -> Path:
    target = path.with_name(path.name + ".rejects.csv")
    if os.access(path.parent, os.W_OK):
        return target
    fallback = settings.QIAO_HOME / "rejects"
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback / target.name


def _shown_value(value: str) -> str:
    """A rejected value as the reject file shows it: a very long one by its start and length
    (spreadsheets cut a cell at 32,767 characters; the whole value is in the extract)."""
    if len(value) <= REJECT_VALUE_MAX:
        return value
    return _("%(start)s… (%(n)s characters)") % {
        "start": value[:REJECT_VALUE_MAX],
        "n": f"{len(value):,}",
    }


def _write_rejects(path: Path, rejects: list[Reject]) -> Path | None:
    target = _rejects_path(path)
    if not rejects:
        target.unlink(missing_ok=True)  # a stale reject file from an earlier load would mislead
        return None
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["line", "column", "value", "reason"])
        for r in sorted(rejects, key=lambda r: (r.line, r.column)):
            writer.writerow(csv_safe_row([r.line, r.column, _shown_value(r.value), r.reason]))
    os.replace(tmp, target)
    return target


def _accounts_table() -> pa.Table:
    rows = Account.objects.values_list("account_no", "customer__customer_no")
    account_nos, customer_nos = [], []
    for a, c in rows.iterator(chunk_size=20000):
        account_nos.append(a)
        customer_nos.append(c)
    return pa.table(
        {
            "account_no": pa.array(account_nos, pa.string()),
            "customer_no": pa.array(customer_nos, pa.string()),
        }
    )


def ingest_file(
    path: Path, *, by: Staff | None = None, progress: Progress | None = None
) -> FileResult:
    # The lock is held from before the record exists until the lake files are in place: a later
    # load that can take it knows this process is gone (qiao.ingest.recovery).
    with load_lock() as lock:
        recover()
        return _ingest_file(path, by, progress, lock)


def _ingest_file(
    path: Path, by: Staff | None, progress: Progress | None, lock: LoadLock
) -> FileResult:
    started = timezone.now()
    result = FileResult(path=path)
    record = LoadRecord(
        file_name=str(path),
        kind="",
        sha256="",
        status=LoadRecord.Status.RUNNING,
        loaded_by=by.username if by else os.environ.get("USER", ""),
        created_by=by,
        started_at=started,
        host=lock.host,
        pid=lock.pid,
        lock_token=lock.token,
    )
    try:
        raw = read_file(path)
    except FileRefused as exc:
        result.message = str(exc)
        record.status = LoadRecord.Status.FAILED
        record.message = result.message
        record.finished_at = timezone.now()
        record.save()
        return result
    result.kind, result.encoding, result.rows = (
        raw.kind.name,
        raw.encoding,
        raw.n_rows + len(raw.broken),
    )
    result.ignored_columns = raw.ignored_columns
    record.kind, record.sha256, record.encoding, record.rows = (
        raw.kind.name,
        raw.sha256,
        raw.encoding,
        raw.n_rows + len(raw.broken),
    )
    record.save()
    if progress:
        progress(path.name, 0.2)
    broken = [Reject(line, "", "", reason) for line, reason in raw.broken]
    staged: Path | None = None
    try:
        if raw.kind.lake:
            counts, staged = _load_lake(raw, record.pk)
        else:
            counts = _load_master(raw, by, progress)
        counts.rejects = broken + counts.rejects
        with transaction.atomic():
            record.status = LoadRecord.Status.LOADED
            record.loaded, record.updated, record.unchanged = (
                counts.loaded,
                counts.updated,
                counts.unchanged,
            )
            record.rejected = len({r.line for r in counts.rejects})
            record.message = ""
            record.finished_at = timezone.now()
            record.save()
        if staged is not None:
            lake_io.publish(staged, settings.LAKE_DIR, raw.kind.name)
    except Exception as exc:
        lake_io.discard(staged)
        record.status = LoadRecord.Status.FAILED
        record.message = f"{type(exc).__name__}: {exc}"
        record.finished_at = timezone.now()
        record.save()
        raise
    result.ok = True
    result.loaded, result.updated, result.unchanged = (
        counts.loaded,
        counts.updated,
        counts.unchanged,
    )
    result.rejected = record.rejected
    result.rejects_file = _write_rejects(path, counts.rejects)
    result.seconds = (timezone.now() - started).total_seconds()
    if progress:
        progress(path.name, 1.0)
    return result


def _load_master(raw: RawFile, by: Staff | None, progress: Progress | None) -> Counts:
    rows, rejects = clean_rows(raw.kind, raw.texts(), raw.lines)
    if progress:
        progress(raw.path.name, 0.6)
    counts = Counts(rejects=rejects)
    # One database transaction per file: all good rows or, on an unexpected error, none.
    with transaction.atomic():
        APPLIERS[raw.kind.name](rows, counts, by)
    return counts


def _load_lake(raw: RawFile, load_id: int) -> tuple[Counts, Path | None]:
    con = lake_io.connect()
    try:
        accounts = _accounts_table()
        if raw.kind.name == "transactions":
            res = lake_io.load_transactions(
                con,
                raw.table,
                accounts=accounts,
                lake=settings.LAKE_DIR,
                load_id=load_id,
                now=timezone.now() + dt.timedelta(minutes=5),
            )
        else:
            res = lake_io.load_balances(
                con,
                raw.table,
                accounts=accounts,
                lake=settings.LAKE_DIR,
                load_id=load_id,
                today=timezone.localdate(),
            )
    finally:
        con.close()
    return res.counts, res.staged


def ingest_paths(
    paths: Iterable[Path], *, by: Staff | None = None, progress: Progress | None = None
) -> list[FileResult]:
    return [ingest_file(p, by=by, progress=progress) for p in expand_paths(paths)]
