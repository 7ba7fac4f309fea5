"""``qiao serve --workers N``: N waitress processes answering on one listening socket.

One Python process runs its Python on one core at a time (the GIL), however many waitress threads
it has; a request of the workbench is mostly Python. So ``qiao serve`` forks: the parent binds the
port once, forks N children that each run waitress on that inherited socket (waitress's documented
``sockets=`` parameter), and then only supervises (decision 0011):

- a child that dies is replaced (after a pause if it died young, so a child that cannot start does
  not make the parent spin);
- SIGTERM or SIGINT to the parent is passed to every child as SIGTERM; a child finishes the
  requests it is working on (waitress stops its threads) and exits; the parent waits for them;
- a child whose parent is gone (killed with SIGKILL) stops by itself within a second;
- nothing that holds a connection is opened before the fork: the caller closes Django's database
  connections first, and the lake's DuckDB database is opened per process (it forgets an
  inherited one, :mod:`qiao.customers.lake_views`).

The kernel hands each new connection to one of the processes waiting in ``accept`` on the shared
socket. A keep-alive connection then stays with the process that took it, so the processes keep
their connections' counts in shared memory (:class:`Board`) and one that holds more than one
connection over the fewest another live process holds stops accepting until that evens out
(decision 0011, "Balanced"): with twenty keep-alive users one process was seen doing four fifths
of the work while the other idled.
"""

from __future__ import annotations

import functools
import gc
import mmap
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any

#: A child that dies sooner than this after it started is replaced only after a pause.
YOUNG_SECONDS = 5.0
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
#: How long the parent waits for its children to finish their requests when stopping.
STOP_SECONDS = 30.0


#: A process whose count is older than this is not compared with (it died, or is being replaced).
STALE_SECONDS = 2.0
#: How often a process that stopped accepting looks again (its loop's poll timeout).
POLL_SECONDS = 0.1
#: A process accepts while it holds at most this many connections more than the fewest.
SLACK = 1

#: ``admit(open_connections) -> bool``: whether this process may accept a connection now.
Admit = Callable[[int], bool]


class Board:
    """How many connections each server process holds, in memory shared by the processes.

    An anonymous shared mapping made by the parent before it forks: each child writes its own
    slot (a count and when it was written) and reads the others'. A torn read of a slot written
    at that moment only makes one decision slightly wrong; the next poll corrects it."""

    _SLOT = struct.Struct("qd")  # connections, time.monotonic() when written

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._memory = mmap.mmap(-1, self._SLOT.size * slots)

    def clear(self, slot: int) -> None:
        self._SLOT.pack_into(self._memory, self._SLOT.size * slot, 0, 0.0)

    def admit(self, slot: int, connections: int) -> bool:
        """Write ``slot``'s count; True unless it holds more than :data:`SLACK` connections over
        the fewest another live process holds."""
        now = time.monotonic()
        self._SLOT.pack_into(self._memory, self._SLOT.size * slot, connections, now)
        fewest: int | None = None
        for other in range(self.slots):
            if other == slot:
                continue
            count, written = self._SLOT.unpack_from(self._memory, self._SLOT.size * other)
            if now - written < STALE_SECONDS and (fewest is None or count < fewest):
                fewest = count
        return fewest is None or connections <= fewest + SLACK


def serve_balanced(application: Any, sock: socket.socket, admit: Admit, **options: Any) -> None:
    """Waitress on the inherited listening socket ``sock`` (as ``waitress.serve(application,
    sockets=[sock], **options)``), accepting a new connection only while ``admit`` says so."""
    import logging

    from waitress.adjustments import Adjustments
    from waitress.server import TcpWSGIServer

    class Balanced(TcpWSGIServer):
        def readable(self) -> bool:
            # Waitress's own test first (it also closes idle connections), then the balance;
            # the map holds the listening socket and waitress's trigger besides the connections,
            # the same two in every process.
            return bool(super().readable()) and admit(len(self._map))

    logging.basicConfig()
    adj = Adjustments(sockets=[sock], **options)
    # Not accepting, a process must look again soon: its poll does not wake for the others.
    adj.asyncore_loop_timeout = POLL_SECONDS
    server = Balanced(
        application,
        map={},
        _sock=sock,
        adj=adj,
        bind_socket=False,
        sockinfo=(sock.family, sock.type, sock.proto, sock.getsockname()),
    )
    server.run()


def can_fork() -> bool:
    return hasattr(os, "fork")


def default_workers() -> int:
    """One process per core this process may run on (1 where processes cannot be forked)."""
    if not can_fork():
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS: no affinity call
        return max(1, os.cpu_count() or 1)


