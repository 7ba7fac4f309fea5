"""The surveys endpoints of the REST API, mounted on ``qiao.api.api.api``."""

from __future__ import annotations

from ninja import Router

surveys_router = Router(tags=["surveys"])
