"""First open of every page of every role, cold, in chromium (issue 13 item 7). Target: <= 1 s.

Generates the demo bank into ``--home`` (or reuses it when ``demo-logins.json`` is there), starts
``qiao serve`` on a loopback port, logs each demo login in once, then opens each page that role's
menu links to, plus a customer 360 and the search page, each in a fresh browser context (empty
HTTP cache, the session cookie only), and times it from navigation to the load event with
Playwright (Debian's /usr/bin/chromium, launched as tests/browser/conftest.py does). Prints one JSON
document: per role and page the milliseconds and whether it is within the target, the slowest,
and the load average before and after.
Exits with status 1 when a page is over the target.

    python bench/bench_pages.py [--home /tmp/qiao_pages] [--customers 2000] [--port 8765]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TARGET_MS = 1000.0


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "QIAO_HOME": str(home), "QIAO_DUCKDB_THREADS": "1"}


def ensure_demo(home: Path, customers: int) -> list[dict[str, str]]:
    logins = home / "demo-logins.json"
    if not logins.exists():
        home.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["qiao", "demo", "--customers", str(customers), "--no-serve"],
            env=_env(home),
            check=True,
        )
    return json.loads(logins.read_text(encoding="utf-8"))


def wait_up(base: str, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(base + "/login/", timeout=2):  # noqa: S310 (loopback)
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"qiao serve did not answer at {base}")


_TIMING = """() => { const n = performance.getEntriesByType('navigation')[0];
  const bytes = performance.getEntriesByType('resource').reduce((s, r) => s + r.transferSize, 0);
  return {server_ms: n.responseEnd - n.requestStart, dom_ms: n.domContentLoadedEventEnd,
          load_ms: n.loadEventEnd, bytes: bytes + n.transferSize}; }"""


def _timed_open(browser: Any, state: dict, url: str) -> dict[str, Any]:
    context = browser.new_context(storage_state=state)  # a cold HTTP cache
    page = context.new_page()
    started = time.perf_counter()
    response = page.goto(url, wait_until="load")
    elapsed = (time.perf_counter() - started) * 1000
    timing = page.evaluate(_TIMING)
    status = response.status if response else 0
    context.close()
    return {
        "ms": round(elapsed),
        "status": status,
        "ok": elapsed <= TARGET_MS,
        # of which: the server's answer to the page itself, and the bytes fetched
        "server_ms": round(timing["server_ms"]),
        "kb": round(timing["bytes"] / 1024),
    }


def bench_role(browser: Any, base: str, login: dict[str, str]) -> dict[str, Any]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + "/login/")
    page.fill("input[name=username]", login["username"])
    page.fill("input[name=password]", login["password"])
    page.click("form button[type=submit]")
    page.wait_for_load_state("load")
    hrefs = page.eval_on_selector_all(
        "nav a[href^='/'], main a[href^='/customers/']",
        "els => els.map(e => e.getAttribute('href'))",
    )
    # A customer 360 from the role's list, where it may see one.
    page.goto(base + "/customers/")
    hrefs += page.eval_on_selector_all(
        "#customer-table a[href^='/customers/']", "els => els.map(e => e.getAttribute('href'))"
    )
    state = context.storage_state()
    context.close()
    pages: list[str] = []
    customer = next((h for h in hrefs if re.fullmatch(r"/customers/[A-Z]\d+/", h)), None)
    for href in ["/", *hrefs, "/customers/search/", "/customers/"]:
        path = href.split("#")[0]
        if re.fullmatch(r"/customers/[A-Z]\d+/", path) or path in pages:
            continue
        if path.startswith(("/logout", "/admin", "/api/", "/static/")):
            continue
        pages.append(path)
    if customer:
        pages.append(customer)
    return {path: _timed_open(browser, state, base + path) for path in pages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path("/tmp/qiao_pages"))
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--workers", type=int, default=None, help="qiao serve --workers (default: the server's)"
    )
    args = parser.parse_args(argv)

    logins = ensure_demo(args.home, args.customers)
    load_before = os.getloadavg()
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(  # noqa: S603
        [
            "qiao",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(args.port),
            *(["--workers", str(args.workers)] if args.workers is not None else []),
        ],
        env=_env(args.home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(base)
        from playwright.sync_api import sync_playwright

        roles: dict[str, Any] = {}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            seen_roles: set[str] = set()
            for login in logins:
                role = login.get("role", login["username"])
                if role in seen_roles:  # one login per role
                    continue
                seen_roles.add(role)
                roles[f"{role} ({login['username']})"] = bench_role(browser, base, login)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)

    flat = [(r, p, t) for r, pages in roles.items() for p, t in pages.items()]
    slowest = max(flat, key=lambda x: x[2]["ms"]) if flat else None
    report = {
        "customers": args.customers,
        "target_ms": TARGET_MS,
        "workers": args.workers if args.workers is not None else "default (cores)",
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "pages": len(flat),
        "over_target": [f"{r} {p}" for r, p, t in flat if not t["ok"]],
        "slowest": {"role": slowest[0], "page": slowest[1], **slowest[2]} if slowest else None,
        "roles": roles,
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if not report["over_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
