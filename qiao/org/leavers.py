"""What the other apps do when a staff member leaves.

An app that holds something of a person's that must end with their employment (the API tokens of
``qiao.api``) says so in its app config's ``staff_left``; the offboarding service
(:func:`qiao.customers.services.staff_offboard`) calls every one inside its transaction. So the
offboarding names no app above it, and a new app adds its own step where its data lives.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from qiao.core.extensions import app_configs_offering
from qiao.org.models import Staff


@runtime_checkable
class ActsOnLeavers(Protocol):
    """An app config whose app ends something of a leaver's (tokens, sessions, delegations …)."""

    def staff_left(self, staff: Staff) -> None: ...


def staff_left_notify(*, staff: Staff) -> list[str]:
    """Every app ends what it holds of ``staff``; returns the apps' labels."""
    done = []
    for config in app_configs_offering(ActsOnLeavers):
        config.staff_left(staff)
        done.append(config.label)
    return done
