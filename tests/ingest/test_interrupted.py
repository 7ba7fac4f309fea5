"""A load whose process is killed (``kill -9``): the next load finds it and cleans up after it.

``test_a_load_killed_with_sigkill_*`` kills a real ``qiao`` process with SIGKILL. The process runs
on its own QIAO_HOME with the embedded SQLite database (a subprocess cannot see the test database,
which lives inside the test's transaction); the parent reads that database with ``sqlite3``. The
other tests build the state a kill leaves (a ``RUNNING`` record whose lock nobody holds, files in
``lake/_staging/``) on the test database, so they run on PostgreSQL too.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.utils import timezone

from qiao.ingest.models import LoadRecord
from qiao.ingest.recovery import host_name, lock_dir
from qiao.ingest.services import ingest_file
from qiao.scoring.selectors import lake_count

from .conftest import ACCOUNTS, CUSTOMERS, ORG, PRODUCTS, TRANSACTIONS, write

# The child pauses at a point of the load (after the files are staged, or after the record has
# committed) and says so; the parent then kills it. Pausing is the only change to the load.
CHILD = r"""
import os, sys, time
from pathlib import Path
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "qiao.settings"
django.setup()
from qiao.ingest import lake, services
point, ready = sys.argv[2], Path(sys.argv[3])

def pause():
    ready.write_text(str(os.getpid()))
    time.sleep(600)

if point == "staged":
    stage = lake._stage
    def paused_stage(*args, **kwargs):
        result = stage(*args, **kwargs)
        pause()
        return result
    lake._stage = paused_stage
else:
    publish = lake.publish
    def paused_publish(*args, **kwargs):
        pause()
        return publish(*args, **kwargs)
    lake.publish = paused_publish
