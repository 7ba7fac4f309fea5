"""The questionnaire: the file in the repository parses and covers the inputs the rules name; the
scoring is pure and total (any full set of answers gives a score inside the bands and a tolerance);
mistakes in an edited version are refused by name, in the admin as in the file."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qiao.core.vocab import RISK_TOLERANCES
from qiao.suitability.questionnaire import (
    REQUIRED_INPUTS,
    AnswersError,
    QuestionnaireError,
    default_questionnaire_data,
    parse_questionnaire,
    score_answers,
    style_gap,
    tolerance_for_score,
)

Q = parse_questionnaire()


def _all(pick) -> dict[str, str]:
    return {q.id: pick(q.answers).id for q in Q.questions}


def test_the_file_covers_every_input_the_rules_name():
    assert {q.covers for q in Q.questions} == set(REQUIRED_INPUTS)
    assert [b.tolerance for b in Q.bands] == list(RISK_TOLERANCES.codes)
    assert Q.bands[0].min <= Q.min_score and Q.bands[-1].max >= Q.max_score
    assert Q.valid_months == 12 and Q.warn_days == 30
    for q in Q.questions:
        assert q.text.en and q.text.zh_Hans and q.text.zh_Hant
        assert q.text.get("zh-hans") == q.text.zh_Hans
        assert q.text.get("zh-hant") == q.text.zh_Hant
        assert q.text.get("en") == q.text.en


def test_lowest_and_highest_answers():
    low = score_answers(Q, _all(lambda answers: min(answers, key=lambda a: a.points)))
    high = score_answers(Q, _all(lambda answers: max(answers, key=lambda a: a.points)))
    assert (low.score, low.tolerance) == (Q.min_score, "C1")
    assert low.capped_by == ""  # the cap changed nothing: the band is C1 already
    assert (high.score, high.tolerance) == (Q.max_score, "C5")


def test_no_loss_at_all_caps_a_high_score_at_c1():
    answers = _all(lambda answers: max(answers, key=lambda a: a.points))
    answers["loss"] = "a"
    scored = score_answers(Q, answers)
    assert scored.score > 80 and scored.tolerance == "C1" and scored.capped_by == "loss"


def test_bands_are_inclusive_and_contiguous():
    assert tolerance_for_score(Q, 20) == "C1"
    assert tolerance_for_score(Q, 21) == "C2"
    assert tolerance_for_score(Q, 60) == "C3"
    assert tolerance_for_score(Q, 61) == "C4"
    assert tolerance_for_score(Q, 100) == "C5"


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_full_set_of_answers_scores_inside_the_bands(data):
    answers = {q.id: data.draw(st.sampled_from([a.id for a in q.answers])) for q in Q.questions}
    scored = score_answers(Q, answers)
    assert Q.min_score <= scored.score <= Q.max_score
    assert scored.score == sum(q.answer(answers[q.id]).points for q in Q.questions)
    band = tolerance_for_score(Q, scored.score)
    capped = any(q.answer(answers[q.id]).cap for q in Q.questions)
    assert scored.tolerance == band or (capped and scored.tolerance < band)
    # Raising any one answer to a higher-scoring one never lowers the tolerance (caps aside).
    for q in Q.questions:
        better = max(q.answers, key=lambda a: a.points)
        raised = score_answers(Q, {**answers, q.id: better.id})
        if not better.cap and not capped:
            assert raised.tolerance >= scored.tolerance


def test_unanswered_unknown_and_foreign_answers_are_refused():
    answers = _all(lambda answers: answers[0])
    missing = dict(answers)
    del missing["liquidity"]
    with pytest.raises(AnswersError) as exc:
        score_answers(Q, missing)
    assert exc.value.question == "liquidity"
    with pytest.raises(AnswersError):
        score_answers(Q, {**answers, "loss": "z"})
    with pytest.raises(AnswersError) as exc:
        score_answers(Q, {**answers, "horoscope": "a"})
    assert exc.value.question == "horoscope"


def test_style_gap_reads_the_mapping():
    assert style_gap(Q, style="AGGRESSIVE", tolerance="C2") == 3
    assert style_gap(Q, style="STEADY", tolerance="C2") == 0
    assert style_gap(Q, style="CONSERVATIVE", tolerance="C3") < 0
    assert style_gap(Q, style="DORMANT", tolerance="C1") == 0


def _broken(change) -> dict:
    data = copy.deepcopy(default_questionnaire_data())
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["questions"].pop(0), "covers age"),
        (lambda d: d["bands"][1].update(min=25), "C2 must start at 21"),
        (lambda d: d["bands"][4].update(max=90), "cover every possible score"),
        (lambda d: d["bands"][0].update(tolerance="C9"), "'C9' is not a tolerance"),
        (lambda d: d["questions"][2]["answers"][1].pop("points"), "answer 'b': points"),
        (lambda d: d["questions"][2]["answers"][1].update(points=-1), "at least 0"),
        (lambda d: d["questions"][0]["text"].pop("zh_Hans"), "text.zh_Hans is required"),
        (lambda d: d["questions"][1].update(id="age"), "question ids repeat"),
        (lambda d: d["reassess"]["style_level"].update(BOLD="C5"), "'BOLD' is not a risk style"),
        (lambda d: d["validity"].update(months=0), "months must be at least 1"),
        (lambda d: d.update(version=""), "version"),
    ],
)
def test_mistakes_are_refused_by_name(change, words):
    with pytest.raises(QuestionnaireError) as exc:
        parse_questionnaire(_broken(change))
    assert words in str(exc.value)


@pytest.mark.django_db
def test_the_admin_checks_an_edited_version_with_the_same_parser():
    from qiao.suitability.admin import QuestionnaireForm

    good = QuestionnaireForm(
        data={"name": "bank", "definition": _dump(default_questionnaire_data()), "active": True}
    )
    assert good.is_valid(), good.errors
    bad = _broken(lambda d: d["bands"][1].update(min=25))
    form = QuestionnaireForm(data={"name": "bank2", "definition": _dump(bad), "active": True})
    assert not form.is_valid()
    assert "C2 must start at 21" in str(form.errors["definition"])


@pytest.mark.django_db
def test_the_active_edited_version_is_used():
    from qiao.suitability.assessments import active_questionnaire
    from qiao.suitability.models import Questionnaire

    edited = _broken(lambda d: d.update(version="BANK-2027"))
    Questionnaire.objects.create(name="bank", definition=edited, active=True)
    assert active_questionnaire().version == "BANK-2027"
    # A version broken in the database by hand: the file, rather than a broken page.
    Questionnaire.objects.create(name="broken", definition={"version": "x"}, active=True)
    assert active_questionnaire().version == Q.version


def _dump(data: dict) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)
