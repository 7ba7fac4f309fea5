"""The risk assessment in a real browser, in 简体中文: a CM opens the assessment from the 360,
answers every question, is stopped for the missing signature, signs, and the 360 shows the
tolerance, its validity and the history."""

from __future__ import annotations

import re

import pytest

from qiao.suitability.models import RiskAssessment
from qiao.suitability.questionnaire import parse_questionnaire
from tests.workbench.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_cm_assesses_a_customer_in_simplified_chinese(browser, live_server, bank, lake):
    base = live_server.url
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(f"{base}/login/")
    page.fill("#id_username", "cm_owner")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/customers/P0000001/")
    panel = page.locator("#assessment")
    assert "风险承受能力（监管评估，C1–C5）" in panel.inner_text()
    assert "无风险评估" in page.locator("#assessment-missing").inner_text()
    # The R3 fund 张三 holds is listed for review, not hidden.
    assert "持有期间无有效风险评估" in page.locator("#assessment-review").inner_text()

    page.click("#assess-link")
    page.wait_for_url(f"{base}/customers/P0000001/assess/")
    questionnaire = parse_questionnaire(None)
    form = page.locator("#assessment-form").inner_text()
    assert questionnaire.questions[0].text.zh_Hans in form  # the questions in 简体中文
    # The middle answer to every question (clicking the label, as a person does).
    for q in questionnaire.questions:
        index = (len(q.answers) - 1) // 2
        page.click(f"label[for=id_q_{q.id}_{index}]")
    page.click("#assessment-form button[type=submit]")
    error = page.locator("#error-customer_signed")
    error.wait_for()
    assert "须客户签字确认" in error.inner_text()
    assert not RiskAssessment.objects.exists()
    # The answers are kept on the page; sign and record.
    assert page.locator(f"#id_q_{questionnaire.questions[0].id}_1").is_checked()
    page.check("#id_customer_signed")
    page.click("#assessment-form button[type=submit]")
    page.wait_for_url(f"{base}/customers/P0000001/")
    assessment = RiskAssessment.objects.get()
    assert assessment.tolerance == "C3" and assessment.recorded_by.username == "cm_owner"
    tolerance = page.locator("#assessment-tolerance").inner_text()
    assert tolerance.startswith("C3")
    assert "有效" in page.locator("#assessment-state").inner_text()
    history = page.locator("#assessment-history").inner_text()
    assert "王经理" in history and assessment.valid_until.isoformat() in history
    assert not [p for p in problems if re.search("Content Security Policy|Refused", p)], problems
    context.close()
