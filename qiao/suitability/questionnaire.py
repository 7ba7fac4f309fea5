"""The risk-tolerance questionnaire: parsed from ``config/questionnaire.toml`` (or an edited version
in the admin, checked by the same parser), and the pure scoring, answers → score → tolerance.

No Django here: the admin, the form, the API and the tests all call :func:`parse_questionnaire`
and :func:`score_answers`. The defaults are Qiao's own (docs/suitability.md, "Risk assessment");
the inputs a questionnaire must cover are the 2011 Measures Art. 28's.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from qiao.core.vocab import RISK_STYLES, RISK_TOLERANCES

#: The inputs an assessment must cover (2011 Measures Art. 28), each by one question at least.
REQUIRED_INPUTS: tuple[str, ...] = (
    "age",
    "financial_situation",
    "investment_experience",
    "investment_purpose",
    "expected_return",
    "risk_preference",
    "liquidity_needs",
    "risk_understanding",
    "loss_tolerance",
)

LANGUAGES = ("en", "zh_Hans", "zh_Hant")


class QuestionnaireError(ValueError):
    """The questionnaire cannot be used; the message names the question, answer and field."""


class AnswersError(ValueError):
    """The answers do not fit the questionnaire; ``question`` names the one at fault."""

    def __init__(self, message: str, question: str) -> None:
        super().__init__(message)
        self.question = question


@dataclass(frozen=True)
class Text:
    en: str
    zh_Hans: str
    zh_Hant: str

    def get(self, language: str) -> str:
        """The text in ``language`` (a Django language code: ``en``, ``zh-hans``, ``zh-hant``)."""
        language = (language or "").lower()
        if language.startswith("zh"):
            return (
                self.zh_Hant
                if "hant" in language or language in ("zh-tw", "zh-hk")
                else self.zh_Hans
            )
        return self.en


@dataclass(frozen=True)
class Answer:
    id: str
    points: int
    text: Text
    cap: str = ""  # the highest tolerance this answer allows, "" for none


@dataclass(frozen=True)
class Question:
    id: str
    covers: str
    text: Text
    answers: tuple[Answer, ...]

    def answer(self, answer_id: str) -> Answer | None:
        return next((a for a in self.answers if a.id == answer_id), None)


@dataclass(frozen=True)
class Band:
    tolerance: str
    min: int
    max: int


@dataclass(frozen=True)
class Questionnaire:
    version: str
    questions: tuple[Question, ...]
    bands: tuple[Band, ...]
    valid_months: int
    warn_days: int
    reassess_gap: int
    #: behavioural risk style code → the tolerance it resembles
    style_level: Mapping[str, str]

    @property
    def max_score(self) -> int:
        return sum(max(a.points for a in q.answers) for q in self.questions)

    @property
    def min_score(self) -> int:
        return sum(min(a.points for a in q.answers) for q in self.questions)


@dataclass(frozen=True)
class Scored:
    score: int
    tolerance: str
    #: the question whose answer capped the tolerance below its band's, "" for none
    capped_by: str = ""


def default_questionnaire_data() -> dict[str, Any]:
    """The file in the repository, as a dict (what the admin starts a new version from)."""
    text = resources.files("qiao.suitability.config").joinpath("questionnaire.toml")
    return tomllib.loads(text.read_text("utf-8"))


def _text(raw: Any, where: str) -> Text:
    if not isinstance(raw, Mapping):
        raise QuestionnaireError(f"{where}: 'text' must be a table with en and zh_Hans")
    values = {}
    for lang in LANGUAGES:
        value = raw.get(lang, "")
        if not isinstance(value, str):
            raise QuestionnaireError(f"{where}: text.{lang} must be a string")
        values[lang] = value.strip()
    for lang in ("en", "zh_Hans"):
        if not values[lang]:
            raise QuestionnaireError(f"{where}: text.{lang} is required")
    values["zh_Hant"] = values["zh_Hant"] or values["zh_Hans"]
    return Text(**values)


def _int(raw: Mapping[str, Any], key: str, where: str, *, minimum: int = 0) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise QuestionnaireError(f"{where}: {key} must be a whole number")
    if value < minimum:
        raise QuestionnaireError(f"{where}: {key} must be at least {minimum}")
    return value


def _id(raw: Mapping[str, Any], where: str) -> str:
    value = raw.get("id")
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        raise QuestionnaireError(f"{where}: id must be a string of 1 to 40 characters")
    return value.strip()


def _tolerance(value: Any, where: str) -> str:
    if value not in RISK_TOLERANCES.codes:
        codes = ", ".join(RISK_TOLERANCES.codes)
        raise QuestionnaireError(f"{where}: {value!r} is not a tolerance ({codes})")
    return str(value)


def _question(raw: Any, index: int) -> Question:
    where = f"question {index + 1}"
    if not isinstance(raw, Mapping):
        raise QuestionnaireError(f"{where}: must be a table")
    qid = _id(raw, where)
    where = f"question {qid!r}"
    covers = raw.get("covers", "")
    if covers not in REQUIRED_INPUTS:
        raise QuestionnaireError(
            f"{where}: covers must be one of {', '.join(REQUIRED_INPUTS)} (got {covers!r})"
        )
    answers_raw = raw.get("answers")
    if not isinstance(answers_raw, list) or len(answers_raw) < 2:
        raise QuestionnaireError(f"{where}: needs at least two answers")
    answers = []
    for a_index, a_raw in enumerate(answers_raw):
        a_where = f"{where}, answer {a_index + 1}"
        if not isinstance(a_raw, Mapping):
            raise QuestionnaireError(f"{a_where}: must be a table")
        aid = _id(a_raw, a_where)
        a_where = f"{where}, answer {aid!r}"
        cap = a_raw.get("cap", "")
        answers.append(
            Answer(
                id=aid,
                points=_int(a_raw, "points", a_where),
                text=_text(a_raw.get("text"), a_where),
                cap=_tolerance(cap, a_where) if cap else "",
            )
        )
    ids = [a.id for a in answers]
    if len(set(ids)) != len(ids):
        raise QuestionnaireError(f"{where}: answer ids repeat")
    return Question(
        id=qid, covers=covers, text=_text(raw.get("text"), where), answers=tuple(answers)
    )


def _bands(raw: Any, low: int, high: int) -> tuple[Band, ...]:
    if not isinstance(raw, list):
        raise QuestionnaireError("bands: must be a list of tables")
    bands = []
    for index, b in enumerate(raw):
        where = f"band {index + 1}"
        if not isinstance(b, Mapping):
            raise QuestionnaireError(f"{where}: must be a table")
        bands.append(
            Band(
                tolerance=_tolerance(b.get("tolerance"), where),
                min=_int(b, "min", where),
                max=_int(b, "max", where),
            )
        )
    if [b.tolerance for b in bands] != list(RISK_TOLERANCES.codes):
        raise QuestionnaireError(
            "bands: one band per tolerance, lowest first: " + ", ".join(RISK_TOLERANCES.codes)
        )
    for prev, band in zip(bands, bands[1:], strict=False):
        if band.min != prev.max + 1:
            raise QuestionnaireError(
                f"bands: {band.tolerance} must start at {prev.max + 1}, right after "
                f"{prev.tolerance} ends (no gap, no overlap)"
            )
    for band in bands:
        if band.max < band.min:
            raise QuestionnaireError(f"bands: {band.tolerance} ends before it starts")
    if bands[0].min > low or bands[-1].max < high:
        raise QuestionnaireError(
            f"bands: must cover every possible score, {low} to {high} "
            f"(they cover {bands[0].min} to {bands[-1].max})"
        )
    return tuple(bands)


def parse_questionnaire(data: Mapping[str, Any] | None = None) -> Questionnaire:
    """Check a questionnaire (as in ``questionnaire.toml``; ``None`` for the file) and return it.

    Raises :class:`QuestionnaireError` naming the question, answer, band or field at fault.
    """
    if data is None:
        data = default_questionnaire_data()
    if not isinstance(data, Mapping):
        raise QuestionnaireError("the questionnaire must be a table")
    version = data.get("version")
    if not isinstance(version, str) or not version.strip() or len(version) > 20:
        raise QuestionnaireError("version must be a string of 1 to 20 characters")
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise QuestionnaireError("questions: must be a non-empty list")
    questions = tuple(_question(q, i) for i, q in enumerate(raw_questions))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise QuestionnaireError("questions: question ids repeat")
    missing = [i for i in REQUIRED_INPUTS if i not in {q.covers for q in questions}]
    if missing:
        raise QuestionnaireError(
            "questions: no question covers " + ", ".join(missing) + " (2011 Measures Art. 28)"
        )
    low = sum(min(a.points for a in q.answers) for q in questions)
    high = sum(max(a.points for a in q.answers) for q in questions)
    bands = _bands(data.get("bands"), low, high)
    validity = data.get("validity", {})
    reassess = data.get("reassess", {})
    if not isinstance(validity, Mapping) or not isinstance(reassess, Mapping):
        raise QuestionnaireError("validity and reassess must be tables")
    styles = reassess.get("style_level", {})
    if not isinstance(styles, Mapping):
        raise QuestionnaireError("reassess.style_level must be a table of risk style = tolerance")
    for style, level in styles.items():
        if style not in RISK_STYLES.codes:
            raise QuestionnaireError(
                f"reassess.style_level: {style!r} is not a risk style "
                f"({', '.join(RISK_STYLES.codes)})"
            )
        _tolerance(level, f"reassess.style_level.{style}")
    return Questionnaire(
        version=version.strip(),
        questions=questions,
        bands=bands,
        valid_months=_int(validity, "months", "validity", minimum=1),
        warn_days=_int(validity, "warn_days", "validity"),
        reassess_gap=_int(reassess, "gap", "reassess", minimum=1),
        style_level=dict(styles),
    )


def tolerance_for_score(questionnaire: Questionnaire, score: int) -> str:
    """The band's tolerance of ``score`` (the bands cover every possible score)."""
    for band in questionnaire.bands:
        if band.min <= score <= band.max:
            return band.tolerance
    raise ValueError(f"score {score} is outside the bands")


