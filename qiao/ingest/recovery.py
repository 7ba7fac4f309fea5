"""Loads whose process died (``kill -9``, the OOM killer, a power cut): found and cleaned up.

Each load holds an exclusive ``flock`` on its own lock file, ``QIAO_HOME/run/ingest/<token>.lock``,
from before its load record is written until after its lake files are published. The kernel
releases the lock when the process ends, however it ends, so "the lock can be taken" means "the
loading process is gone" — a test that a reused process id cannot fool. (When the lock file itself
is missing, the process id decides: no such process on this host means it is gone.)

Every load starts with :func:`recover`:

- a record still ``RUNNING`` whose process is gone becomes ``INTERRUPTED`` (finished now, with a
  message naming the process). Its master data was never committed (one transaction per file) and
  its lake files never left ``lake/_staging/``, so nothing of it was kept.
- ``lake/_staging/<kind>-<load id>`` folders whose load is not running are settled: a load whose
  record committed as ``LOADED`` died while moving its files into the lake, so they are moved in
  (the record is the commit point); any other is deleted.

A record of another host is left alone: this host cannot see that process or its lock.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from qiao.core.lake import STAGING, parse_staged
from qiao.ingest import lake as lake_io
from qiao.ingest.models import LoadRecord


def host_name() -> str:
    return socket.gethostname()[:255]


def lock_dir() -> Path:
    return settings.QIAO_HOME / "run" / "ingest"


@dataclass
class LoadLock:
    token: str
    pid: int
    host: str


@contextmanager
def load_lock() -> Iterator[LoadLock]:
    """This process's lock for one load, held until the block ends (or the process does)."""
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    path = folder / f"{token}.lock"
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{os.getpid()} {host_name()}\n".encode())
        yield LoadLock(token, os.getpid(), host_name())
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def process_gone(record: LoadRecord) -> bool:
    """Is the process that ran ``record`` over? (Only answerable on the host that ran it.)"""
    if record.host != host_name():
        return False
    if record.lock_token:
        path = lock_dir() / f"{record.lock_token}.lock"
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            if record.status != LoadRecord.Status.RUNNING:
                return True  # a load removes its lock file only when it is over
        else:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # held: the process is alive
            finally:
                os.close(fd)  # closing releases a lock we took
            return True
    return record.pid is None or not _pid_alive(record.pid)


def _interrupt(record: LoadRecord) -> bool:
    message = _(
        "interrupted: its process (pid %(pid)s on %(host)s) ended without finishing; nothing of "
        "this load was kept"
    ) % {"pid": record.pid, "host": record.host}
    # Only if it is still running: the process may have finished since it was read.
    marked = LoadRecord.objects.filter(pk=record.pk, status=LoadRecord.Status.RUNNING).update(
        status=LoadRecord.Status.INTERRUPTED, message=message, finished_at=timezone.now()
    )
    if marked and record.lock_token:
        (lock_dir() / f"{record.lock_token}.lock").unlink(missing_ok=True)
    return bool(marked)


def _settle_staging(lake: Path) -> list[Path]:
    staging = lake / STAGING
    if not staging.is_dir():
        return []
    settled = []
    for entry in sorted(staging.iterdir()):
        staged = parse_staged(entry.name)
        if staged is None or not entry.is_dir():
            continue  # not a load's folder: not ours to judge
        kind, load_id = staged
        record = LoadRecord.objects.filter(pk=load_id).first()
        if record is not None and (
            record.status == LoadRecord.Status.RUNNING or not process_gone(record)
        ):
            continue  # its load is running (or, just finished, still moving its files)
        if record is not None and record.status == LoadRecord.Status.LOADED:
            lake_io.publish(entry, lake, kind)  # committed: finish moving it in
        else:
            shutil.rmtree(entry, ignore_errors=True)
        settled.append(entry)
    return settled


def recover(lake: Path | None = None) -> list[LoadRecord]:
    """Mark the loads of dead processes interrupted and settle leftover staging folders.

    Returns the records marked interrupted.
    """
    lake = settings.LAKE_DIR if lake is None else lake
    interrupted = []
    for record in LoadRecord.objects.filter(status=LoadRecord.Status.RUNNING):
        if process_gone(record) and _interrupt(record):
            interrupted.append(record)
    _settle_staging(lake)
    return interrupted