services.ingest_file(Path(sys.argv[1]))
"""


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "QIAO_DATABASE_URL"}
    env.update(QIAO_HOME=str(home), QIAO_DUCKDB_THREADS="1", QIAO_LANGUAGE="en")
    return env


@pytest.fixture(scope="module")
def loaded_home(tmp_path_factory) -> Path:
    """A QIAO_HOME with the reference data loaded by ``qiao ingest`` (copied by each test)."""
    home = tmp_path_factory.mktemp("home")
    folder = home / "extracts"
    folder.mkdir()
    for name, text in [
        ("org_units.csv", ORG),
        ("products.csv", PRODUCTS),
        ("customers.csv", CUSTOMERS),
        ("accounts.csv", ACCOUNTS),
    ]:
        write(folder, name, text)
    done = subprocess.run(
        [sys.executable, "-m", "qiao.cli", "ingest", str(folder)],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return home


def _records(home: Path) -> list[tuple[int, str, str, int, bool]]:
    with sqlite3.connect(home / "qiao.sqlite3") as con:
        rows = con.execute(
            "SELECT id, kind, status, loaded, finished_at IS NOT NULL FROM ingest_loadrecord "
            "WHERE kind = 'transactions' ORDER BY id"
        ).fetchall()
    return [(int(a), str(b), str(c), int(d), bool(e)) for a, b, c, d, e in rows]


def _lake_rows(home: Path) -> list[tuple[str, int]]:
    files = sorted((home / "lake" / "transactions").glob("month=*/*.parquet"))
    if not files:
        return []
    return duckdb.sql(
        "SELECT txn_id, load_id FROM read_parquet(?) ORDER BY txn_id",
        params=[[str(f) for f in files]],
    ).fetchall()


@pytest.mark.parametrize("point", ["staged", "committed"])
def test_a_load_killed_with_sigkill_is_found_and_cleaned_up_by_the_next(
    loaded_home: Path, tmp_path: Path, point: str
) -> None:
    home = tmp_path / "home"
    shutil.copytree(loaded_home, home)
    path = write(tmp_path, "transactions.csv", TRANSACTIONS)
    ready = tmp_path / "ready"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), point, str(ready)],
        env=_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=60) == -signal.SIGKILL
    if child.stderr:
        child.stderr.close()

    # What the kill left: the record not finished, the staged files not in the lake.
    [(killed_id, _kind, status, _loaded, finished)] = _records(home)
    staged = home / "lake" / "_staging" / f"transactions-{killed_id}"
    assert (status, finished) == (("RUNNING", False) if point == "staged" else ("LOADED", True))
    assert len(list(staged.glob("month=*/*.parquet"))) == 3
    assert _lake_rows(home) == []

    rerun = subprocess.run(
        [sys.executable, "-m", "qiao.cli", "ingest", str(path)],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    records = _records(home)
    assert not list((home / "lake" / "_staging").iterdir())
    if point == "staged":
        # Nothing of the killed load was kept; the rerun loaded everything.
        new_id = records[1][0]
        assert records == [
            (killed_id, "transactions", "INTERRUPTED", 0, True),
            (new_id, "transactions", "LOADED", 3, True),
        ]
        assert _lake_rows(home) == [("T1", new_id), ("T2", new_id), ("T3", new_id)]
        assert "unchanged 0" in rerun.stdout
    else:
        # The killed load had committed: its files were moved in, the rerun found them.
        assert [r[2] for r in records] == ["LOADED", "LOADED"]
        assert _lake_rows(home) == [("T1", killed_id), ("T2", killed_id), ("T3", killed_id)]
        assert "loaded 0" in rerun.stdout and "unchanged 3" in rerun.stdout


# ---------------------------------------------- the leftover state, built on the test database


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _left_by_a_kill(status: str, token: str) -> LoadRecord:
    """A record and staged files as a process killed mid-load leaves them: the lock file is
    still there (nobody removed it) but nobody holds it (the kernel released it)."""
    record = LoadRecord.objects.create(
        file_name="/data/transactions_killed.csv",
        kind="transactions",
        sha256="0" * 64,
        status=status,
        started_at=timezone.now(),
        finished_at=timezone.now() if status == LoadRecord.Status.LOADED else None,
        loaded=1 if status == LoadRecord.Status.LOADED else 0,
        host=host_name(),
        pid=_dead_pid(),
        lock_token=token,
    )
    lock_dir().mkdir(parents=True, exist_ok=True)
    (lock_dir() / f"{token}.lock").write_text(f"{record.pid} {record.host}\n")
    part = (
        settings.LAKE_DIR
        / "_staging"
        / f"transactions-{record.pk}"
        / "month=2026-01"
        / f"part-{record.pk:08d}-0.parquet"
    )
    part.parent.mkdir(parents=True)
    table = pa.table(
        {
            "txn_id": ["K1"],
            "account_no": ["6222000000000001"],
            "customer_no": ["P0000001"],
            "txn_time": pa.array([timezone.now()], pa.timestamp("us", tz="UTC")),
            "amount": pa.array([1], pa.decimal128(18, 2)),
            "direction": ["C"],
            "channel": ["ATM"],
            "txn_type": ["DEPOSIT"],
            "product_code": pa.array([None], pa.string()),
            "gain": pa.array([None], pa.decimal128(18, 2)),
            "cash": pa.array([None], pa.string()),
            "load_id": pa.array([record.pk], pa.int64()),
        }
    )
    pq.write_table(table, part)
    return record


@pytest.mark.django_db
def test_a_running_load_of_a_dead_process_is_marked_interrupted_and_its_files_removed(
    base: Path, tmp_path: Path
) -> None:
    record = _left_by_a_kill(LoadRecord.Status.RUNNING, "a" * 32)
    empty = settings.LAKE_DIR / "_staging" / "balances-999999"  # an empty folder, no record
    empty.mkdir()
    result = ingest_file(write(tmp_path, "transactions.csv", TRANSACTIONS))
    assert result.ok and result.loaded == 3
    record.refresh_from_db()
    assert record.status == LoadRecord.Status.INTERRUPTED and record.finished_at is not None
    assert f"pid {record.pid}" in record.message and "interrupted" in record.message
    assert not list((settings.LAKE_DIR / "_staging").iterdir())
    assert not (lock_dir() / f"{record.lock_token}.lock").exists()
    assert lake_count("transactions") == 3  # K1 was not kept


@pytest.mark.django_db
def test_a_committed_load_of_a_dead_process_has_its_files_moved_in(
    base: Path, tmp_path: Path
) -> None:
    record = _left_by_a_kill(LoadRecord.Status.LOADED, "b" * 32)
    result = ingest_file(write(tmp_path, "transactions.csv", TRANSACTIONS))
    assert result.ok
    record.refresh_from_db()
    assert record.status == LoadRecord.Status.LOADED
    assert not list((settings.LAKE_DIR / "_staging").iterdir())
    assert lake_count("transactions") == 4  # K1 and the three of the file


@pytest.mark.django_db
def test_a_load_whose_process_holds_its_lock_is_left_alone(base: Path, tmp_path: Path) -> None:
    record = _left_by_a_kill(LoadRecord.Status.RUNNING, "c" * 32)
    # Alive: its lock is held (flock locks conflict between two open files, even in one process).
    fd = os.open(lock_dir() / f"{record.lock_token}.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        result = ingest_file(write(tmp_path, "transactions.csv", TRANSACTIONS))
    finally:
        os.close(fd)
    assert result.ok
    record.refresh_from_db()
    assert record.status == LoadRecord.Status.RUNNING and record.finished_at is None
    assert (settings.LAKE_DIR / "_staging" / f"transactions-{record.pk}").is_dir()
    # Released (its process ended): the next load cleans up.
    ingest_file(write(tmp_path, "transactions.csv", TRANSACTIONS))
    record.refresh_from_db()
    assert record.status == LoadRecord.Status.INTERRUPTED
    assert not list((settings.LAKE_DIR / "_staging").iterdir())


@pytest.mark.django_db
def test_a_load_of_another_host_is_not_judged(base: Path, tmp_path: Path) -> None:
    record = _left_by_a_kill(LoadRecord.Status.RUNNING, "d" * 32)
    LoadRecord.objects.filter(pk=record.pk).update(host="other-host")
    ingest_file(write(tmp_path, "transactions.csv", TRANSACTIONS))
    record.refresh_from_db()
    assert record.status == LoadRecord.Status.RUNNING


@pytest.mark.django_db
def test_a_finished_load_leaves_no_lock_and_a_load_in_progress_is_running(
    base: Path, tmp_path: Path
) -> None:
    seen: list[tuple[str, int | None, bool]] = []

    def progress(name: str, fraction: float) -> None:
        if fraction < 1:
            record = LoadRecord.objects.latest("id")
            held = (lock_dir() / f"{record.lock_token}.lock").exists()
            seen.append((record.status, record.pid, held))

    result = ingest_file(write(tmp_path, "customers.csv", CUSTOMERS), progress=progress)
    assert result.ok
    assert seen and all(s == (LoadRecord.Status.RUNNING, os.getpid(), True) for s in seen)
    assert not list(lock_dir().iterdir())
    assert LoadRecord.objects.latest("id").status == LoadRecord.Status.LOADED
