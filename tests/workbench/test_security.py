"""Log-in lock-out, session timeout, headers on customer pages, Django's deploy checks."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from qiao.audit.models import AuditEvent
from tests.workbench.conftest import PASSWORD


def _login(client: Client, password: str):
    return client.post("/login/", {"username": "cm_owner", "password": password})


def test_login_page_locks_out_after_five_failures(bank):
    client = Client()
    for _ in range(4):
        response = _login(client, "not the password")
        assert response.status_code == 200  # the form again, with its error
    assert _login(client, "not the password").status_code == 429  # the fifth failure locks
    locked = _login(client, PASSWORD)
    assert locked.status_code in (403, 429)
    assert "Too many failed log-in attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="LOGIN_FAILED", username="cm_owner").count() >= 5
    assert not AuditEvent.objects.filter(action="LOGIN").exists()


def test_login_works_and_is_audited(bank):
    client = Client()
    response = _login(client, PASSWORD)
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="LOGIN").username == "cm_owner"
    assert client.get("/customers/").status_code == 200


def test_session_ends_after_idle_time(bank, settings):
    assert settings.SESSION_COOKIE_AGE == 15 * 60
    client = Client()
    _login(client, PASSWORD)
    client.get("/")
    session = Session.objects.get()
    # Renewed on every request: it expires 15 minutes after the last one.
    left = session.expire_date - timezone.now()
    assert dt.timedelta(minutes=14) < left <= dt.timedelta(minutes=15)
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/customers/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_an_active_session_is_renewed_at_most_once_a_minute(bank, settings):
    from qiao.web.middleware import RENEWED_KEY, SESSION_RENEW_SECONDS

    client = Client()
    _login(client, PASSWORD)
    client.get("/")
    first = Session.objects.get()
    # A second request within the minute writes nothing: the expiry stays where it was.
    client.get("/customers/")
    assert Session.objects.get().expire_date == first.expire_date
    # A minute on, the next request moves the idle expiry again (15 minutes from now).
    store = client.session
    store[RENEWED_KEY] = int(store[RENEWED_KEY]) - SESSION_RENEW_SECONDS
    store.save()
    Session.objects.update(expire_date=timezone.now() + dt.timedelta(minutes=5))
    client.get("/customers/")
    left = Session.objects.get().expire_date - timezone.now()
    assert dt.timedelta(minutes=14) < left <= dt.timedelta(minutes=15)
    # A request without a session never creates one.
    Session.objects.all().delete()
    assert Client().get("/login/").status_code == 200
    assert not Session.objects.exists()


def test_customer_pages_are_not_cached_and_carry_a_csp(bank, login):
    client = login("cm_owner")
    for url in ("/", "/customers/", f"/customers/{bank.x.customer_no}/", "/api/docs"):
        response = client.get(url)
        assert response["Cache-Control"] == "no-store", url
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
    page = client.get(f"/customers/{bank.x.customer_no}/").content.decode()
    # No inline script: only JSON data blocks and files from /static/.
    for chunk in page.split("<script")[1:]:
        head = chunk.split(">", 1)[0]
        assert 'type="application/json"' in head or 'src="/static/' in head, head


def test_deploy_checks_are_clean(tmp_path):
    env = {
        **os.environ,
        "QIAO_PRODUCTION": "1",
        "QIAO_HOME": str(tmp_path),
        "QIAO_SECRET_KEY": "x" * 20 + "-production-secret-key-for-the-deploy-check-0123456789",
        # Production runs behind a TLS proxy (without one: qiao.W001, tests/workbench/test_deploy.py).
        "QIAO_TRUSTED_PROXY": "127.0.0.1",
    }
    env.pop("QIAO_DATABASE_URL", None)
    # The browser tests allow sync database calls next to Playwright's event loop; that
    # switch is for tests only and must not reach the production check.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from qiao.cli import main; sys.exit(main(['check', '--deploy']))",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout + done.stderr
