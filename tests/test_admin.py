"""The admin: configuration pages load; the load history and audit trail are read-only; tier
rules are validated by the analytics' own parser before they are saved."""

from __future__ import annotations

import copy
import json

import pytest
from django.urls import reverse

from qiao.ingest.models import LoadRecord
from qiao.org.models import Role, Staff
from qiao.scoring.admin import TierRuleSetForm, default_rules

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = Staff.objects.create_superuser(
        "root", "root@example.com", "correct-horse-battery-staple", role=Role.ADMIN
    )
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "model",
    [
        "org/orgunit",
        "org/staff",
        "customers/customer",
        "customers/ownership",
        "products/product",
        "ingest/loadrecord",
        "audit/auditevent",
        "scoring/tierruleset",
        "scoring/modelrun",
        "engagement/cadencerule",
    ],
)
def test_changelists_load(admin_client, model: str) -> None:
    response = admin_client.get(f"/admin/{model}/")
    assert response.status_code == 200


def test_load_history_and_audit_trail_are_read_only(admin_client) -> None:
    assert admin_client.get("/admin/ingest/loadrecord/add/").status_code == 403
    assert admin_client.get("/admin/audit/auditevent/add/").status_code == 403
    assert LoadRecord.objects.count() == 0


def test_the_repository_rules_are_valid_and_a_broken_rule_is_refused() -> None:
    good = TierRuleSetForm(
        data={"name": "bank", "rules": json.dumps(default_rules()), "active": True}
    )
    assert good.is_valid(), good.errors
    broken = copy.deepcopy(default_rules())
    broken["schemes"]["pyramid"]["tiers"][0]["rules"][0]["conditions"][0]["op"] = "≈"
    form = TierRuleSetForm(data={"name": "bank", "rules": json.dumps(broken), "active": True})
    assert not form.is_valid()
    assert "rules" in form.errors


def test_new_rule_sets_start_from_the_repository_file(admin_client) -> None:
    response = admin_client.get(reverse("admin:scoring_tierruleset_add"))
    assert response.status_code == 200
    assert "DIAMOND" in response.content.decode()
