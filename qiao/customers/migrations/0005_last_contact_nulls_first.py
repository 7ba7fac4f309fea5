"""An index in the list's "longest without contact first" order (never contacted lead), on PostgreSQL.

The default index on last_contact_at is ASC NULLS LAST, which serves neither of the list's two
orders; without this one a bank-wide list sorted by last contact sorts every customer (seconds at a
million). SQLite cannot declare NULLS FIRST in an index and has no such lists: it is skipped there.
"""

from django.db import migrations

INDEX = "cust_last_contact_nf"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON customers_customer "
                "(last_contact_at ASC NULLS FIRST, id ASC)"
            )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:
            cur.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_name_trigram")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
