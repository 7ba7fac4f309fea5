"""The operational database's schema, brought up to date by whoever starts Qiao."""

from __future__ import annotations


def database_migrate(*, verbose: bool = False) -> None:
    """Apply the migrations not yet applied (an embedded install needs no separate step).

    The command line, ``qiao demo`` and the benchmarks call it before they touch the database.
    """
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=1 if verbose else 0)
