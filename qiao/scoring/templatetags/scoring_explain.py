"""Template filters for the scoring's explanations (rendered in the active language).

``{% load scoring_explain %}``, then ``{% with why=score|explain %}{{ why.stage }}{% endwith %}``,
``{{ name|feature_label }}``, ``{{ step|step_label }}`` and ``{{ run.diagnostics|warning_texts }}``.
"""

from __future__ import annotations

from typing import Any

from django import template

from qiao.scoring import explain as _explain

register = template.Library()


@register.filter
def explain(score: Any) -> dict[str, Any]:
    """A snapshot's explanations (see :func:`qiao.scoring.explain.explain_snapshot`)."""
    return _explain.explain_snapshot(score)


@register.filter
def feature_label(name: Any) -> str:
    """A feature column (``trend_3m``) in words."""
    return _explain.feature_label(name)


@register.filter
def step_label(name: Any) -> str:
    """A step of the nightly scoring in words (its name when unknown)."""
    label = _explain.STEP_LABELS.get(str(name))
    return str(label) if label is not None else str(name)
