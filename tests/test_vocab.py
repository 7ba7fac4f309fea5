"""One vocabulary (issue 12 item 1): every list of domain codes lives in qiao.core.vocab.

The first test reads the source tree and fails when a second copy of a vocabulary appears; the
others check that what must follow the vocabulary — model choices, ingest, analytics, labels,
configuration files, catalogues — does.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import polib
import pytest
from django.utils import translation

from qiao.core import vocab
from qiao.core.vocab import VOCABULARIES, Vocabulary

ROOT = Path(__file__).resolve().parent.parent
QIAO = ROOT / "qiao"

#: Literals that name several codes of a vocabulary on purpose, not as a copy of it: (path, codes).
DELIBERATE: dict[tuple[str, frozenset[str]], str] = {
    ("qiao/demo/run.py", frozenset({"CM", "OUTLET_HEAD", "AUDITOR", "ANALYST"})): (
        "the roles whose example login the demo prints"
    ),
    (
        "qiao/risk/reasons.py",
        frozenset(
            {
                "AUM_DECLINE",
                "BLACKLISTED",
                "CLEARED",
                "DEPOSIT_OUTFLOW",
                "LINKED",
                "LOAN_CLASS",
                "NO_IMPROVEMENT",
                "OVERDUE",
                "RISK_SIGNAL",
                "SETTLEMENT_DECLINE",
                "STAFF",
                "UTILISATION_JUMP",
                "WRITTEN_OFF",
            }
        ),
    ): "each warning reason's sentence with its numbers (the vocabulary has its short name)",
    ("qiao/demo/surveys.py", frozenset({"MEETING", "OUTLET", "PHONE"})): (
        "the demo's weighted mix of contact channels"
    ),
    ("qiao/demo/surveys.py", frozenset({"MOBILE", "ONLINE", "PHONE"})): (
        "the e-banking questionnaire's answer options (qiao/surveys/config), not a vocabulary"
    ),
}

_LABEL_CALLS = {"_", "gettext", "gettext_lazy", "gettext_noop", "pgettext", "pgettext_lazy"}


def _strings(nodes: list[ast.expr | None]) -> list[str]:
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _is_label(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name in _LABEL_CALLS
    return False


def _findings(path: Path, rel: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            codes, labels, keyed = _strings(list(node.elts)), False, False
        elif isinstance(node, ast.Dict):
            codes = _strings(list(node.keys))
            labels = any(_is_label(v) for v in node.values)
            keyed = True
        else:
            continue
        for v in VOCABULARIES.values():
            hit = set(codes) & set(v.codes)
            if len(hit) < 3 or (rel, frozenset(hit)) in DELIBERATE:
                continue
            where = f"{rel}:{node.lineno}: {sorted(hit)} of {v.name!r}"
            if not keyed or labels:
                # A list of codes, or codes with their labels: a copy of the vocabulary.
                found.append(f"{where} — import it from qiao.core.vocab")
            elif not any(set(codes) <= set(w.codes) for w in VOCABULARIES.values()):
                # A table of parameters by code (margins, weights): its keys must be codes.
                found.append(f"{where} — keys {sorted(set(codes) - set(v.codes))} are not codes")
    return found


def test_no_vocabulary_is_written_twice():
    """A list, set or tuple of three or more codes of one vocabulary, or a dict labelling them,
    anywhere in qiao/ but the vocabulary module and the migrations, is a second copy."""
    found = []
    for path in sorted(QIAO.rglob("*.py")):
        if "migrations" in path.parts or path == QIAO / "core" / "vocab.py":
            continue
        found.extend(_findings(path, path.relative_to(ROOT).as_posix()))
    assert found == []


def test_the_scan_finds_a_copy(tmp_path):
    """The scan itself: a copied list, a label dict and a misspelt parameter table are found."""
    copy = tmp_path / "probe.py"
    copy.write_text(
        'A = ("DEMAND", "TIME", "FUND")\n'
        'B = {"DIAMOND": _("Diamond"), "GOLD": "Gold", "ORDINARY": "Ordinary"}\n'
        'C = {"DEMAND": 1, "TIME": 2, "FUND": 3, "FUNDS": 4}\n'
        'D = {"DEMAND": 1, "TIME": 2, "FUND": 3}\n',
        encoding="utf-8",
    )
    found = _findings(copy, "probe.py")
    assert [f.split(":")[1] for f in found] == ["1", "2", "3"]


def _customer_fields() -> frozenset[str]:
    from qiao.customers.rules import CUSTOMER_FIELDS

    return frozenset(CUSTOMER_FIELDS)


def _field_list_copies(path: Path, rel: str, fields: frozenset[str]) -> list[str]:
    """Literals naming half or more of a customer's fields: a list, tuple or set of them, or a
    dict giving them constants, labels or rules (a dict of generated columns by field is data)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            names = _strings(list(node.elts))
        elif isinstance(node, ast.Dict) and any(
            _is_label(v) or isinstance(v, ast.Tuple) for v in node.values
        ):
            names = _strings(list(node.keys))
        else:
            continue
        hit = set(names) & fields
        if len(hit) * 2 >= len(fields):
            found.append(f"{rel}:{node.lineno}: {len(hit)} customer fields")
    return found


