"""The performance endpoints of the REST API, mounted on ``qiao.api.api.api``."""

from __future__ import annotations

from ninja import Router

performance_router = Router(tags=["performance"])
