"""The survey files of ``qiao/surveys/config``: the sending rules (``surveys.toml``) and the
built-in surveys (every other ``*.toml``), checked with errors that name the file and the field."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qiao.core import vocab
from qiao.core.errors import ApplicationError

from .models import Measure, Purpose, QuestionKind

CONFIG_DIR = Path(__file__).resolve().parent / "config"
RULES_FILE = "surveys.toml"
LANGS = ("en", "zh_hans", "zh_hant")


@dataclass(frozen=True)
class SendingRules:
    interval_days: int
    channels: tuple[str, ...]


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ApplicationError(f"{path.name}: {exc}") from exc


def sending_rules(directory: Path = CONFIG_DIR) -> SendingRules:
    data = _read(directory / RULES_FILE).get("sending", {})
    days = data.get("interval_days", 90)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650:
        raise ApplicationError(f"{RULES_FILE}: sending.interval_days must be 0 to 3650 days")
    channels = tuple(data.get("channels", ()))
    filed = vocab.CONSENT_CHANNELS.having("file")
    for c in channels:
        if c not in filed:
            raise ApplicationError(
                f"{RULES_FILE}: sending.channels: {c!r} is not a channel sent as a file "
                f"({', '.join(filed)})"
            )
    if not channels:
        raise ApplicationError(f"{RULES_FILE}: sending.channels is empty")
    return SendingRules(interval_days=days, channels=channels)


def _texts(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in LANGS):
        raise ApplicationError(f"{where}: needs en, zh_hans and zh_hant texts")
    return {k: value[k].strip() for k in LANGS}


def survey_definitions(directory: Path = CONFIG_DIR) -> list[dict[str, Any]]:
    """Every built-in survey, checked: ``{code, purpose, name{}, invitation{}, questions[]}``."""
    out = []
    for path in sorted(directory.glob("*.toml")):
        if path.name == RULES_FILE:
            continue
        data = _read(path)
        where = path.name
        code = data.get("code")
        if not isinstance(code, str) or not code:
            raise ApplicationError(f"{where}: code is missing")
        if data.get("purpose") not in Purpose.values:
            raise ApplicationError(f"{where}: purpose must be one of {', '.join(Purpose.values)}")
        questions = []
        seen: set[str] = set()
        measures: set[str] = set()
        for i, q in enumerate(data.get("questions", []), start=1):
            qw = f"{where}: question {i}"
            if q.get("code") in seen or not q.get("code"):
                raise ApplicationError(f"{qw}: code missing or used twice")
            seen.add(q["code"])
            if q.get("kind") not in QuestionKind.values:
                raise ApplicationError(
                    f"{qw}: kind must be one of {', '.join(QuestionKind.values)}"
                )
            measure = q.get("measure", "")
            if measure not in Measure.values:
                raise ApplicationError(f"{qw}: unknown measure {measure!r}")
            if measure and measure in measures:
                raise ApplicationError(f"{qw}: a survey has one {measure} question")
            if measure:
                measures.add(measure)
            expected = {"CSAT": "SCALE", "NPS": "NPS", "COMMENT": "TEXT"}.get(measure)
            if expected and q["kind"] != expected:
                raise ApplicationError(f"{qw}: the {measure} question must be of kind {expected}")
            options = []
            if q["kind"] == QuestionKind.CHOICE:
                raw = q.get("options") or []
                if len(raw) < 2:
                    raise ApplicationError(f"{qw}: a choice needs at least two options")
                for o in raw:
                    if not isinstance(o.get("code"), str) or not o["code"]:
                        raise ApplicationError(f"{qw}: an option has no code")
                    options.append({"code": o["code"], **_texts(o, f"{qw} option {o['code']}")})
            questions.append(
                {
                    "code": q["code"],
                    "kind": q["kind"],
                    "measure": measure,
                    "required": bool(q.get("required", False)),
                    "text": _texts(q.get("text"), qw),
                    "options": options,
                }
            )
        if not questions:
            raise ApplicationError(f"{where}: no questions")
        out.append(
            {
                "code": code,
                "purpose": data["purpose"],
                "name": _texts(data.get("name"), f"{where}: name"),
                "invitation": _texts(data["invitation"], f"{where}: invitation")
                if "invitation" in data
                else dict.fromkeys(LANGS, ""),
                "questions": questions,
            }
        )
    return out
