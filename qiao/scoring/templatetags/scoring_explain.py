"""Template filters for the scoring's explanations (rendered in the active language).

``{% load scoring_explain %}``, then ``{{ name|feature_label }}`` and ``{{ step|step_label }}``
(the 360 gets a snapshot's explanations from its selector, qiao.web.customer360).
"""

from __future__ import annotations

from typing import Any

from django import template

from qiao.scoring import explain as _explain

register = template.Library()


@register.filter
def feature_label(name: Any) -> str:
    """A feature column (``trend_3m``) in words."""
    return _explain.feature_label(name)


@register.filter
def step_label(name: Any) -> str:
    """A step of the nightly scoring in words (its name when unknown)."""
    label = _explain.STEP_LABELS.get(str(name))
    return str(label) if label is not None else str(name)


@register.filter
def probability(value: Any) -> str:
    """A probability as a whole percentage, ``<1%`` / ``>99%`` at the ends, ``—`` if none."""
    return _explain.probability(value)
