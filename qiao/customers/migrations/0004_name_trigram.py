"""A trigram index for "anywhere in the name" search, on PostgreSQL when pg_trgm can be enabled.

Other databases (SQLite) and PostgreSQL servers where the extension cannot be created (no
privilege) skip it: the search still works, scanning the scoped customers instead.
"""

from django.db import migrations

INDEX = "cust_name_trgm"


def forwards(apps, schema_editor):
    conn = schema_editor.connection
    if conn.vendor != "postgresql":
        return
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cur.fetchone() is None:
            cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
            if cur.fetchone() is None:
                return
            cur.execute("SAVEPOINT qiao_trgm")
            try:
                cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            except Exception:  # no privilege: do without the index
                cur.execute("ROLLBACK TO SAVEPOINT qiao_trgm")
                return
            cur.execute("RELEASE SAVEPOINT qiao_trgm")
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON customers_customer USING gin (name gin_trgm_ops)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:
            cur.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_customer_cust_name_prefix")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
