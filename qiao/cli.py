"""The ``qiao`` command: one entry point for the demo, loads, scoring, serving and checks."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qiao.core.database import database_migrate

if TYPE_CHECKING:
    from django.apps import AppConfig
    from django.core.checks import CheckMessage


def _django(*, production: bool = False) -> None:
    if production:
        os.environ["QIAO_PRODUCTION"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiao.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core import checks
    from django.utils import translation

    # `qiao serve` is the server these settings are for: its proxy settings are checked with the
    # rest of the deployment (`qiao check --deploy`).
    checks.register(_check_trusted_proxy, checks.Tags.security, deploy=True)
    translation.activate(_language() or settings.LANGUAGE_CODE)


#: The proxy headers waitress understands (waitress.proxy_headers).
_PROXY_HEADERS = {
    "x-forwarded-proto",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-by",
    "forwarded",
}


def _check_trusted_proxy(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Production behind a TLS proxy needs the proxy named, or every request looks like HTTP."""
    import ipaddress

    from django.conf import settings
    from django.core import checks
    from django.utils.translation import gettext as _

    proxy = getattr(settings, "TRUSTED_PROXY", "")
    headers = set(getattr(settings, "TRUSTED_PROXY_HEADERS", []))
    found: list[CheckMessage] = []
    if proxy and proxy != "*":
        try:
            ipaddress.ip_address(proxy)
        except ValueError:
            found.append(
                checks.Error(
                    _("QIAO_TRUSTED_PROXY must be one IP address (or *), not %(value)r.")
                    % {"value": proxy},
                    id="qiao.E001",
                )
            )
    unknown = headers - _PROXY_HEADERS
    if proxy and unknown:
        found.append(
            checks.Error(
                _("QIAO_TRUSTED_PROXY_HEADERS names unknown headers: %(names)s.")
                % {"names": ", ".join(sorted(unknown))},
                id="qiao.E002",
            )
        )
    if proxy and "forwarded" in headers and len(headers) > 1:
        found.append(
            checks.Error(
                _("QIAO_TRUSTED_PROXY_HEADERS: 'forwarded' cannot be combined with X-Forwarded-*."),
                id="qiao.E002",
            )
        )
    if settings.SESSION_COOKIE_SECURE and not proxy:
        found.append(
            checks.Warning(
                _(
                    "Production without QIAO_TRUSTED_PROXY: qiao serve speaks plain HTTP and drops "
                    "X-Forwarded-Proto from an untrusted peer, so behind a TLS proxy every request "
                    "looks like HTTP (redirected to https forever, no HSTS)."
                ),
                hint=_("Set QIAO_TRUSTED_PROXY to the address of the TLS-terminating proxy."),
                id="qiao.W001",
            )
        )
    if (
        proxy
        and settings.SESSION_COOKIE_SECURE
        and "x-forwarded-proto" not in headers
        and ("forwarded" not in headers)
    ):
        found.append(
            checks.Warning(
                _(
                    "QIAO_TRUSTED_PROXY_HEADERS does not include x-forwarded-proto: HTTPS "
                    "requests through the proxy look like HTTP."
                ),
                id="qiao.W002",
            )
        )
    return found


def _language() -> str | None:
    """The operator's language: ``QIAO_LANGUAGE``, else the locale (``LANG``/``LC_ALL``)."""
    explicit = os.environ.get("QIAO_LANGUAGE")
    if explicit:
        return explicit
    locale = (os.environ.get("LC_ALL") or os.environ.get("LANG") or "").lower()
    if locale.startswith(("zh_tw", "zh_hk", "zh_mo", "zh-hant")):
        return "zh-hant"
    if locale.startswith("zh"):
        return "zh-hans"
    if locale.startswith("en"):
        return "en"
    return None


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


def cmd_ingest(args: argparse.Namespace) -> int:
    _django()
    database_migrate()
    from rich.console import Console

    from qiao.ingest.services import expand_paths, ingest_file

    console = Console(stderr=True)
    paths = [Path(p) for p in args.paths]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"error: {missing[0]}: no such file or folder", file=sys.stderr)
        return 2
    files = expand_paths(paths)
    if not files:
        print("error: no extract files found in " + ", ".join(map(str, paths)), file=sys.stderr)
        return 2
    status = 0
    with console.status("") as spinner:
        for path in files:
            spinner.update(f"loading {path.name} …")
            result = ingest_file(path)
            print(result.summary())
            if not result.ok:
                status = 2
            elif result.rejected and status == 0:
                status = 1
    return status