def bind(host: str, port: int, *, backlog: int = 1024) -> socket.socket:
    """The listening socket, bound once by the parent (every child inherits it)."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind(address)
    sock.listen(backlog)
    return sock


def _log(message: str) -> None:
    print(f"[qiao serve {os.getpid()}] {message}", file=sys.stderr, flush=True)


def _watch_parent(parent: int) -> None:
    """Stop this child when its parent is gone (it was killed and cannot forward a signal)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def _child(
    sock: socket.socket,
    serve_one: Callable[[socket.socket, Admit], None],
    admit: Admit,
    parent: int,
) -> None:
    """Run in a forked child; never returns (``os._exit``: the parent's clean-up is not ours)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        # Waitress ends its loop on SystemExit and lets its threads finish their requests; a
        # second signal (Ctrl-C reaches the parent and the children) must not cut that short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    status = 0
    try:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
        serve_one(sock, admit)
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 0
    except BaseException:
        traceback.print_exc()
        status = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def preload() -> int:
    """Do once in the parent what every process would otherwise do on its first requests, so the
    children start warm and share it copy-on-write: import every view (the URL configuration),
    load the three languages' catalogs and compile every template. Opens no connection.
    Returns how many templates were compiled."""
    from pathlib import Path

    from django.conf import settings
    from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines
    from django.urls import get_resolver
    from django.utils import translation

    get_resolver().url_patterns  # noqa: B018 (imports every view module)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Customers")
    compiled = 0
    for engine in engines.all():
        for folder in engine.template_dirs:  # type: ignore[attr-defined]
            root = Path(folder)
            for path in sorted(root.rglob("*.html")):
                try:
                    engine.get_template(path.relative_to(root).as_posix())
                except (TemplateDoesNotExist, TemplateSyntaxError):
                    continue  # another folder's template of the same name wins
                compiled += 1
    return compiled


def stop_on_sigterm() -> None:
    """One process: SIGTERM stops waitress as Ctrl-C does (its threads finish, the caller's
    clean-up runs: the campaign worker beside it is stopped, not left behind)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


def serve_forked(
    sock: socket.socket,
    serve_one: Callable[[socket.socket, Admit], None],
    *,
    workers: int,
    before_fork: Callable[[], None] = lambda: None,
) -> int:
    """Fork ``workers`` children running ``serve_one(sock, admit)`` and supervise them until
    SIGTERM or SIGINT; ``admit`` is the child's place on the shared :class:`Board` (pass it to
    :func:`serve_balanced`). ``before_fork`` runs before every fork (close connections there)."""
    parent = os.getpid()
    children: dict[int, tuple[float, int]] = {}  # pid -> (started (monotonic), slot)
    board = Board(workers)
    stopping = threading.Event()

    def spawn(slot: int) -> None:
        board.clear(slot)
        before_fork()
        # The children share the parent's objects copy-on-write; the collector must not write to
        # them (Python's gc.freeze advice for pre-fork servers). It also keeps the parent's final
        # collection at exit from walking them all (seconds on a 350 MB process).
        gc.freeze()
        # No stop signal between the fork and the child's own handlers, nor before the parent
        # knows the child's pid (it would not be told to stop).
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                _child(sock, serve_one, functools.partial(board.admit, slot), parent)
            children[pid] = (time.monotonic(), slot)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()
        for pid in list(children):
            _signal(pid, signal.SIGTERM)

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for slot in range(workers):
            spawn(slot)
        _log(f"{workers} server processes: {', '.join(map(str, children))}")
        while not stopping.is_set():
            for pid, (started, slot) in list(children.items()):
                status = _reap(pid)
                if status is None or stopping.is_set():
                    continue
                del children[pid]
                _log(f"server process {pid} ended ({_describe(status)}); starting another")
                if time.monotonic() - started < YOUNG_SECONDS:
                    stopping.wait(YOUNG_SECONDS)
                if not stopping.is_set():
                    spawn(slot)
            stopping.wait(0.5)
        deadline = time.monotonic() + STOP_SECONDS
        while children and time.monotonic() < deadline:
            for pid in list(children):
                if _reap(pid) is not None:
                    del children[pid]
            time.sleep(0.1)
        for pid in list(children):
            _log(f"server process {pid} did not stop in {STOP_SECONDS:.0f} s; killed")
            _signal(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        sock.close()
    return 0


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> int | None:
    """The child's wait status if it has ended, else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return 0
    return status if done else None


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
