"""Human labels for the codes the analytics and the lake use (stage, motive, style, channels …).

The codes stay stable in data and APIs; pages show these translated labels via ``|code_label``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from qiao.products.models import Category

CODE_LABELS = {
    # lifecycle stage (seed 002)
    "EXPLORATION": pgettext_lazy("lifecycle stage", "Exploration"),
    "DEVELOPMENT": pgettext_lazy("lifecycle stage", "Development"),
    "MATURITY": pgettext_lazy("lifecycle stage", "Maturity"),
    "DECLINE": pgettext_lazy("lifecycle stage", "Decline"),
    # deposit motive (seed 004 L84–92)
    "ACCUMULATE": _("Accumulation"),
    "APPRECIATE": _("Appreciation"),
    "LOAN": _("Getting a loan"),
    # need mode (seed 004 L68)
    "PASSIVE": pgettext_lazy("need mode", "Passive"),
    "ACTIVE": pgettext_lazy("need mode", "Active"),
    # risk style (seed 001 篇5)
    "CONSERVATIVE": _("Conservative"),
    "STEADY": _("Steady"),
    "BALANCED": _("Balanced"),
    "AGGRESSIVE": _("Aggressive"),
    "DORMANT": pgettext_lazy("risk style", "Dormant"),
    # channels
    "COUNTER": _("Counter"),
    "ATM": _("ATM"),
    "ONLINE": _("Online banking"),
    "MOBILE": _("Mobile banking"),
    "PHONE": _("Phone banking"),
    "WECHAT": _("WeChat"),
    "POS": _("POS"),
    "CORP_ONLINE": _("Corporate online banking"),
    "BANK_LINK": _("Bank-enterprise link"),
    # transaction types
    "DEPOSIT": _("Deposit"),
    "WITHDRAWAL": _("Withdrawal"),
    "TRANSFER": _("Transfer"),
    "PAYMENT": _("Payment"),
    "BILL_PAY": _("Bill payment"),
    "TOPUP": _("Top-up"),
    "SALARY": _("Salary"),
    "INTEREST": _("Interest"),
    "FEE": _("Fee"),
    "PURCHASE": _("Purchase"),
    "REDEMPTION": _("Redemption"),
    "LOAN_DRAWDOWN": _("Loan drawdown"),
    "LOAN_REPAYMENT": _("Loan repayment"),
    "OTHER": _("Other"),
}
# Product categories (cross-sell items are categories) reuse the model's labels; "LOAN" keeps
# the motive's label above, which reads right in both places.
CODE_LABELS.update({c.value: c.label for c in Category if c.value not in CODE_LABELS})


def code_label(code: object) -> str:
    text = "" if code is None else str(code)
    return str(CODE_LABELS.get(text, text or "—"))
