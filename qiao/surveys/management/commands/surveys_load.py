from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from qiao.surveys.services import surveys_load_builtin


class Command(BaseCommand):
    help = "Write the built-in surveys of qiao/surveys/config/*.toml (keeps edits unless --force)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--force", action="store_true", help="overwrite edited surveys")

    def handle(self, *args: Any, **options: Any) -> None:
        summary = surveys_load_builtin(force=options["force"])
        self.stdout.write(f"surveys: {summary}")
