"""The reports endpoints of the REST API, mounted on ``qiao.api.api.api``."""

from __future__ import annotations

from ninja import Router

reports_router = Router(tags=["reports"])
