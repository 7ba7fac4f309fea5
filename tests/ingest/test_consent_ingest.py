"""The ``consents`` and ``contact_preferences`` extracts (docs/data-interface.md): same validation,
rejects with reasons, atomic and idempotent as every kind; an older row never overwrites a newer
state; hostile values never crash and never half-load."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from qiao.customers.consent import consented_ids, preferences_for
from qiao.customers.models import Consent, ConsentChange, ContactPreference, Customer
from qiao.ingest.kinds import KINDS
from qiao.ingest.reader import kind_for
from qiao.ingest.services import ingest_file
from qiao.scoring.selectors import system_status

from .conftest import write

pytestmark = pytest.mark.django_db(transaction=False)

C_HEADER = ["customer_no", "channel", "state", "on", "source", "evidence"]
P_HEADER = ["customer_no", "preferred_channel", "dnd_start", "dnd_end", "language", "time_zone"]


def _render(rows: list[list[str]], header: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _rejects(path: Path) -> list[dict[str, str]]:
    target = path.parent / (path.name + ".rejects.csv")
    if not target.exists():
        return []
    with target.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _state() -> str:
    """Everything the two kinds can change, as text (to prove nothing else changed)."""
    return json.dumps(
        [
            list(Consent.objects.order_by("pk").values_list()),
            list(ConsentChange.objects.order_by("pk").values_list("pk", "new_state", "on")),
            list(ContactPreference.objects.order_by("pk").values_list()),
        ],
        default=str,
    )


def _id(no: str) -> int:
    return Customer.objects.get(customer_no=no).pk


def test_the_file_names_are_the_kinds(tmp_path: Path) -> None:
    assert kind_for(tmp_path / "consents_20260301.csv").name == "consents"
    assert kind_for(tmp_path / "contact_preferences.parquet").name == "contact_preferences"
    assert KINDS["consents"].key == ("customer_no", "channel")


def test_consents_load_reject_and_reload(base: Path, tmp_path: Path) -> None:
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    rows = [
        ["P0000001", "SMS", "GIVEN", "2026-01-10", "CORE", "开户签约 2026-01-10"],
        ["P0000001", "PHONE", "WITHDRAWN", "2026-02-01", "", ""],  # source defaults to CORE
        ["P0000002", "WECHAT", "GIVEN", "2026-01-15", "ONLINE", "手机银行勾选"],
        ["P0000002", "FAX", "GIVEN", "2026-01-15", "", ""],  # no such channel
        ["P0000002", "SMS", "MAYBE", "2026-01-15", "", ""],  # no such state
        ["P0000002", "SMS", "GIVEN", tomorrow, "", ""],  # future
        ["P0000002", "EMAIL", "GIVEN", "2026-01-15", "", '=HYPERLINK("http://x")'],  # formula
        ["P9999999", "SMS", "GIVEN", "2026-01-15", "", ""],  # unknown customer
        ["P0000001", "SMS", "WITHDRAWN", "2026-01-11", "", ""],  # same key twice in the file
        ["C0000001", "POST", "GIVEN", "2026-01-15", "POST_OFFICE", ""],  # no such source
    ]
    folder = tmp_path / "c"
    folder.mkdir()
    path = write(folder, "consents.csv", _render(rows, C_HEADER))
    result = ingest_file(path)
    assert result.ok and (result.loaded, result.rejected) == (3, 7), result.summary()
    reasons = {(r["line"], r["column"]): r["reason"] for r in _rejects(path)}
    assert reasons[("5", "channel")].startswith("must be one of")
    assert reasons[("6", "state")].startswith("must be one of")
    assert ("7", "on") in reasons
    assert "spreadsheet formula" in reasons[("8", "evidence")]
    assert "not a known customer" in reasons[("9", "customer_no")]
    assert "appears earlier in the file, on line 2" in reasons[("10", "customer_no")]
    assert reasons[("11", "source")].startswith("must be one of")
    phone = Consent.objects.get(customer__customer_no="P0000001", channel="PHONE")
    assert (phone.state, phone.source, phone.on) == ("WITHDRAWN", "CORE", dt.date(2026, 2, 1))
    assert consented_ids("SMS").tolist() == [_id("P0000001")]
    assert consented_ids("PHONE").tolist() == []
    assert ConsentChange.objects.count() == 3
    assert system_status()["consents"] == 3

    # The same rows again (another file name): nothing changes, all reported unchanged.
    before = _state()
    again = write(folder, "consents_again.csv", _render(rows, C_HEADER))
    result = ingest_file(again)
    assert (result.loaded, result.updated, result.unchanged, result.rejected) == (0, 0, 3, 7)
    assert _state() == before


def test_an_older_row_never_overwrites_a_newer_state(base: Path, tmp_path: Path) -> None:
    folder = tmp_path / "o"
    folder.mkdir()
    first = [
        ["P0000001", "SMS", "WITHDRAWN", "2026-03-01", "REPLY", "TD"],
        ["P0000002", "SMS", "GIVEN", "2026-03-01", "", ""],
        ["C0000001", "SMS", "WITHDRAWN", "2026-03-01", "", ""],
    ]
    assert ingest_file(write(folder, "consents_1.csv", _render(first, C_HEADER))).loaded == 3
    later = [
        # older than the withdrawal on record: unchanged (a late file cannot revive the channel)
        ["P0000001", "SMS", "GIVEN", "2026-02-01", "", ""],
        # newer: the customer withdrew
        ["P0000002", "SMS", "WITHDRAWN", "2026-03-05", "BRANCH", "柜面书面撤回"],
        # the same day as a withdrawal: when in doubt, no consent
        ["C0000001", "SMS", "GIVEN", "2026-03-01", "", ""],
    ]
    path = write(folder, "consents_2.csv", _render(later, C_HEADER))
    result = ingest_file(path)
    assert (result.loaded, result.updated, result.unchanged, result.rejected) == (0, 1, 2, 0)
    assert consented_ids("SMS").tolist() == []
    p2 = Consent.objects.get(customer__customer_no="P0000002", channel="SMS")
    assert (p2.state, p2.source, p2.evidence) == ("WITHDRAWN", "BRANCH", "柜面书面撤回")
    history = list(
        ConsentChange.objects.filter(customer__customer_no="P0000002")
        .order_by("pk")
        .values_list("old_state", "new_state")
    )
    assert history == [("", "GIVEN"), ("GIVEN", "WITHDRAWN")]


def test_contact_preferences_load_reject_and_reload(base: Path, tmp_path: Path) -> None:
    rows = [
        ["P0000001", "WECHAT", "21:00", "08:00", "zh-hant", "Asia/Hong_Kong"],
        ["P0000002", "", "", "", "en", ""],  # defaults for what is not given
        ["C0000001", "SMS", "22:00", "", "", ""],  # one end of the window only
        ["C0000001", "SMS", "25:00", "07:00", "", ""],  # no such time
        ["C0000001", "SMS", "", "", "fr", ""],  # no such language
        ["C0000001", "SMS", "", "", "", "Mars/Olympus"],  # no such zone
        ["C0000001", "SMS", "", "", "", "../../etc/passwd"],  # not a zone either
        ["P9999999", "SMS", "", "", "", ""],  # unknown customer
    ]
    folder = tmp_path / "p"
    folder.mkdir()
    path = write(folder, "contact_preferences.csv", _render(rows, P_HEADER))
    result = ingest_file(path)
    assert result.ok and (result.loaded, result.rejected) == (2, 6), result.summary()
    reasons = {(r["line"], r["column"]): r["reason"] for r in _rejects(path)}
    assert "both the start and the end" in reasons[("4", "dnd_end")]
    assert "HH:MM" in reasons[("5", "dnd_start")]
    assert reasons[("6", "language")].startswith("must be one of")
    assert "not a known time zone" in reasons[("7", "time_zone")]
    assert "not a known time zone" in reasons[("8", "time_zone")]
    assert "not a known customer" in reasons[("9", "customer_no")]
    prefs = preferences_for([_id("P0000001"), _id("P0000002"), _id("C0000001")])
    x = prefs[_id("P0000001")]
    assert (x.preferred_channel, x.dnd_start, x.dnd_end, x.language, x.time_zone) == (
        "WECHAT",
        dt.time(21, 0),
        dt.time(8, 0),
        "zh-hant",
        "Asia/Hong_Kong",
    )
    y = prefs[_id("P0000002")]
    assert (y.preferred_channel, y.language, y.time_zone, y.dnd_start) == (
        "",
        "en",
        "Asia/Shanghai",
        None,
    )
    assert system_status()["contact_preferences"] == 2

    before = _state()
    result = ingest_file(write(folder, "contact_preferences_2.csv", _render(rows, P_HEADER)))
    assert (result.loaded, result.updated, result.unchanged) == (0, 0, 2)
    assert _state() == before

    # An empty cell keeps the stored value; a given one changes it.
    change = [["P0000001", "", "", "", "en", ""]]
    result = ingest_file(write(folder, "contact_preferences_3.csv", _render(change, P_HEADER)))
    assert (result.loaded, result.updated, result.unchanged) == (0, 1, 0)
    x = preferences_for([_id("P0000001")])[_id("P0000001")]
    assert (x.language, x.time_zone, x.dnd_start) == ("en", "Asia/Hong_Kong", dt.time(21, 0))


NASTY = st.sampled_from(
    [
        "",
        " ",
        "-1",
        "sms",
        "SMS ",
        "FAX",
        "GIVEN",
        "given",
        "WITHDRAWN",
        "2026-02-29",
        "2025-13-01",
        "２０２５-01-01",
        "24:00",
        "23:60",
        "7:5",
        "21:00",
        "Asia/Shanghai",
        "asia/shanghai",
        "UTC",
        "../../etc/passwd",
        "/etc/localtime",
        "=1+1",
        "+SUM(A1)",
        "@cmd",
        "-2+3",
        "9" * 250,
        "\u202e",
        "张三",
        "\x00",
        "\t",
        '"',
        ",",
        "\n",
        "P0000001",
        "'; DROP TABLE x;--",
        "zh-hans",
        "EN",
    ]
)
GOOD_C = ["P0000001", "SMS", "GIVEN", "2026-01-10", "CORE", "签约"]
GOOD_P = ["P0000001", "SMS", "21:00", "08:00", "zh-hans", "Asia/Shanghai"]
CUSTOMERS = ["P0000001", "P0000002", "C0000001"]


def _hostile(kind: str, base_row: list[str], header: list[str], rows, folder: Path) -> None:
    lines = []
    for i, mutations in enumerate(rows):
        row = list(base_row)
        row[0] = CUSTOMERS[i % 3]
        if kind == "consents":
            row[1] = ["SMS", "PHONE", "EMAIL", "WECHAT", "POST"][i % 5]
        for col, value in mutations:
            row[col] = value
        lines.append(row)
    before = _state()
    path = write(folder, f"{kind}_h.csv", _render(lines, header))
    result = ingest_file(path)
    if not result.ok:
        # the whole file refused (a broken header …): nothing changed
        assert result.message and _state() == before
        return
    rejects = _rejects(path)
    # every reject names its line, its field (or the row) and why
    assert all(r["line"] and r["reason"] for r in rejects)
    rejected = {r["line"] for r in rejects}
    assert result.loaded + result.updated + result.unchanged + len(rejected) == result.rows
    for c in Consent.objects.all():
        assert c.channel in {"SMS", "PHONE", "EMAIL", "WECHAT", "POST"}
        assert c.state in {"GIVEN", "WITHDRAWN"} and c.on <= timezone.localdate()
        assert not c.evidence.startswith(("=", "+", "@")) and len(c.evidence) <= 200
    for p in ContactPreference.objects.all():
        assert p.language in {"zh-hans", "zh-hant", "en"}
        assert (p.dnd_start is None) == (p.dnd_end is None)
        p.full_clean(exclude=["customer", "updated_by"])
    # Loading the same file again changes nothing.
    after = _state()
    again = ingest_file(write(folder, f"{kind}_h2.csv", _render(lines, header)))
    assert again.loaded == 0 and again.updated == 0
    assert _state() == after


_ROWS = st.lists(st.lists(st.tuples(st.integers(0, 5), NASTY), max_size=3), min_size=1, max_size=6)
_SETTINGS = hsettings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(rows=_ROWS)
def test_hostile_consents(base: Path, tmp_path_factory, rows) -> None:
    _hostile("consents", GOOD_C, C_HEADER, rows, tmp_path_factory.mktemp("consent"))


@_SETTINGS
@given(rows=_ROWS)
def test_hostile_contact_preferences(base: Path, tmp_path_factory, rows) -> None:
    _hostile("contact_preferences", GOOD_P, P_HEADER, rows, tmp_path_factory.mktemp("pref"))


def test_a_bad_row_changes_nothing_else(base: Path, tmp_path: Path) -> None:
    """A file of only bad rows: every row rejected with its reason, the database untouched."""
    folder = tmp_path / "b"
    folder.mkdir()
    before = _state()
    rows = [
        ["P0000001", "SMS", "GIVEN", "2026-01-10", "CORE", "+cmd|' /C calc'!A0"],
        ["P0000001", "PHONE", "GIVEN", "yesterday", "CORE", ""],
        ["P0000001", "WECHAT", "", "2026-01-10", "CORE", ""],
    ]
    path = write(folder, "consents.csv", _render(rows, C_HEADER))
    result = ingest_file(path)
    assert result.rejected == 3 and result.loaded == 0
    assert {(r["line"], r["column"]) for r in _rejects(path)} == {
        ("2", "evidence"),
        ("3", "on"),
        ("4", "state"),
    }
    assert _state() == before


def test_the_demo_banks_files_load_without_a_reject(db, tmp_path: Path) -> None:
    """``qiao demo`` writes consents.csv and contact_preferences.csv; they load through the one
    ingest path with no reject, and a second load changes nothing."""
    import shutil

    from qiao.demo import generate_bank
    from qiao.ingest.services import ingest_paths

    generated = tmp_path / "demo"
    summary = generate_bank(generated, customers=600, months=3, seed=5, as_of=dt.date(2026, 6, 30))
    folder = tmp_path / "load"
    folder.mkdir()
    for kind in ("org_units", "customers", "consents", "contact_preferences"):
        shutil.copy(generated / summary["files"][kind], folder)
    results = ingest_paths([folder])
    assert [r.kind for r in results][-2:] == ["consents", "contact_preferences"]
    assert all(r.ok and r.rejected == 0 for r in results), [r.summary() for r in results]
    assert Consent.objects.count() == summary["consents"] > 600
    assert ContactPreference.objects.count() == summary["contact_preferences"] > 0
    assert Consent.objects.filter(state="WITHDRAWN", source="REPLY").exists()
    again = ingest_paths([folder])
    assert all(r.loaded == 0 and r.updated == 0 for r in again[-2:])
