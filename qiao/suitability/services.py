"""Writes of the suitability app: recording a customer's risk assessment.

Every write checks its permission first (``require_perm``) and is audited
(``qiao.audit.services.audit_record``). docs/suitability.md, "Risk assessment", states the rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core.errors import ApplicationError
from qiao.customers.models import Customer
from qiao.customers.selectors import customers_visible_to
from qiao.org.models import Staff
from qiao.org.permissions import ASSESS_RISK, require_perm
from qiao.suitability.assessments import active_questionnaire, is_elderly, valid_until_for
from qiao.suitability.models import AssessmentSource, RiskAssessment
from qiao.suitability.questionnaire import AnswersError, score_answers

#: The longest qualified-investor evidence kept (the model's field).
EVIDENCE_MAX = 200


def assessment_record(
    *,
    customer: Customer,
    by: Staff,
    answers: Mapping[str, str],
    customer_signed: bool,
    qualified_investor: bool = False,
    qualified_evidence: str = "",
    assessed_on: dt.date | None = None,
    ip: str | None = None,
    channel: str | None = None,
) -> RiskAssessment:
    """Record the risk assessment ``by`` made with ``customer`` today, from their ``answers``
    (question id → answer id of the active questionnaire), and return it.

    Refused (:class:`ApplicationError`, naming the field): no permission (``PermissionDenied``),
    a customer out of ``by``'s scope (``Http404``, as missing), an unanswered or unknown
    question, no signature, a qualified investor without evidence, a date other than today —
    in the future, or earlier (no back-dating: an assessment cannot be made to cover a sale
    already made, 2025 Measures Art. 13(1)) — or a second assessment of the customer today.
    The tolerance comes from the questionnaire's bands; the assessment is valid for the
    questionnaire's months (one year by default); 65+ on the day is flagged. Earlier
    assessments are never changed.
    """
    require_perm(by, ASSESS_RISK)
    if not customers_visible_to(staff=by).filter(pk=customer.pk).exists():
        raise Http404("No customer matches the given query.")
    today = timezone.localdate()
    day = assessed_on or today
    if day > today:
        raise ApplicationError(
            _("An assessment cannot be dated in the future."), field="assessed_on"
        )
    if day < today:
        raise ApplicationError(
            _(
                "An assessment is dated the day it is made with the customer: it cannot be "
                "back-dated (selling first and assessing afterwards is forbidden)."
            ),
            field="assessed_on",
        )
    questionnaire = active_questionnaire()
    clean_answers = {str(k): str(v) for k, v in dict(answers or {}).items()}
    try:
        scored = score_answers(questionnaire, clean_answers)
    except AnswersError as exc:
        raise ApplicationError(
            _("Every question must be answered with one of its answers (%(question)s).")
            % {"question": exc.question},
            field=f"q_{exc.question}",
        ) from None
    if not customer_signed:
        raise ApplicationError(
            _("The customer must sign to confirm the result before it is recorded."),
            field="customer_signed",
        )
    evidence = (qualified_evidence or "").strip()
    if len(evidence) > EVIDENCE_MAX:
        raise ApplicationError(
            _("At most %(n)s characters.") % {"n": EVIDENCE_MAX}, field="qualified_evidence"
        )
    if qualified_investor and not evidence:
        raise ApplicationError(
            _("Say what shows the customer is a qualified investor (assets, income, experience)."),
            field="qualified_evidence",
        )
    assessment = RiskAssessment(
        customer=customer,
        tolerance=scored.tolerance,
        score=scored.score,
        answers=clean_answers,
        questionnaire_version=questionnaire.version,
        assessed_on=day,
        valid_until=valid_until_for(day, questionnaire.valid_months),
        source=AssessmentSource.BRANCH,
        recorded_by=by,
        customer_signed=True,
        qualified_investor=bool(qualified_investor),
        qualified_evidence=evidence if qualified_investor else "",
        elderly=is_elderly(customer, day),
    )
    assessment.full_clean(exclude=["customer", "recorded_by"], validate_unique=False)
    try:
        with transaction.atomic():
            assessment.save()
            audit_record(
                request_or_staff=by,
                action=Action.ASSESSMENT,
                customer_no=customer.customer_no,
                detail=_audit_detail(assessment, scored.capped_by),
                ip=ip,
                channel=channel,
            )
    except IntegrityError:
        # One assessment per customer, day and source: a customer re-taking the questionnaire
        # the same day until it gives a higher level is a known way around the rule.
        raise ApplicationError(
            _(
                "This customer has already been assessed today; the assessment stands as made "
                "and a new one can be made from tomorrow."
            )
        ) from None
    return assessment


def _audit_detail(assessment: RiskAssessment, capped_by: str) -> dict[str, Any]:
    return {
        "tolerance": assessment.tolerance,
        "score": assessment.score,
        "questionnaire": assessment.questionnaire_version,
        "valid_until": assessment.valid_until.isoformat(),
        "elderly": assessment.elderly,
        "qualified_investor": assessment.qualified_investor,
        "capped_by": capped_by,
    }
