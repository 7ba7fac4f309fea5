"""Round axis ticks for the charts Qiao draws on the server (decision 0008).

One rule for every chart: 0 and equal round steps (a multiplier × 10^n) up to at least the top
value, at most ``most`` ticks. The 360's AUM line (``qiao.web.charts``) and the attrition
calibration plot (``qiao.scoring.charts``) both read it; it sits in core so that both layers may.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def nice_ticks(
    top: float, most: int = 6, multipliers: Sequence[float] = (1, 2, 2.5, 5, 10)
) -> list[float]:
    """0 and round steps (``multipliers`` × 10^n) up to at least ``top``, at most ``most`` ticks."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / (most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in multipliers if m * power * (most - 1) >= top)
    count = math.ceil(top / step - 1e-9)
    return [i * step for i in range(count + 1)]
