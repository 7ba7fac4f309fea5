"""Log hygiene: passwords, tokens and secrets never reach a log line."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(
    r"(?i)(password|passwd|secret|token|authorization|api[_-]?key|sessionid|csrftoken)"
    r"(\"?\s*[:=]\s*\"?|\s+)([^\s\"',;&]+)"
)


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True
