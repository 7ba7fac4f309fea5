"""Marketing consent and contact preferences (issue 15 item 1): the services, the selectors
campaigns read, and the 360's section and edit page.

No consent row is no consent; a withdrawal takes effect at once and is never undone by an older
record; every change is kept and audited.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from qiao.audit.models import Action, AuditEvent
from qiao.core.errors import ApplicationError
from qiao.customers.consent import (
    consent_is_given,
    consent_set,
    consent_withdraw_by_reply,
    consented_ids,
    consents_for,
    preference_set,
    preferences_for,
)
from qiao.customers.consent_rules import DEFAULT_PREF, Pref, in_dnd
from qiao.customers.models import Consent, ConsentChange, ContactPreference
from tests.factories import make_customer

D = dt.date


def _audits(customer_no: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=Action.CONSENT, customer_no=customer_no))


# ---------------------------------------------------------------- consent_set


def test_a_cm_records_consent_history_and_audit(bank):
    owner, x = bank.staff["cm_owner"], bank.x
    c = consent_set(
        staff=owner,
        customer=x,
        channel="SMS",
        state="GIVEN",
        on=D(2026, 3, 1),
        evidence="signed form 2026-03-01",
    )
    assert (c.state, c.on, c.source, c.recorded_by) == ("GIVEN", D(2026, 3, 1), "BRANCH", owner)
    consent_set(staff=owner, customer=x, channel="SMS", state="WITHDRAWN", on=D(2026, 4, 1))
    assert Consent.objects.get(customer=x, channel="SMS").state == "WITHDRAWN"
    history = list(
        ConsentChange.objects.filter(customer=x)
        .order_by("id")
        .values_list("old_state", "new_state")
    )
    assert history == [("", "GIVEN"), ("GIVEN", "WITHDRAWN")]
    events = _audits(x.customer_no)
    assert len(events) == 2
    assert {e.username for e in events} == {"cm_owner"}
    assert {e.detail["state"] for e in events} == {"GIVEN", "WITHDRAWN"}
    # evidence (the customer's words, a form's number) stays out of the trail
    assert all("evidence" not in e.detail for e in events)


def test_recording_what_is_on_record_writes_nothing(bank):
    owner, x = bank.staff["cm_owner"], bank.x
    for _ in range(2):
        consent_set(staff=owner, customer=x, channel="PHONE", state="GIVEN", on=D(2026, 3, 1))
    assert ConsentChange.objects.filter(customer=x).count() == 1
    assert len(_audits(x.customer_no)) == 1


def test_without_the_permission_nothing_changes(bank):
    for name in ("head_office", "auditor"):
        with pytest.raises(PermissionDenied):
            consent_set(
                staff=bank.staff[name],
                customer=bank.x,
                channel="SMS",
                state="GIVEN",
                on=D(2026, 1, 1),
            )
        with pytest.raises(PermissionDenied):
            preference_set(
                staff=bank.staff[name],
                customer=bank.x,
                preferred_channel="SMS",
                dnd_start=None,
                dnd_end=None,
                language="en",
                time_zone="Asia/Shanghai",
            )
    assert not Consent.objects.exists() and not ContactPreference.objects.exists()
    assert not ConsentChange.objects.exists() and _audits(bank.x.customer_no) == []


def test_out_of_scope_is_missing(bank):
    with pytest.raises(Http404):
        consent_set(
            staff=bank.staff["cm_other"],
            customer=bank.x,
            channel="SMS",
            state="GIVEN",
            on=D(2026, 1, 1),
        )
    assert not Consent.objects.exists()


def test_future_and_older_dates_and_bad_evidence_are_refused(bank):
    owner, x = bank.staff["cm_owner"], bank.x
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ApplicationError) as exc:
        consent_set(staff=owner, customer=x, channel="SMS", state="GIVEN", on=tomorrow)
    assert exc.value.field == "on" and "future" in str(exc.value.message)
    consent_set(staff=owner, customer=x, channel="SMS", state="GIVEN", on=D(2026, 3, 1))
    with pytest.raises(ApplicationError) as exc:
        consent_set(staff=owner, customer=x, channel="SMS", state="WITHDRAWN", on=D(2026, 2, 1))
    assert exc.value.field == "on" and "2026-03-01" in str(exc.value.message)
    with pytest.raises(ApplicationError) as exc:
        consent_set(
            staff=owner,
            customer=x,
            channel="SMS",
            state="WITHDRAWN",
            on=D(2026, 3, 2),
            evidence="=1+1",
        )
    assert exc.value.field == "evidence"
    with pytest.raises(ApplicationError) as exc:
        consent_set(staff=owner, customer=x, channel="FAX", state="GIVEN", on=D(2026, 3, 2))
    assert exc.value.field == "channel"
    assert Consent.objects.get(customer=x, channel="SMS").state == "GIVEN"
    assert ConsentChange.objects.count() == 1


# ---------------------------------------------------------------- opt-out replies


def test_withdraw_by_reply_is_idempotent_and_audited_as_system(bank):
    owner, x = bank.staff["cm_owner"], bank.x
    consent_set(staff=owner, customer=x, channel="SMS", state="GIVEN", on=D(2026, 3, 1))
    args = {"customer_id": x.pk, "channel": "SMS", "on": D(2026, 5, 1), "evidence": "TD 退订"}
    assert consent_withdraw_by_reply(**args) is True
    assert consent_withdraw_by_reply(**args) is False
    c = Consent.objects.get(customer=x, channel="SMS")
    assert (c.state, c.source, c.on, c.evidence, c.recorded_by) == (
        "WITHDRAWN",
        "REPLY",
        D(2026, 5, 1),
        "TD 退订",
        None,
    )
    assert not consent_is_given(x.pk, "SMS")
    system = [e for e in _audits(x.customer_no) if e.username == "system"]
    assert len(system) == 1 and system[0].detail["source"] == "REPLY"
    assert ConsentChange.objects.filter(customer=x).count() == 2


def test_a_reply_older_than_a_new_consent_changes_nothing(bank):
    owner, x = bank.staff["cm_owner"], bank.x
    consent_set(staff=owner, customer=x, channel="WECHAT", state="GIVEN", on=D(2026, 6, 1))
    assert not consent_withdraw_by_reply(
        customer_id=x.pk, channel="WECHAT", on=D(2026, 5, 1), evidence="T"
    )
    assert consent_is_given(x.pk, "WECHAT")


def test_a_reply_without_consent_on_record_records_the_withdrawal(bank):
    x = bank.x
    assert consent_withdraw_by_reply(
        customer_id=x.pk, channel="EMAIL", on=D(2026, 5, 1), evidence='=HYPERLINK("x")\nunsubscribe'
    )
    c = Consent.objects.get(customer=x, channel="EMAIL")
    # one line, never a formula
    assert c.state == "WITHDRAWN" and c.evidence == '\'=HYPERLINK("x") unsubscribe'
    assert not consent_withdraw_by_reply(
        customer_id=10**9, channel="EMAIL", on=D(2026, 5, 1), evidence="T"
    )


# ---------------------------------------------------------------- campaigns' reads


def test_consented_ids_on_a_mix(bank):
    owner = bank.staff["cm_owner"]
    head = bank.staff["outlet_head"]
    x, w, small, z = bank.x, bank.w, bank.small, bank.z
    consent_set(staff=owner, customer=x, channel="SMS", state="GIVEN", on=D(2026, 1, 1))
    consent_set(staff=head, customer=w, channel="SMS", state="GIVEN", on=D(2026, 1, 1))
    consent_set(staff=head, customer=w, channel="PHONE", state="GIVEN", on=D(2026, 1, 1))
    consent_set(staff=head, customer=small, channel="SMS", state="GIVEN", on=D(2026, 1, 1))
    consent_set(staff=head, customer=small, channel="SMS", state="WITHDRAWN", on=D(2026, 2, 1))
    consent_set(staff=head, customer=z, channel="EMAIL", state="WITHDRAWN", on=D(2026, 2, 1))
    # y: nothing recorded
    sms = consented_ids("SMS")
    assert sms.dtype == np.int64 and sms.tolist() == sorted([x.pk, w.pk])
    assert consented_ids("PHONE").tolist() == [w.pk]
    assert consented_ids("EMAIL").tolist() == []
    every = np.array([small.pk, bank.y.pk, w.pk, x.pk, z.pk, w.pk], dtype=np.int64)
    assert consented_ids("SMS", every).tolist() == sorted([x.pk, w.pk])
    assert consented_ids("SMS", np.array([bank.y.pk, small.pk])).tolist() == []
    assert consented_ids("SMS", np.array([], dtype=np.int64)).tolist() == []
    with pytest.raises(ValueError):
        consented_ids("FAX")


def test_consented_ids_large_inputs_take_the_intersect_path(bank):
    """Above the threshold the ids are intersected in numpy: same answer."""
    owner, x = bank.staff["cm_owner"], bank.x
    consent_set(staff=owner, customer=x, channel="POST", state="GIVEN", on=D(2026, 1, 1))
    many = np.arange(1, 30_001, dtype=np.int64)
    many = np.append(many, x.pk)
    assert consented_ids("POST", many).tolist() == [x.pk]
    # and the chunked path for a few thousand ids (several SQLite chunks)
    some = np.append(np.arange(10**6, 10**6 + 2500, dtype=np.int64), x.pk)
    assert consented_ids("POST", some).tolist() == [x.pk]


def test_preferences_defaults_and_dnd(bank):
    owner, x = bank.staff["cm_owner"], bank.x
    preference_set(
        staff=owner,
        customer=x,
        preferred_channel="WECHAT",
        dnd_start=dt.time(21, 0),
        dnd_end=dt.time(8, 0),
        language="zh-hant",
        time_zone="Asia/Hong_Kong",
    )
    prefs = preferences_for(np.array([x.pk, bank.y.pk]))
    assert prefs[bank.y.pk] == DEFAULT_PREF
    assert prefs[x.pk] == Pref("WECHAT", dt.time(21, 0), dt.time(8, 0), "zh-hant", "Asia/Hong_Kong")
    assert in_dnd(dt.time(23, 0), dt.time(21, 0), dt.time(8, 0))
    assert in_dnd(dt.time(7, 59), dt.time(21, 0), dt.time(8, 0))
    assert not in_dnd(dt.time(8, 0), dt.time(21, 0), dt.time(8, 0))
    assert in_dnd(dt.time(13, 0), dt.time(12, 0), dt.time(14, 0))
    # 14:30 UTC is 22:30 in Hong Kong: inside the window
    assert prefs[x.pk].in_dnd(dt.datetime(2026, 5, 1, 14, 30, tzinfo=dt.UTC))
    assert not prefs[x.pk].in_dnd(dt.datetime(2026, 5, 1, 4, 0, tzinfo=dt.UTC))
    assert len(_audits(x.customer_no)) == 1


def test_bad_preferences_are_refused(bank):
    owner, x = bank.staff["cm_owner"], bank.x
    good = {
        "preferred_channel": "",
        "dnd_start": None,
        "dnd_end": None,
        "language": "en",
        "time_zone": "Asia/Shanghai",
    }
    for change, field in [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"language": "fr"}, "language"),
        ({"preferred_channel": "FAX"}, "preferred_channel"),
        ({"dnd_start": dt.time(22, 0)}, "dnd_end"),
        ({"dnd_start": dt.time(22, 0), "dnd_end": dt.time(22, 0)}, "dnd_end"),
    ]:
        with pytest.raises(ApplicationError) as exc:
            preference_set(staff=owner, customer=x, **{**good, **change})
        assert exc.value.field == field, change
    assert not ContactPreference.objects.exists() and _audits(x.customer_no) == []


def test_consents_for_lists_every_channel_in_words(bank):
    owner, x = bank.staff["cm_owner"], bank.x
    consent_set(staff=owner, customer=x, channel="SMS", state="GIVEN", on=D(2026, 1, 1))
    rows = consents_for(x)
    assert [r.channel for r in rows] == ["SMS", "PHONE", "EMAIL", "WECHAT", "POST"]
    assert (rows[0].state_label, rows[0].source_label) == (
        "Given",
        "Recorded by staff at the branch",
    )
    assert rows[1].state_label == "No consent recorded" and not rows[1].given


def test_a_customer_with_no_row_is_never_consenting(bank):
    """The rule campaigns rely on: a brand-new customer consents to nothing."""
    fresh = make_customer("P0000099", "新客户", bank.o1)
    for channel in ("SMS", "PHONE", "EMAIL", "WECHAT", "POST"):
        assert not consent_is_given(fresh.pk, channel)
        assert fresh.pk not in consented_ids(channel).tolist()


# ---------------------------------------------------------------- the pages


def _page(login, persona: str, customer_no: str, language: str = "en"):
    from django.conf import settings

    client = login(persona)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_the_consent_page_permission_and_scope(bank, login):
    x = bank.x.customer_no
    assert _page(login, "cm_owner", x).get(f"/customers/{x}/consent/").status_code == 200
    assert _page(login, "outlet_head", x).get(f"/customers/{x}/consent/").status_code == 200
    assert _page(login, "head_office", x).get(f"/customers/{x}/consent/").status_code == 403
    assert _page(login, "auditor", x).get(f"/customers/{x}/consent/").status_code == 403
    assert _page(login, "cm_other", x).get(f"/customers/{x}/consent/").status_code == 404
    data = {"form": "consent", "c-channel": "SMS", "c-state": "GIVEN", "c-on": "2026-01-05"}
    assert _page(login, "head_office", x).post(f"/customers/{x}/consent/", data).status_code == 403
    assert _page(login, "cm_other", x).post(f"/customers/{x}/consent/", data).status_code == 404
    assert not Consent.objects.exists() and _audits(x) == []


def test_a_cm_records_consent_and_preferences_on_the_page(bank, login):
    x = bank.x.customer_no
    client = _page(login, "cm_owner", x)
    url = f"/customers/{x}/consent/"
    response = client.post(
        url,
        {
            "form": "consent",
            "c-channel": "WECHAT",
            "c-state": "GIVEN",
            "c-on": "2026-02-01",
            "c-evidence": "签字授权书 2026-02-01",
        },
    )
    assert response.status_code == 302
    c = Consent.objects.get(customer=bank.x, channel="WECHAT")
    assert (c.state, c.source, c.recorded_by) == ("GIVEN", "BRANCH", bank.staff["cm_owner"])
    event = _audits(x)[0]
    assert event.channel == "WEB" and event.detail["channel"] == "WECHAT"
    # a date in the future: refused on the form, nothing changed
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = client.post(
        url, {"form": "consent", "c-channel": "WECHAT", "c-state": "WITHDRAWN", "c-on": tomorrow}
    )
    assert response.status_code == 200 and "cannot be dated in the future" in response.text
    assert Consent.objects.get(customer=bank.x, channel="WECHAT").state == "GIVEN"
    # preferences: a bad zone is refused on its field, a good one saved
    prefs = {
        "form": "preferences",
        "p-preferred_channel": "WECHAT",
        "p-dnd_start": "21:00",
        "p-dnd_end": "08:00",
        "p-language": "zh-hant",
        "p-time_zone": "Mars/Olympus",
    }
    response = client.post(url, prefs)
    assert response.status_code == 200 and "not a known time zone" in response.text
    assert not ContactPreference.objects.exists()
    response = client.post(url, {**prefs, "p-time_zone": "Asia/Hong_Kong"})
    assert response.status_code == 302
    pref = ContactPreference.objects.get(customer=bank.x)
    assert (pref.dnd_start, pref.language, pref.time_zone) == (
        dt.time(21, 0),
        "zh-hant",
        "Asia/Hong_Kong",
    )
    assert len(_audits(x)) == 2


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            [
                "Consent and contact preferences",
                "Given",
                "Withdrawn",
                "No consent recorded",
                "Opt-out reply to a message",
                "Recorded by staff at the branch",
                "Traditional Chinese",
                "21:00–08:00",
            ],
        ),
        (
            "zh-hans",
            [
                "营销授权与联系偏好",
                "已同意",
                "已撤回",
                "未登记授权",
                "回复退订",
                "网点/客户经理登记",
                "繁体中文",
                "微信",
            ],
        ),
    ],
)
def test_the_360_shows_consent_in_words(bank, login, language, words):
    owner, x = bank.staff["cm_owner"], bank.x
    consent_set(staff=owner, customer=x, channel="SMS", state="GIVEN", on=D(2026, 1, 1))
    consent_set(staff=owner, customer=x, channel="WECHAT", state="GIVEN", on=D(2026, 1, 1))
    consent_withdraw_by_reply(customer_id=x.pk, channel="WECHAT", on=D(2026, 2, 1), evidence="TD")
    preference_set(
        staff=owner,
        customer=x,
        preferred_channel="WECHAT",
        dnd_start=dt.time(21, 0),
        dnd_end=dt.time(8, 0),
        language="zh-hant",
        time_zone="Asia/Shanghai",
    )
    response = _page(login, "cm_owner", x.customer_no, language).get(f"/customers/{x.customer_no}/")
    assert response.status_code == 200
    text = response.content.decode()
    start = text.index('id="consent"')
    section = text[start : text.index('id="connections"', start)]
    for word in words:
        assert word in section, word
    # words, not codes (in English the SMS channel's word is "SMS")
    codes = ["GIVEN", "WITHDRAWN", "REPLY", "BRANCH", "zh-hant", ">WECHAT<"]
    codes += [">SMS<"] if language != "en" else []
    for code in codes:
        assert code not in section, code
    assert 'id="consent-link"' in section  # the owner may change it


def test_readers_see_the_section_without_the_change_link(bank, login):
    x = bank.x.customer_no
    response = _page(login, "head_office", x).get(f"/customers/{x}/")
    text = response.content.decode()
    assert 'id="consent"' in text and 'id="consent-link"' not in text


def test_the_id_helpers_match_numpy():
    """The fast sort-and-search helpers of consented_ids against numpy's own set functions."""
    from qiao.customers.consent import _as_ids, _sorted_intersection

    rng = np.random.default_rng(3)
    for n, m in [(0, 5), (5, 0), (1, 1), (50, 80), (3000, 2000), (10_000, 100)]:
        a = rng.integers(0, 4000, n)
        b = rng.integers(0, 4000, m)
        assert _as_ids(a).tolist() == np.unique(a).tolist()
        assert _sorted_intersection(_as_ids(a), _as_ids(b)).tolist() == (
            np.intersect1d(a, b).tolist()
        )
    assert _as_ids(np.arange(5)).tolist() == [0, 1, 2, 3, 4]
    assert _as_ids([7, 7, 3]).tolist() == [3, 7]


