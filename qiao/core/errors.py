"""One application error, mapped to one JSON shape in the API and to form errors in the pages."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A business rule said no. ``message`` is user-facing and translated; ``field`` names the input.

    ``fields`` maps several field names to messages when more than one input is wrong.
    """

    def __init__(
        self,
        message: Any,
        *,
        field: str | None = None,
        fields: dict[str, Any] | None = None,
        status: int = 400,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.fields = dict(fields or {})
        if field and field not in self.fields:
            self.fields[field] = message
        self.status = status

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": str(self.message),
            "fields": {name: str(msg) for name, msg in self.fields.items()},
        }
