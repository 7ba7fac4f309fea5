"""``qiao demo``: a generated bank, loaded with the same ingest code, scored and served."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _


def _say(message: str) -> None:
    print(message, flush=True)


def _reset_if_other_bank(home: Path, marker: dict[str, Any]) -> None:
    """A demo home holds one generated bank; a different one (other seed, size or day) starts over."""
    marker_file = home / "demo.json"
    if not marker_file.exists():
        return
    if json.loads(marker_file.read_text(encoding="utf-8")) == marker:
        return
    if connection.vendor != "sqlite":
        raise SystemExit(
            "error: this database holds another demo bank; use an empty database or the same "
            "--customers/--months/--seed"
        )
    _say(_("A different demo bank is here; starting over."))
    connection.close()
    for name in ("qiao.sqlite3", "qiao.sqlite3-wal", "qiao.sqlite3-shm"):
        (home / name).unlink(missing_ok=True)
    shutil.rmtree(home / "lake", ignore_errors=True)
    shutil.rmtree(home / "demo-extracts", ignore_errors=True)
    marker_file.unlink()


def _set_logins(logins: list[dict[str, str]]) -> None:
    from django.contrib.auth.hashers import make_password

    from qiao.org.models import Role, Staff

    with transaction.atomic():
        for login in logins:
            staff = Staff.objects.filter(username=login["username"]).first()
            if staff is None:
                continue
            staff.password = make_password(login["password"])
            if staff.role == Role.ADMIN:
                staff.is_staff = staff.is_superuser = True
            elif staff.role in (Role.ANALYST, Role.AUDITOR):
                staff.is_staff = True  # the analyst edits tier rules, the auditor reads the trail
            staff.save(update_fields=["password", "is_staff", "is_superuser"])


def _shelf_history(as_of: dt.date) -> None:
    """The rate history's earlier point: where a demo product's rate changed in the last year,
    its rate of a year ago (the load recorded today's). The rate change is news for the work list
    (docs/suitability.md, "The shelf")."""
    from qiao.demo.pools import PRODUCTS
    from qiao.products.models import Product, ProductRate, RateSource

    earlier = {p.code: Decimal(p.earlier_rate) for p in PRODUCTS if p.earlier_rate}
    ids = dict(Product.objects.filter(code__in=list(earlier)).values_list("code", "pk"))
    year_ago = as_of - dt.timedelta(days=365)
    for code, rate in earlier.items():
        if code in ids:
            ProductRate.objects.get_or_create(
                product_id=ids[code],
                effective=year_ago,
                source=RateSource.LOAD,
                defaults={"rate": rate},
            )


def run_demo(
    *,
    customers: int,
    months: int,
    seed: int,
    serve: bool,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> int:
    from qiao.core.database import database_migrate
    from qiao.demo.generate import generate_bank
    from qiao.engagement.worklist import worklist_generate
    from qiao.ingest.services import ingest_paths
    from qiao.scoring.services import score_run

    started = time.perf_counter()
    home: Path = settings.QIAO_HOME
    home.mkdir(parents=True, exist_ok=True)
    as_of = timezone.localdate() - dt.timedelta(days=1)
    marker = {"customers": customers, "months": months, "seed": seed, "as_of": as_of.isoformat()}
    _reset_if_other_bank(home, marker)
    database_migrate()

    out = home / "demo-extracts"
    _say(
        _("Generating a bank of %(customers)s customers over %(months)d months (seed %(seed)d) …")
        % {"customers": f"{customers:,}", "months": months, "seed": seed}
    )
    summary = generate_bank(out, customers=customers, months=months, seed=seed, as_of=as_of)
    _say(
        "  "
        + _("extracts in %(folder)s") % {"folder": out}
        + f"  ({time.perf_counter() - started:.1f} s)"
    )

    _say(_("Loading the extracts …"))
    results = ingest_paths([out])
    for result in results:
        _say("  " + result.summary())
    if not all(r.ok for r in results):
        _say(_("error: a demo extract was refused; see above"))
        return 2
    logins: list[dict[str, str]] = summary["logins"]
    _set_logins(logins)
    (home / "demo.json").write_text(json.dumps(marker), encoding="utf-8")
    logins_file = home / "demo-logins.json"
    logins_file.write_text(json.dumps(logins, ensure_ascii=False, indent=2), encoding="utf-8")
    logins_file.chmod(0o600)

    _shelf_history(as_of)

    _say(_("Scoring (tiers, contribution, lifetime value, risk style, attrition) …"))
    run = score_run(as_of=as_of)
    _say(
        "  "
        + _("scored %(n)s customers as of %(date)s")
        % {"n": f"{run.customers:,}", "date": run.as_of}
    )

    # Key accounts proposed by the rules, and the early warning: the risk page has its proposals.
    from qiao.risk.keyaccounts import key_accounts_designate
    from qiao.risk.warnings import warnings_evaluate

    _say(_("Key accounts and early warning …"))
    _say("  " + json.dumps(key_accounts_designate(year=as_of.year), default=str))
    _say("  " + json.dumps(warnings_evaluate(day=as_of), default=str))

    # A finished campaign with its delivery report, the accounts it sold and its measured
    # return (docs/campaigns.md): the campaigns page has numbers from the start.
    from qiao.demo.campaign import demo_campaign

    _say(_("A finished campaign, measured …"))
    _say("  " + json.dumps(demo_campaign(as_of=as_of, folder=home / "demo-campaign", seed=seed)))

    # Satisfaction surveys (issue 17): three months of contacts, the nightly invitations, the
    # answers and seed 002's e-banking questionnaires, loaded as files (docs/reports.md).
    from qiao.demo.surveys import demo_surveys

    _say(_("Satisfaction surveys: invitations and answers …"))
    _say("  " + json.dumps(demo_surveys(as_of=as_of, folder=home / "demo-surveys", seed=seed)))

    _say(_("Building the work lists …"))
    _say("  " + json.dumps(worklist_generate(day=as_of + dt.timedelta(days=1)), default=str))

    _say(_("Demo ready in %(seconds).1f s.") % {"seconds": time.perf_counter() - started})
    _say(_("Logins are in %(file)s; for example:") % {"file": logins_file})
    from qiao.org.models import Role

    # The first demo login of these roles is printed (the rest are in the logins file).
    shown_roles = {
        Role.CM,
        Role.OUTLET_HEAD,
        Role.AUDITOR,
        Role.ANALYST,
        Role.MARKETING,
        Role.RISK_MANAGER,  # the risk page: last night's warnings to confirm
    }
    shown = set()
    for login in logins:
        if login["role"] not in shown and login["role"] in shown_roles:
            shown.add(login["role"])
            _say(f"  {login['role']:<12} {login['username']:<10} {login['password']}")
    if not serve:
        return 0
    from waitress import serve as waitress_serve

    from qiao.wsgi import application

    _say(_("Qiao is serving at %(url)s  (Ctrl-C to stop)") % {"url": f"http://{host}:{port}/"})
    from qiao.campaigns.tasks import start_worker

    # Campaign sends run in the background: a worker beside the server (docs/campaigns.md).
    worker = start_worker()
    try:
        waitress_serve(application, host=host, port=port, threads=8, ident="qiao")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return 0
