"""The black and red lists (docs/keyaccounts.md): proposed with a reason, approved by another
risk manager (maker–checker), audited; a blacklisted customer falls into 限制 at the next scoring
and gets no next-best product."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import PermissionDenied

from qiao.analytics.tiers import mark_blacklisted, parse_tier_rules, replay_tiers
from qiao.audit.models import Action, AuditEvent
from qiao.core.errors import ApplicationError
from qiao.credit.models import ListEntry
from qiao.credit.selectors import (
    blacklisted_customer_nos,
    blacklisted_ids,
    is_blacklisted,
    is_red_listed,
    list_marks,
)
from qiao.credit.services import list_entry_decide, list_entry_propose, list_entry_remove
from qiao.org.models import Role
from tests.factories import make_staff
from tests.workbench.conftest import _fast_hasher, bank, lake, login  # noqa: F401

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 1, 31)


@pytest.fixture
def risk(bank):  # noqa: F811
    return (
        make_staff("risk_a", Role.RISK_MANAGER, bank.ho, "风险甲"),
        make_staff("risk_b", Role.RISK_MANAGER, bank.ho, "风险乙"),
    )


def _events(customer_no: str) -> list[dict]:
    return [
        e.detail
        for e in AuditEvent.objects.filter(
            action=Action.BLACKLIST, customer_no=customer_no
        ).order_by("id")
    ]


def test_maker_checker(bank, risk) -> None:  # noqa: F811
    maker, checker = risk
    entry = list_entry_propose(staff=maker, customer=bank.x, list_kind="BLACK", reason="恶意逃废债")
    assert (entry.status, entry.source, entry.proposed_by) == ("PROPOSED", "MANUAL", maker)
    # Proposed is not in force.
    assert not is_blacklisted(bank.x) and bank.x.pk not in blacklisted_ids()
    assert list_marks(bank.x)["proposed"] == ["BLACK"]
    # The maker cannot approve their own proposal; nothing changes.
    with pytest.raises(ApplicationError, match="other than the proposer"):
        list_entry_decide(staff=maker, entry=entry, approve=True)
    entry.refresh_from_db()
    assert entry.status == "PROPOSED" and entry.decided_by is None
    # A second proposal for the same list is refused.
    with pytest.raises(ApplicationError, match="already proposed"):
        list_entry_propose(staff=checker, customer=bank.x, list_kind="BLACK", reason="again")
    approved = list_entry_decide(staff=checker, entry=entry, approve=True, note="核实")
    assert (approved.status, approved.decided_by, approved.listed_on) == (
        "APPROVED",
        checker,
        dt.date.today(),
    )
    assert is_blacklisted(bank.x) and bank.x.pk in blacklisted_ids()
    assert blacklisted_ids().dtype == np.int64
    assert blacklisted_customer_nos() == ["P0000001"]
    assert list_marks(bank.x)["black"]["reason"] == "恶意逃废债"
    with pytest.raises(ApplicationError, match="already been decided"):
        list_entry_decide(staff=checker, entry=entry, approve=False, note="x")
    # Removal needs a note; then the customer is off the list.
    with pytest.raises(ApplicationError, match="Say why"):
        list_entry_remove(staff=checker, entry=entry, note="")
    list_entry_remove(staff=checker, entry=entry, note="已结清")
    assert not is_blacklisted(bank.x)
    assert [e["step"] for e in _events("P0000001")] == ["propose", "approve", "remove"]


def test_a_rejection_needs_a_reason_and_keeps_the_customer_off(bank, risk) -> None:  # noqa: F811
    maker, checker = risk
    entry = list_entry_propose(staff=maker, customer=bank.z, list_kind="RED", reason="纳税信用A级")
    with pytest.raises(ApplicationError, match="rejected"):
        list_entry_decide(staff=checker, entry=entry, approve=False)
    list_entry_decide(staff=checker, entry=entry, approve=False, note="证明不足")
    entry.refresh_from_db()
    assert entry.status == "REJECTED" and not is_red_listed(bank.z)
    # Rejected: a new proposal may be made.
    again = list_entry_propose(staff=maker, customer=bank.z, list_kind="RED", reason="补充证明")
    list_entry_decide(staff=checker, entry=again, approve=True)
    assert is_red_listed(bank.z) and not is_blacklisted(bank.z)


def test_without_the_permission_nothing_changes(bank, risk) -> None:  # noqa: F811
    maker, _checker = risk
    cm = bank.staff["cm_owner"]
    with pytest.raises(PermissionDenied):
        list_entry_propose(staff=cm, customer=bank.x, list_kind="BLACK", reason="x")
    assert not ListEntry.objects.exists()
    entry = list_entry_propose(staff=maker, customer=bank.x, list_kind="BLACK", reason="x")
    with pytest.raises(PermissionDenied):
        list_entry_decide(staff=bank.staff["outlet_head"], entry=entry, approve=True)
    entry.refresh_from_db()
    assert entry.status == "PROPOSED"
    assert [e["step"] for e in _events("P0000001")] == ["propose"]


def test_a_loaded_entry_is_removed_in_core_banking_only(bank, risk) -> None:  # noqa: F811
    entry = ListEntry.objects.create(
        customer=bank.y, list_kind="BLACK", reason="x", status="APPROVED", source="CORE"
    )
    with pytest.raises(ApplicationError, match="core banking"):
        list_entry_remove(staff=risk[0], entry=entry, note="x")
    assert is_blacklisted(bank.y)


def test_the_blacklist_branch_of_the_tier_rules() -> None:
    """Framework-free: a blacklisted customer is 限制 whatever their AUM; others are not."""
    scheme = parse_tier_rules(None)["pyramid"]
    features = pd.DataFrame(
        {"aum": [7_000_000.0, 7_000_000.0, 100.0], "restricted_flag": 0.0, "blacklisted": False,
         "contribution_top_share": 0.5, "contribution_month": 1.0},
        index=pd.Index(["A", "B", "C"], name="customer_no"),
    )  # fmt: skip
    assert mark_blacklisted(features, ["B", "NOT_SCORED"]) == 1
    tiers = replay_tiers(features, scheme, [AS_OF]).current["tier"].astype(str).tolist()
    assert tiers == ["DIAMOND", "RESTRICTED", "ORDINARY"]
    assert features["blacklisted"].tolist() == [False, True, False]


def test_scoring_puts_the_blacklisted_in_restricted(bank, lake, risk) -> None:  # noqa: F811
    from qiao.customers.models import CustomerStanding
    from qiao.scoring.models import ScoreSnapshot
    from qiao.scoring.services import score_run

    assert score_run(as_of=AS_OF).ok
    before = ScoreSnapshot.objects.get(customer=bank.x, as_of=AS_OF)
    assert before.tier_pyramid != "RESTRICTED"
    maker, checker = risk
    entry = list_entry_propose(staff=maker, customer=bank.x, list_kind="BLACK", reason="欺诈")
    list_entry_decide(staff=checker, entry=entry, approve=True)
    run = score_run(as_of=AS_OF)
    assert run.ok and run.diagnostics["counts"]["blacklisted"] == 1
    after = ScoreSnapshot.objects.get(customer=bank.x, as_of=AS_OF)
    assert after.tier_pyramid == "RESTRICTED"
    assert CustomerStanding.objects.get(customer=bank.x).tier == "RESTRICTED"
    # Another customer keeps their tier.
    assert ScoreSnapshot.objects.get(customer=bank.y, as_of=AS_OF).tier_pyramid != "RESTRICTED"


def test_the_360_marks_the_lists(bank, login, risk) -> None:  # noqa: F811
    maker, checker = risk
    page = login("cm_owner").get("/customers/P0000001/").content.decode()
    assert 'id="blacklisted"' not in page
    entry = list_entry_propose(staff=maker, customer=bank.x, list_kind="BLACK", reason="骗取贷款")
    page = login("cm_owner").get("/customers/P0000001/").content.decode()
    assert 'id="blacklisted"' not in page  # proposed only
    list_entry_decide(staff=checker, entry=entry, approve=True)
    ListEntry.objects.create(
        customer=bank.x, list_kind="RED", reason="纳税信用A级", status="APPROVED", source="CORE"
    )
    page = login("cm_owner").get("/customers/P0000001/").content.decode()
    assert 'id="blacklisted"' in page and "骗取贷款" in page
    assert 'id="red-listed"' in page and "纳税信用A级" in page


def test_a_blacklisted_customer_has_no_suggestion(bank, risk) -> None:  # noqa: F811
    from qiao.suitability.models import Suggestion
    from qiao.suitability.suggestions import suggestions_shown

    Suggestion.objects.create(
        customer=bank.x,
        product=bank.products["TD1Y"],
        as_of=AS_OF,
        rank=1,
        reason_code="MATURITY",
        expected_gain=100,
    )
    ok, blocked = suggestions_shown(bank.x)
    assert len(ok) + len(blocked) == 1
    maker, checker = risk
    entry = list_entry_propose(staff=maker, customer=bank.x, list_kind="BLACK", reason="欺诈")
    assert sum(map(len, suggestions_shown(bank.x))) == 1  # proposed only
    list_entry_decide(staff=checker, entry=entry, approve=True)
    assert suggestions_shown(bank.x) == ([], [])
