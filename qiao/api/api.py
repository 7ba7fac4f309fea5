"""The REST API (django-ninja): OpenAPI schema at /api/openapi.json, browsable docs at /api/docs."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(title="Qiao API", version="1", urls_namespace="api")
