"""Browser tests drive Debian's chromium (/usr/bin/chromium) through Playwright's sync API.

The workbench fixtures (the small bank and its personas) are shared with tests/workbench.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.workbench.conftest import (  # noqa: F401  (fixtures)
    _fast_hasher,
    _static_root,
    bank,
    lake,
)


def _one_request_at_a_time() -> None:
    """On in-memory SQLite the live server's thread shares the test's one connection; Django's
    threaded server then lets two requests interleave on it — a page and the previous page's
    late htmx calls — and a savepoint of one vanishes under the other ("no such savepoint",
    seen once in CI on Today). There the server handles one request at a time (Django sends
    ``Connection: close`` from a server without threads, so a browser's keep-alive cannot hold
    it); on PostgreSQL each request thread has its own connection and the server stays
    threaded. pytest-django imports ``LiveServerThread`` from this module when it starts one."""
    import django.test.testcases as testcases
    from django.core.servers.basehttp import WSGIServer

    class OneRequestAtATime(testcases.LiveServerThread):
        def _create_server(self, connections_override: Any = None) -> Any:
            if not connections_override:
                return super()._create_server(connections_override)
            return WSGIServer(
                (self.host, self.port),
                testcases.QuietWSGIRequestHandler,
                allow_reuse_address=False,
            )

    testcases.LiveServerThread = OneRequestAtATime  # type: ignore[misc]


_one_request_at_a_time()

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test (set-up
    # and assertions, never concurrent with a page) are safe here.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