def test_the_customer_field_list_is_written_once():
    """qiao.customers.rules.CUSTOMER_FIELDS is the one list of a customer's fields; the profile
    editor, the ingest, the demo and the API derive theirs from it."""
    fields = _customer_fields()
    found = []
    for path in sorted(QIAO.rglob("*.py")):
        if "migrations" in path.parts or path == QIAO / "customers" / "rules.py":
            continue
        found.extend(_field_list_copies(path, path.relative_to(ROOT).as_posix(), fields))
    assert found == []


def test_the_field_list_scan_finds_a_copy(tmp_path):
    fields = _customer_fields()
    half = sorted(fields)[: (len(fields) + 1) // 2]
    probe = tmp_path / "probe.py"
    probe.write_text(
        f"A = {tuple(half)!r}\n"
        f"B = {dict.fromkeys(half, 'x')!r}\n"
        f"C = {half[:-1]!r}\n"
        f"D = {{f: f for f in {half!r}}}\n",
        encoding="utf-8",
    )
    found = _field_list_copies(probe, "probe.py", fields)
    # D's list is a copy too (line 4); C names fewer than half.
    assert [f.split(":")[1] for f in found] == ["1", "2", "4"]


def test_the_customer_fields_are_derived():
    from qiao.api.api import _SHOWN_APART, _TEXT_FIELDS
    from qiao.api.schemas import CustomerDetail
    from qiao.customers.rules import CORE_BANKING_FIELDS, CUSTOMER_FIELDS
    from qiao.customers.services import PROFILE_FIELDS
    from qiao.ingest.master import CUSTOMER_COLUMNS

    fields = list(CUSTOMER_FIELDS)
    assert list(PROFILE_FIELDS) == [f for f in fields if f not in CORE_BANKING_FIELDS]
    assert set(CUSTOMER_COLUMNS) | {"customer_no", "branch_code"} == set(fields)
    assert set(_TEXT_FIELDS) | _SHOWN_APART == set(fields)
    assert set(_TEXT_FIELDS) <= set(CustomerDetail.model_fields)


def test_the_vocabulary_module_never_imports_django():
    code = (
        "import sys, qiao.core.vocab; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def _model_choices():
    from qiao.customers import models as customers
    from qiao.engagement.models import Channel
    from qiao.org.models import Grade, Role, UnitLevel
    from qiao.products.models import (
        AccountStatus,
        Category,
        Motive,
        RelationType,
        RiskLevel,
        Service,
    )

    return [
        (customers.CustomerType, vocab.CUSTOMER_TYPES),
        (customers.IdType, vocab.ID_TYPES),
        (customers.Gender, vocab.GENDERS),
        (customers.MaritalStatus, vocab.MARITAL_STATUSES),
        (customers.OwnershipType, vocab.OWNERSHIP_TYPES),
        (customers.SizeClass, vocab.SIZE_CLASSES),
        (customers.MemberRole, vocab.GROUP_ROLES),
        (customers.LinkType, vocab.GROUP_LINKS),
        (customers.Relation, vocab.RELATIONS),
        (customers.OwnerRole, vocab.OWNERSHIP_ROLES),
        (customers.ConsentChannel, vocab.CONSENT_CHANNELS),
        (customers.ConsentState, vocab.CONSENT_STATES),
        (customers.ConsentSource, vocab.CONSENT_SOURCES),
        (customers.CustomerLanguage, vocab.CUSTOMER_LANGUAGES),
        (AccountStatus, vocab.ACCOUNT_STATUSES),
        (RelationType, vocab.PAYROLL_TYPES),
        (Category, vocab.CATEGORIES),
        (RiskLevel, vocab.RISK_LEVELS),
        (Motive, vocab.MOTIVES),
        (Service, vocab.EBANKING_SERVICES),
        (Role, vocab.ROLES),
        (Grade, vocab.GRADES),
        (UnitLevel, vocab.UNIT_LEVELS),
        (Channel, vocab.CONTACT_CHANNELS),
    ]


def test_model_choices_are_the_vocabularies():
    with translation.override("en"):
        for choices, vocabulary in _model_choices():
            assert [(c, str(label)) for c, label in choices.choices] == [
                (t.code, t.label) for t in vocabulary
            ], choices.__name__


def test_model_fields_use_the_choices():
    from qiao.customers.models import (
        Consent,
        ConsentChange,
        ContactPreference,
        Customer,
        GroupMembership,
        Ownership,
        Relationship,
    )
    from qiao.engagement.models import Contact
    from qiao.org.models import OrgUnit, Staff
    from qiao.products.models import Account, EBankingService, PayrollRelation, Product

    customer = Customer._meta.get_field
    fields = [
        (customer("customer_type"), vocab.CUSTOMER_TYPES),
        (customer("id_type"), vocab.ID_TYPES),
        (customer("gender"), vocab.GENDERS),
        (customer("marital_status"), vocab.MARITAL_STATUSES),
        (customer("ownership_type"), vocab.OWNERSHIP_TYPES),
        (customer("size_class"), vocab.SIZE_CLASSES),
        (GroupMembership._meta.get_field("member_role"), vocab.GROUP_ROLES),
        (GroupMembership._meta.get_field("link_type"), vocab.GROUP_LINKS),
        (Relationship._meta.get_field("relation"), vocab.RELATIONS),
        (Ownership._meta.get_field("role"), vocab.OWNERSHIP_ROLES),
        (Consent._meta.get_field("channel"), vocab.CONSENT_CHANNELS),
        (Consent._meta.get_field("state"), vocab.CONSENT_STATES),
        (Consent._meta.get_field("source"), vocab.CONSENT_SOURCES),
        (ConsentChange._meta.get_field("new_state"), vocab.CONSENT_STATES),
        (ContactPreference._meta.get_field("preferred_channel"), vocab.CONSENT_CHANNELS),
        (ContactPreference._meta.get_field("language"), vocab.CUSTOMER_LANGUAGES),
        (Account._meta.get_field("status"), vocab.ACCOUNT_STATUSES),
        (PayrollRelation._meta.get_field("relation_type"), vocab.PAYROLL_TYPES),
        (Product._meta.get_field("category"), vocab.CATEGORIES),
        (Product._meta.get_field("risk_level"), vocab.RISK_LEVELS),
        (EBankingService._meta.get_field("service"), vocab.EBANKING_SERVICES),
        (Staff._meta.get_field("role"), vocab.ROLES),
        (Staff._meta.get_field("grade"), vocab.GRADES),
        (OrgUnit._meta.get_field("level"), vocab.UNIT_LEVELS),
        (Contact._meta.get_field("channel"), vocab.CONTACT_CHANNELS),
    ]
    for field, vocabulary in fields:
        assert [c for c, _label in field.choices] == list(vocabulary.codes), field


def test_attribute_sets_are_the_vocabularies():
    from qiao.analytics import features
    from qiao.org import models as org
    from qiao.products import models as products

    assert products.ASSET_CATEGORIES == set(features.ASSET_CATEGORIES)
    assert set(features.ASSET_CATEGORIES) == {"DEMAND", "TIME", "WEALTH", "FUND", "BOND"} | {
        "INSURANCE",
        "PRECIOUS_METAL",
    }
    assert set(features.CATEGORIES) == set(vocab.CATEGORIES.codes)
    assert features.DEPOSIT_CATEGORIES == vocab.CATEGORIES.having("deposit") == ("DEMAND", "TIME")
    assert products.RATED_CATEGORIES == set(vocab.CATEGORIES.having("rated"))
    assert products.CORPORATE_SERVICES == set(vocab.EBANKING_SERVICES.having("corporate"))
    assert set(features.ELECTRONIC_CHANNELS) | set(features.SELF_SERVICE_CHANNELS) | set(
        features.COUNTER_CHANNELS
    ) == set(vocab.CHANNELS.codes)
    assert set(features.MOTIVES) == set(vocab.MOTIVES.codes)
    assert org.OWNER_ROLES == {"CM", "SENIOR_CM", "TEAM_LEAD", "OUTLET_HEAD"}
    assert org.SUBTREE_ROLES | org.BANKWIDE_ROLES | org.OWNER_ROLES | {"LOBBY"} == set(
        vocab.ROLES.codes
    )
    assert org.LEVEL_DEPTH == {"HEAD_OFFICE": 0, "BRANCH": 1, "SUB_BRANCH": 2, "OUTLET": 3}


def test_ingest_accepts_exactly_the_vocabularies():
    from qiao.ingest.kinds import KINDS

    def accepted(kind: str, column: str) -> tuple[str, ...]:
        cleaner = KINDS[kind].spec[column][1]
        return tuple(cleaner.keywords["choices"])  # type: ignore[attr-defined]

    assert accepted("products", "category") == vocab.CATEGORIES.codes
    assert accepted("products", "risk_level") == vocab.RISK_LEVELS.codes
    assert accepted("products", "motives") == vocab.MOTIVES.codes
    assert accepted("staff", "role") == vocab.ROLES.codes
    assert accepted("staff", "grade") == vocab.GRADES.codes
    assert accepted("org_units", "level") == vocab.UNIT_LEVELS.codes
    assert accepted("ebanking", "service") == vocab.EBANKING_SERVICES.codes
    assert accepted("transactions", "channel") == vocab.CHANNELS.codes
    assert accepted("transactions", "txn_type") == vocab.TXN_TYPES.codes
    assert accepted("customers", "customer_type") == vocab.CUSTOMER_TYPES.codes
    assert accepted("customers", "id_type") == vocab.ID_TYPES.codes
    assert accepted("customers", "gender") == vocab.GENDERS.codes
    assert accepted("customers", "marital_status") == vocab.MARITAL_STATUSES.codes
    assert accepted("customers", "ownership_type") == vocab.OWNERSHIP_TYPES.codes
    assert accepted("customers", "size_class") == vocab.SIZE_CLASSES.codes
    assert accepted("groups", "member_role") == vocab.GROUP_ROLES.codes
    assert accepted("groups", "link_type") == vocab.GROUP_LINKS.codes
    assert accepted("relationships", "relation") == vocab.RELATIONS.codes
    assert accepted("accounts", "status") == vocab.ACCOUNT_STATUSES.codes
    assert accepted("accounts", "currency") == vocab.CURRENCIES.codes
    assert accepted("payroll", "relation_type") == vocab.PAYROLL_TYPES.codes
    assert accepted("ownership", "role") == vocab.OWNERSHIP_ROLES.codes


def test_the_demo_generates_from_the_vocabularies():
    from qiao.demo import accounts, activity, links, pools

    assert accounts.CATS == vocab.CATEGORIES.codes
    assert [accounts.CATS[i] for i in (accounts.C_DEMAND, accounts.C_GOLD, accounts.C_SET)] == [
        "DEMAND",
        "PRECIOUS_METAL",
        "SETTLEMENT",
    ]
    assert activity.CHANNELS == vocab.CHANNELS.codes
    assert activity.TYPES == vocab.TXN_TYPES.codes
    assert links.SERVICES == vocab.EBANKING_SERVICES.codes
    assert {p.category for p in pools.PRODUCTS} <= set(vocab.CATEGORIES.codes)
    assert {p.risk for p in pools.PRODUCTS if p.risk} <= set(vocab.RISK_LEVELS.codes)
    assert accounts.STATUS_NAMES == vocab.ACCOUNT_STATUSES.codes
    assert [accounts.STATUS_NAMES[i] for i in (accounts.ACTIVE, accounts.CLOSED)] == [
        "ACTIVE",
        "CLOSED",
    ]
    assert links.REL_TYPES == vocab.PAYROLL_TYPES.codes


def test_configuration_files_use_the_codes():
    from qiao.analytics.contribution import DEFAULT_MARGIN
    from qiao.analytics.features import FeatureParams

    assert set(DEFAULT_MARGIN) == set(vocab.CATEGORIES.codes)
    config = resources.files("qiao.analytics.config")
    scoring = tomllib.loads(config.joinpath("scoring.toml").read_text("utf-8"))
    assert set(scoring["contribution"]["margin"]) == set(vocab.CATEGORIES.codes)
    assert set(scoring["features"]["bank_initiated_txn_types"]) == set(
        FeatureParams().bank_initiated_txn_types
    )
    cadence = tomllib.loads(
        resources.files("qiao.engagement.config").joinpath("cadence.toml").read_text("utf-8")
    )
    tiers_used = {rule["tier"] for rule in cadence["cadence"]}
    tiers_used |= set(cadence["worklist"]["greeting_tiers"])
    assert tiers_used and tiers_used <= set(vocab.PYRAMID_TIERS.codes)


def test_the_tier_rule_file_is_the_vocabulary():
    """tiers.toml's codes and labels are the vocabulary's (its defaults); order: best first,
    then the catch-all, then the overrides."""
    from qiao.analytics.tiers import parse_tier_rules

    schemes = parse_tier_rules(None)
    assert set(schemes) == set(vocab.TIER_SCHEMES)
    for name, scheme in schemes.items():
        vocabulary = vocab.TIER_SCHEMES[name]
        assert scheme.codes == list(vocabulary.codes)
        for tier in scheme.tiers:
            assert (tier.label_en, tier.label_zh) == (
                vocabulary.label(tier.code),
                vocabulary[tier.code].zh,
            )


def test_code_labels_cover_the_vocabularies():
    from qiao.core.labels import CODE_LABELS

    with translation.override("en"):
        for vocabulary in (
            vocab.LIFECYCLE_STAGES,
            vocab.MOTIVES,
            vocab.NEED_MODES,
            vocab.RISK_STYLES,
            vocab.CHANNELS,
            vocab.TXN_TYPES,
        ):
            assert {c: str(CODE_LABELS[c]) for c in vocabulary.codes} == {
                t.code: t.label for t in vocabulary
            }
        assert set(vocab.CATEGORIES.codes) <= set(CODE_LABELS)


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant"])
def test_every_label_is_translated(language):
    po = polib.pofile(str(QIAO / "locale" / language / "LC_MESSAGES" / "django.po"))
    translated = {(e.msgctxt, e.msgid) for e in po if e.msgstr and not e.obsolete}
    missing = [
        (v.name, t.code, t.context, t.label)
        for v in VOCABULARIES.values()
        for t in v
        if (t.context, t.label) not in translated
    ]
    assert missing == []


def test_a_vocabulary_refuses_mistakes():
    with pytest.raises(ValueError, match="listed twice"):
        Vocabulary("x", [vocab.Term("A", "a"), vocab.Term("A", "b")])
    with pytest.raises(ValueError, match="unknown flag 'big'"):
        Vocabulary("x", [vocab.Term("A", "a", flags=frozenset({"big"}))])
    with pytest.raises(KeyError):
        vocab.CATEGORIES.having("cheap")
    assert vocab.PYRAMID_TIERS.rank("DIAMOND") == 0
    assert "GOLD" in vocab.PYRAMID_TIERS and "VIP" not in vocab.PYRAMID_TIERS