def score_answers(questionnaire: Questionnaire, answers: Mapping[str, str]) -> Scored:
    """The total points of ``answers`` (question id → answer id) and the tolerance they give.

    Every question must be answered with one of its answers; an unknown question is refused too
    (answers to another version of the questionnaire must not be scored by this one). An answer
    with a ``cap`` lowers the band's tolerance to the cap.
    """
    known = {q.id for q in questionnaire.questions}
    for qid in answers:
        if qid not in known:
            raise AnswersError(f"{qid!r} is not a question of {questionnaire.version}", qid)
    total = 0
    cap_rank, capped_by = len(RISK_TOLERANCES.codes), ""
    for q in questionnaire.questions:
        chosen = answers.get(q.id)
        if not chosen:
            raise AnswersError(f"question {q.id!r} is not answered", q.id)
        answer = q.answer(str(chosen))
        if answer is None:
            raise AnswersError(f"{chosen!r} is not an answer to question {q.id!r}", q.id)
        total += answer.points
        if answer.cap and RISK_TOLERANCES.rank(answer.cap) < cap_rank:
            cap_rank, capped_by = RISK_TOLERANCES.rank(answer.cap), q.id
    tolerance = tolerance_for_score(questionnaire, total)
    if cap_rank < RISK_TOLERANCES.rank(tolerance):
        return Scored(total, RISK_TOLERANCES.codes[cap_rank], capped_by)
    return Scored(total, tolerance)


def style_gap(questionnaire: Questionnaire, *, style: str, tolerance: str) -> int:
    """How many levels the behavioural ``style`` reads above the assessed ``tolerance`` (≤ 0 when
    not above; 0 for a style the questionnaire does not map, such as dormant)."""
    level = questionnaire.style_level.get(style)
    if not level or tolerance not in RISK_TOLERANCES.codes:
        return 0
    return int(RISK_TOLERANCES.rank(level)) - int(RISK_TOLERANCES.rank(tolerance))
