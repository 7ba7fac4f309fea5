"""``makemessages`` that also extracts ``pgettext_noop(context, message)`` (qiao.core.vocab)."""

from __future__ import annotations

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=pgettext_noop:1c,2"]
