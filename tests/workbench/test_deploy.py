"""Deployment behind a TLS-terminating proxy: the real ``qiao serve`` (waitress) in production mode.

The proxy is played by the test itself, on the loopback address: it sends ``X-Forwarded-Proto:
https`` as nginx or HAProxy would. Trusted (``QIAO_TRUSTED_PROXY=127.0.0.1``), the request counts
as HTTPS (no redirect, HSTS sent); untrusted, waitress drops the header and Qiao redirects to https.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

HSTS = "max-age=31536000; includeSubDomains; preload"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # The browser tests allow sync database calls next to Playwright's event loop; that
        # switch is for tests only and must not reach a production process.
        if not k.startswith("QIAO_")
        and k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    # Its own SQLite file: the server never touches the test database.
    env.update(
        QIAO_HOME=str(home),
        QIAO_PRODUCTION="1",
        QIAO_SECRET_KEY=secrets.token_urlsafe(60),
        QIAO_LANGUAGE="en",
        QIAO_DUCKDB_THREADS="1",
    )
    env.update(extra)
    return env


@contextmanager
def _serving(home: Path, *options: str, **extra: str) -> Iterator[int]:
    with _server(home, *options, **extra) as (port, _process):
        yield port


@contextmanager
def _server(
    home: Path, *options: str, **extra: str
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = _free_port()
    command = ["serve", "--host", "127.0.0.1", "--port", str(port), *options]
    process = subprocess.Popen(
        [sys.executable, "-m", "qiao.cli", *command],
        env=_env(home, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                out = process.stdout.read().decode() if process.stdout else ""
                raise AssertionError(f"qiao serve exited with {process.returncode}:\n{out}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("qiao serve did not start in 120 s") from None
                time.sleep(0.2)
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def _get(port: int, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}", **headers})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deploy")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_trusted_proxy_https_is_served_with_hsts(home, workers):
    # One process, or several forked ones on the same socket (decision 0011): the same answers.
    with _serving(home, "--workers", workers, QIAO_TRUSTED_PROXY="127.0.0.1") as port:
        through_tls = _get(port, "/login/", {"X-Forwarded-Proto": "https"})
        assert through_tls.status == 200, through_tls.getheader("Location")
        assert through_tls.getheader("Strict-Transport-Security") == HSTS
        # The session and CSRF cookies are sent only over HTTPS.
        assert "Secure" in (through_tls.getheader("Set-Cookie") or "")
        # Plain HTTP through the same proxy is still sent to https, without HSTS.
        plain = _get(port, "/login/", {"X-Forwarded-Proto": "http"})
        assert plain.status == 301
        assert plain.getheader("Location") == f"https://127.0.0.1:{port}/login/"
        assert plain.getheader("Strict-Transport-Security") is None
        # The API too.
        api = _get(port, "/api/openapi.json", {"X-Forwarded-Proto": "https"})
        assert api.status == 200
        assert api.getheader("Strict-Transport-Security") == HSTS


@pytest.mark.parametrize("workers", ["1", "2"])
def test_without_a_trusted_proxy_the_header_is_ignored(home, workers):
    with _serving(home, "--workers", workers) as port:
        spoofed = _get(port, "/login/", {"X-Forwarded-Proto": "https"})
        assert spoofed.status == 301
        assert spoofed.getheader("Location") == f"https://127.0.0.1:{port}/login/"
        assert spoofed.getheader("Strict-Transport-Security") is None


def test_a_proxy_at_another_address_is_not_trusted(home):
    # Only the named proxy may say "https": a client talking to waitress directly may not.
    with _serving(home, QIAO_TRUSTED_PROXY="127.0.0.2") as port:
        spoofed = _get(port, "/login/", {"X-Forwarded-Proto": "https"})
        assert spoofed.status == 301
        assert spoofed.getheader("Strict-Transport-Security") is None


def test_production_serves_hashed_compressed_assets_cached_for_a_year(home):
    # Decision 0008: `qiao serve` collects the assets; pages name them by content hash.
    with _serving(home, QIAO_TRUSTED_PROXY="127.0.0.1") as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request(
            "GET", "/login/", headers={"Host": f"127.0.0.1:{port}", "X-Forwarded-Proto": "https"}
        )
        page = connection.getresponse().read().decode()
        connection.close()
        css = re.search(r'href="(/static/bootstrap/css/bootstrap\.min\.[0-9a-f]{12}\.css)"', page)
        assert css, page[:2000]
        asset = _get(port, css.group(1), {"X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"})
        assert asset.status == 200
        assert asset.getheader("Content-Encoding") == "gzip"
        assert "immutable" in (asset.getheader("Cache-Control") or "")


def _check_deploy(home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qiao.cli", "check", "--deploy"],
        env=_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_warns_without_a_trusted_proxy(home):
    bare = _check_deploy(home)
    assert bare.returncode == 1
    assert "qiao.W001" in bare.stderr and "QIAO_TRUSTED_PROXY" in bare.stderr
    configured = _check_deploy(home, QIAO_TRUSTED_PROXY="10.0.0.5")
    assert configured.returncode == 0, configured.stderr
    assert "no issues" in configured.stdout


def test_check_deploy_refuses_a_malformed_trusted_proxy(home):
    bad = _check_deploy(home, QIAO_TRUSTED_PROXY="proxy.bank.internal")
    assert bad.returncode == 1
    assert "qiao.E001" in bad.stderr


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()}


def _wait_for(condition: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_workers_replace_a_dead_process_and_stop_together(home):
    # Decision 0011: the parent binds, forks, supervises; a killed server process is replaced,
    # and SIGTERM to the parent stops every process (no campaign worker here: --no-worker).
    with _server(home, "--workers", "2", "--no-worker", QIAO_TRUSTED_PROXY="127.0.0.1") as (
        port,
        process,
    ):
        _wait_for(lambda: len(_children(process.pid)) == 2)
        first = _children(process.pid)
        for _ in range(8):
            assert _get(port, "/login/", {"X-Forwarded-Proto": "https"}).status == 200
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        _wait_for(lambda: len(_children(process.pid) - first) == 1)
        assert victim not in _children(process.pid)
        for _ in range(8):
            assert _get(port, "/login/", {"X-Forwarded-Proto": "https"}).status == 200
        last = _children(process.pid)
        process.terminate()
        assert process.wait(timeout=40) == 0
        # The parent waited for its children: none is left running (nor as a zombie).
        assert not [pid for pid in last if Path(f"/proc/{pid}").exists()]
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


def _established(pid: int, port: int) -> int:
    """How many accepted connections on ``port`` process ``pid`` holds open (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01" and fields[9] in inodes:  # ESTABLISHED
                count += 1
    return count


def test_keep_alive_connections_are_spread_over_the_processes(home):
    # Decision 0011, "Balanced": a keep-alive connection stays with the process that accepted
    # it, so a process holding more than one connection over the other stops accepting. Sixteen
    # clients connect one after the other and keep their connections: each process holds half
    # (give or take the slack), not whichever woke first.
    with _server(home, "--workers", "2", "--no-worker", QIAO_TRUSTED_PROXY="127.0.0.1") as (
        port,
        process,
    ):
        _wait_for(lambda: len(_children(process.pid)) == 2)
        clients = []
        try:
            for _ in range(16):
                client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                client.request(
                    "GET",
                    "/login/",
                    headers={"Host": f"127.0.0.1:{port}", "X-Forwarded-Proto": "https"},
                )
                response = client.getresponse()
                response.read()
                assert response.status == 200
                clients.append(client)
            counts = sorted(_established(pid, port) for pid in _children(process.pid))
            assert sum(counts) == 16, counts
            assert counts[1] - counts[0] <= 2, counts
        finally:
            for client in clients:
                client.close()