_HOSTILE_TEXT = st.one_of(
    st.text(max_size=260),
    st.sampled_from(
        [
            '=HYPERLINK("http://x")',
            "+1+1",
            "@SUM(A1)",
            "-2+3",
            "\t=1",
            "\r\n",
            "\u2028",
            "\x00",
            "../../etc/passwd",
            "Asia/Shanghai ",
            "asia/shanghai",
            "UTC",
            "退订",
            "x" * 201,
        ]
    ),
)


@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(evidence=_HOSTILE_TEXT, zone=_HOSTILE_TEXT, reply=_HOSTILE_TEXT)
def test_hostile_text_is_refused_or_kept_safe(bank, evidence, zone, reply):
    """Whatever is typed or replied: refused with the field named, or kept as one line of at most
    200 characters that no spreadsheet runs as a formula; a zone is one the database knows."""
    import zoneinfo

    owner, x = bank.staff["cm_owner"], bank.x
    try:
        c = consent_set(
            staff=owner,
            customer=x,
            channel="SMS",
            state="GIVEN",
            on=D(2026, 1, 1),
            evidence=evidence,
        )
    except ApplicationError as exc:
        assert exc.field == "evidence"
    else:
        assert len(c.evidence) <= 200 and not c.evidence.startswith(("=", "+", "@"))
        assert not any(ch in c.evidence for ch in "\n\r\x00")
    try:
        pref = preference_set(
            staff=owner,
            customer=x,
            preferred_channel="",
            dnd_start=None,
            dnd_end=None,
            language="en",
            time_zone=zone,
        )
    except ApplicationError as exc:
        assert exc.field == "time_zone"
    else:
        assert pref.time_zone in zoneinfo.available_timezones()
    consent_withdraw_by_reply(customer_id=x.pk, channel="WECHAT", on=D(2026, 2, 1), evidence=reply)
    stored = Consent.objects.get(customer=x, channel="WECHAT").evidence
    assert len(stored) <= 200 and not stored.startswith(("=", "+", "@"))
    assert stored.isprintable()


def test_the_audit_trail_shows_a_consent_change_in_words(bank):
    from django.utils import translation

    from qiao.audit.display import audit_event_rows

    owner, x = bank.staff["cm_owner"], bank.x
    consent_set(staff=owner, customer=x, channel="WECHAT", state="GIVEN", on=D(2026, 3, 1))
    event = AuditEvent.objects.filter(customer_no=x.customer_no, action=Action.CONSENT).get()
    with translation.override("en"):
        text = str(audit_event_rows([event])[0].__dict__)
    assert "WeChat" in text and "Given" in text
    assert "WECHAT" not in text and "'GIVEN'" not in text
