"""Pages show the tier rule set's tier labels (issue 12 item 1): a tier renamed in the admin shows
on every page that shows a tier; an unchanged tier shows the vocabulary's translated label."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from qiao.analytics.tiers import default_tier_rules
from qiao.core.tiers import tier_label, tier_labels, tier_labels_clear
from qiao.engagement.reasons import render_reason
from qiao.org.models import Staff


@pytest.fixture(autouse=True)
def _fresh_labels():
    tier_labels_clear()
    yield
    tier_labels_clear()


def _renamed() -> dict:
    rules = copy.deepcopy(default_tier_rules())
    for tier in rules["schemes"]["pyramid"]["tiers"]:
        if tier["code"] == "GOLD":
            tier["label_en"], tier["label_zh"] = "Gold star", "金星"
    for tier in rules["schemes"]["deposit"]["tiers"]:
        if tier["code"] == "KEY":
            tier["label_en"], tier["label_zh"] = "Key account", "重点户"
    return rules


def test_unchanged_tiers_show_the_vocabulary_in_each_language(db):
    for language, diamond, key in (("en", "Diamond", "Key"), ("zh-hans", "钻石", "重点")):
        with translation.override(language):
            assert tier_label("DIAMOND") == diamond
            assert tier_label("KEY", "deposit") == key
    with translation.override("zh-hant"):
        assert tier_label("DIAMOND") == "鑽石"
        assert list(tier_labels("pyramid")) == [
            "DIAMOND",
            "PLATINUM",
            "GOLD",
            "ORDINARY",
            "RESTRICTED",
        ]
    assert tier_label("") == "—" and tier_label("NO_SUCH_TIER") == "NO_SUCH_TIER"


def test_a_tier_renamed_in_the_admin_shows_on_every_page(bank, login):
    admin = Staff.objects.create_superuser("root", password="x")  # noqa: S106
    client = Client()
    client.force_login(admin)
    with translation.override("en"):
        assert tier_label("GOLD") == "Gold"  # read (and kept) before the change
    response = client.post(
        reverse("admin:scoring_tierruleset_add"),
        {"name": "bank", "rules": json.dumps(_renamed()), "active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    head = login("head_office")
    listed = head.get("/customers/?tiers=GOLD").content.decode()
    assert "Gold star" in listed  # the row's badge and the filter's choice
    assert ">Gold<" not in listed
    zh = head.get("/customers/?tiers=GOLD", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "金星" in zh
    home = head.get("/").content.decode()
    assert "Gold star" in home
    with translation.override("en"):
        assert tier_label("KEY", "deposit") == "Key account"
        assert tier_label("DIAMOND") == "Diamond"  # the others keep the vocabulary's label
        reason = render_reason(
            "TIER_DOWN", {"old": "GOLD", "new": "ORDINARY", "date": dt.date(2026, 1, 31)}
        )
    assert reason == "Tier fell from Gold star to Ordinary (scored 2026-01-31)"
