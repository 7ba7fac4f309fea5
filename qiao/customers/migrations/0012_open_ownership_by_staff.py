"""A CM's customers as an index-only scan (issue 13 item 10, docs/workbench.md), on PostgreSQL.

A CM's scope is ``id IN (open ownership rows of the CM)``; every page of a CM reads it (the
list's count and ids, the search, the 360's access check). The ``(staff_id, end_date)`` index
finds the rows but each one is a heap page (1,250 for a CM of a million-customer bank: 3–11 ms
a time); this partial index answers the customer ids from the index alone (0.1 ms). SQLite
serves the test banks without it: it is skipped there, as 0009's.
"""

from django.db import migrations

NAME = "own_open_staff_customer"
ON = "customers_ownership (staff_id, customer_id) WHERE end_date IS NULL"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:
            cur.execute(f"CREATE INDEX IF NOT EXISTS {NAME} ON {ON}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:
            cur.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0011_consent_lean_indexes")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