def cmd_status(args: argparse.Namespace) -> int:
    _django()
    database_migrate()
    from qiao.scoring.selectors import system_status

    status = system_status()
    if args.json:
        print(json.dumps(status, ensure_ascii=False, default=str, indent=2))
    else:
        for key, value in status.items():
            print(f"{key:>20}: {value}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _django()
    database_migrate()
    from django.conf import settings
    from waitress import serve

    from qiao.web import serving

    workers = args.workers if args.workers is not None else serving.default_workers()
    if workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    if workers > 1 and not serving.can_fork():
        print("error: --workers above 1 needs fork (not on this platform)", file=sys.stderr)
        return 2
    if settings.PRODUCTION:
        # Hashed, precompressed copies of the assets in QIAO_HOME/static (decision 0008).
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)

    from qiao.wsgi import application

    proxy: dict[str, object] = {}
    if settings.TRUSTED_PROXY:
        # Waitress rewrites the scheme (and the client address) from these headers when, and only
        # when, they come from the trusted proxy; it removes them from any other peer's request.
        proxy = {
            "trusted_proxy": settings.TRUSTED_PROXY,
            "trusted_proxy_headers": " ".join(settings.TRUSTED_PROXY_HEADERS),
        }
    options: dict[str, object] = {
        "threads": args.threads,
        "ident": "qiao",
        "clear_untrusted_proxy_headers": True,
        **proxy,
    }
    sock = serving.bind(args.host, args.port) if workers > 1 else None
    processes = f", {workers} processes" if workers > 1 else ""
    print(
        f"Qiao is serving at http://{args.host}:{args.port}/  (Ctrl-C to stop{processes})",
        flush=True,
    )
    from qiao.campaigns.tasks import start_worker

    worker = start_worker() if not args.no_worker else None
    try:
        if sock is None:
            serving.stop_on_sigterm()
            serve(application, host=args.host, port=args.port, **options)
        else:
            from django.db import connections

            # Several processes (decision 0011): the parent binds and supervises; no database
            # connection may cross the fork (the migration check above opened one). What every
            # process would do on its first requests is done once, before the fork.
            serving.preload()
            serving.serve_forked(
                sock,
                lambda s, admit: serving.serve_balanced(application, s, admit, **options),
                workers=workers,
                before_fork=connections.close_all,
            )
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the background tasks (campaign sends): first queue again whatever a killed worker
    left unfinished, then Django Tasks' database worker (django-tasks-db's ``db_worker``)."""
    _django()
    database_migrate()
    from django.core.management import call_command

    from qiao.campaigns.tasks import resume_interrupted

    resumed = resume_interrupted()
    if resumed:
        print(f"resumed {resumed} unfinished campaign step(s)", flush=True)
    options: dict[str, object] = {"interval": args.interval, "reload": False}
    if args.batch:
        options["batch"] = True
    call_command("db_worker", **options)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    _django()
    database_migrate()
    from qiao.scoring.services import score_run

    run = score_run(
        as_of=args.as_of,
        engine=args.engine,
        progress=_progress_printer(),
        partition_size=args.partitions,
        spark_master=args.spark_master,
    )
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
    print(
        f"scored {run.customers:,} customers as of {run.as_of} on {run.engine} in {seconds:.1f} s"
    )
    if run.ok:
        # After the scoring: standing campaigns' cohorts; live campaigns measured (issue 15).
        from qiao.campaigns.triggers import campaigns_nightly

        print(json.dumps({"campaigns": campaigns_nightly()}, default=str))
        # The growth and churn reports' monthly table, ready before the first reader.
        from qiao.reports.growth import figures_prepare

        print(json.dumps({"reports": figures_prepare()}, default=str))
    return 0 if run.ok else 1


def cmd_worklist(args: argparse.Namespace) -> int:
    _django()
    database_migrate()
    from qiao.engagement.worklist import worklist_generate

    summary = worklist_generate(day=args.date)
    print(json.dumps(summary, ensure_ascii=False, default=str))
    # Satisfaction surveys (docs/reports.md): invitations after the day before's contacts and
    # complaint closures, on consented channels only.
    from django.utils import timezone as _tz

    from qiao.surveys.invite import surveys_invite

    served = (args.date or _tz.localdate()) - dt.timedelta(days=1)
    print(json.dumps({"surveys": surveys_invite(day=served)}, ensure_ascii=False, default=str))
    return 0


def cmd_risk(args: argparse.Namespace) -> int:
    """``qiao risk warnings`` (nightly, after the scoring and the credit loads, before the work
    list) and ``qiao risk keyaccounts`` (the designation rules; docs/keyaccounts.md)."""
    _django()
    database_migrate()
    if args.risk_command == "warnings":
        from qiao.risk.warnings import warnings_evaluate

        print(json.dumps(warnings_evaluate(day=args.date), ensure_ascii=False, default=str))
        return 0
    from django.utils import timezone

    from qiao.risk.keyaccounts import key_accounts_designate

    year = args.year or (args.date or timezone.localdate()).year
    print(json.dumps(key_accounts_designate(year=year), ensure_ascii=False, default=str))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    _django()
    from qiao.demo.run import run_demo

    return run_demo(
        customers=args.customers,
        months=args.months,
        seed=args.seed,
        serve=not args.no_serve,
        host=args.host,
        port=args.port,
    )


def cmd_check(args: argparse.Namespace) -> int:
    _django(production=args.deploy)
    from django.core.management import call_command

    try:
        call_command("check", deploy=args.deploy, fail_level="WARNING")
    except Exception as exc:  # SystemCheckError carries the full report
        print(exc, file=sys.stderr)
        return 1
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    _django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["qiao manage", *args.rest])
    return 0


def _progress_printer():
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description:<28}"), BarColumn(), TimeElapsedColumn(), transient=True
    )
    state: dict[str, int] = {}

    def report(step: str, fraction: float) -> None:
        if not bar.live.is_started:
            bar.start()
        if "task" not in state:
            state["task"] = bar.add_task(step, total=1.0)
        bar.update(state["task"], description=step, completed=fraction)
        if fraction >= 1.0 and step == "done":
            bar.stop()

    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qiao", description="Qiao (桥): the CRM for customer managers."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="generate a synthetic bank, load and score it, and serve it")
    p.add_argument("--customers", type=int, default=20000)
    p.add_argument("--months", type=int, default=24)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-serve", action="store_true", help="stop after loading and scoring")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("ingest", help="load extract files (files or folders)")
    p.add_argument("paths", nargs="+")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("status", help="what is loaded and scored")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("serve", help="serve the web application")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--threads", type=int, default=8, help="threads per server process")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes on the one port (default: one per core; 1 where fork is missing)",
    )
    p.add_argument("--no-worker", action="store_true", help="do not run `qiao worker` beside it")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run background tasks (campaign sends)")
    p.add_argument("--batch", action="store_true", help="run what is queued, then stop")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("score", help="the nightly scoring: features, tiers, models, events")
    p.add_argument("--as-of", type=_date, default=None)
    p.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    p.add_argument(
        "--partitions",
        type=int,
        default=None,
        metavar="SIZE",
        help="customers per partition (default QIAO_SCORE_PARTITION_SIZE; 0: the whole bank at once)",
    )
    p.add_argument(
        "--spark-master",
        default=None,
        metavar="URL",
        help="the Spark cluster with --engine spark (default QIAO_SPARK_MASTER, local[2])",
    )
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("worklist", help="build every customer manager's work list for a day")
    p.add_argument("--date", type=_date, default=None)
    p.set_defaults(func=cmd_worklist)

    p = sub.add_parser("risk", help="key accounts and early warning (docs/keyaccounts.md)")
    risk = p.add_subparsers(dest="risk_command", required=True)
    q = risk.add_parser("warnings", help="evaluate the early-warning rules; file proposals")
    q.add_argument("--date", type=_date, default=None)
    q.set_defaults(func=cmd_risk)
    q = risk.add_parser("keyaccounts", help="propose key accounts by the designation rules")
    q.add_argument("--year", type=int, default=None)
    q.add_argument("--date", type=_date, default=None)
    q.set_defaults(func=cmd_risk)

    p = sub.add_parser("check", help="Django's system checks (--deploy: on production settings)")
    p.add_argument("--deploy", action="store_true")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("manage", help="run a Django management command", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)

    from qiao.analytics.clv.cli import register

    register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
