"""Human labels for the codes the analytics and the lake use (stage, motive, style, channels …).

The codes stay stable in data and APIs; pages show these translated labels via ``|code_label``.
The codes and labels are the vocabularies' (qiao.core.vocab); a code that two vocabularies share
takes the label of the first listed here.
"""

from __future__ import annotations

from django.utils.functional import Promise

from qiao.core import vocab
from qiao.core.choices import labels

CODE_LABELS: dict[str, Promise] = {}
for _vocabulary in (
    vocab.LIFECYCLE_STAGES,  # seed 002
    vocab.MOTIVES,  # seed 004 L84–92
    vocab.NEED_MODES,  # seed 004 L68
    vocab.RISK_STYLES,  # seed 001 篇5
    vocab.CHANNELS,
    vocab.TXN_TYPES,
    # Product categories (cross-sell items are categories); "LOAN" keeps the motive's label,
    # which reads right in both places.
    vocab.CATEGORIES,
):
    for _code, _label in labels(_vocabulary).items():
        CODE_LABELS.setdefault(_code, _label)


def code_label(code: object) -> str:
    text = "" if code is None else str(code)
    return str(CODE_LABELS.get(text, text or "—"))
