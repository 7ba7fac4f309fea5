from __future__ import annotations

from typing import Any

from django.http import HttpRequest

import qiao


def qiao_context(request: HttpRequest) -> dict[str, Any]:
    return {"qiao_version": qiao.__version__}
