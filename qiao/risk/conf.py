"""The risk settings files: ``config/keyaccounts.toml`` and ``config/warning.toml``.

Read at run time (the next evaluation uses an edit); ``QIAO_RISK_CONFIG`` may name a folder with
other copies (the tests use it). A file that does not parse, or a rule that does not validate,
stops the evaluation with a message naming the file and the field.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from qiao.analytics.warning import WarningRuleError, WarningRules, parse_warning_rules
from qiao.core.errors import ApplicationError
from qiao.core.vocab import CUSTOMER_TYPES, KEY_ACCOUNT_GRADES

CONFIG_DIR = Path(__file__).resolve().parent / "config"


def _dir() -> Path:
    return Path(os.environ.get("QIAO_RISK_CONFIG") or CONFIG_DIR)


def _load(name: str) -> dict[str, Any]:
    path = _dir() / name
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ApplicationError(f"{path}: {exc}") from exc


@lru_cache(maxsize=4)
def _warning_rules(folder: str, mtime: float) -> WarningRules:
    try:
        return parse_warning_rules(_load("warning.toml"))
    except WarningRuleError as exc:
        raise ApplicationError(f"{Path(folder) / 'warning.toml'}: {exc}") from exc


def warning_rules() -> WarningRules:
    path = _dir() / "warning.toml"
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _warning_rules(str(_dir()), mtime)


def warning_action(name: str) -> int:
    return int(warning_rules().actions.get(name, 0))


@dataclass(frozen=True)
class GradeRule:
    code: str
    min_contribution: Decimal
    min_credit_limit: Decimal


@dataclass(frozen=True)
class VisitStandard:
    grade: str
    interval_days: int
    lead_days: int


@dataclass(frozen=True)
class KeyAccountRules:
    min_contribution: Decimal
    min_credit_limit: Decimal
    customer_types: tuple[str, ...]
    grades: tuple[GradeRule, ...]
    visits: dict[str, VisitStandard]

    def grade_for(self, *, contribution: Decimal, credit_limit: Decimal) -> str:
        for g in self.grades:
            if contribution >= g.min_contribution or credit_limit >= g.min_credit_limit:
                return g.code
        return self.grades[-1].code


def _amount(where: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ApplicationError(f"keyaccounts.toml {where}: {value!r} is not an amount ≥ 0")
    return Decimal(str(value))


def parse_key_account_rules(data: dict[str, Any]) -> KeyAccountRules:
    d = data.get("designation")
    if not isinstance(d, dict):
        raise ApplicationError("keyaccounts.toml [designation]: section missing")
    types = d.get("customer_types", [])
    for t in types:
        if t not in CUSTOMER_TYPES:
            raise ApplicationError(
                f"keyaccounts.toml [designation] customer_types: {t!r} is not a customer type"
            )
    grades = []
    for i, g in enumerate(data.get("grade", [])):
        code = g.get("code")
        if code not in KEY_ACCOUNT_GRADES:
            raise ApplicationError(f"keyaccounts.toml [[grade]] {i + 1}: {code!r} is not a grade")
        grades.append(
            GradeRule(
                code=code,
                min_contribution=_amount(
                    f"[[grade]] {code} min_contribution", g.get("min_contribution")
                ),
                min_credit_limit=_amount(
                    f"[[grade]] {code} min_credit_limit", g.get("min_credit_limit")
                ),
            )
        )
    if not grades:
        raise ApplicationError("keyaccounts.toml: no [[grade]]")
    visits = {}
    for i, v in enumerate(data.get("visit", [])):
        code = v.get("grade")
        if code not in KEY_ACCOUNT_GRADES:
            raise ApplicationError(f"keyaccounts.toml [[visit]] {i + 1}: {code!r} is not a grade")
        interval, lead = v.get("interval_days"), v.get("lead_days", 0)
        if not isinstance(interval, int) or interval < 1 or not isinstance(lead, int) or lead < 0:
            raise ApplicationError(
                f"keyaccounts.toml [[visit]] {code}: interval_days ≥ 1 and lead_days ≥ 0 (whole days)"
            )
        visits[code] = VisitStandard(code, interval, lead)
    return KeyAccountRules(
        min_contribution=_amount("[designation] min_contribution", d.get("min_contribution")),
        min_credit_limit=_amount("[designation] min_credit_limit", d.get("min_credit_limit")),
        customer_types=tuple(types),
        grades=tuple(grades),
        visits=visits,
    )


def key_account_rules() -> KeyAccountRules:
    return parse_key_account_rules(_load("keyaccounts.toml"))
