"""The customer's home outlet copied onto their standing, kept by the database (decision 0012).

An outlet head's pages take the outlet's customers largest first: from the customers' branch
index that is one probe of the standings per customer (10,000 for an outlet at a million
customers, ~40 ms); with the branch on the standing, one walk of ``(branch, aum DESC, customer)``
reads only the rows wanted. The copy is the database's own: a trigger sets it from the customer
whenever a standing is inserted or its copy written (``standings_create``'s COPY, a ``save()`` of
a standing read before a move), and another changes it when a customer's branch changes,
whoever changes it (a load, the profile editor, the admin, SQL). It is an access path only; who
may see a customer is still decided on the customer's own branch.
"""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = (
    "UPDATE customers_standing SET branch_id = "
    "(SELECT c.branch_id FROM customers_customer c WHERE c.id = customers_standing.customer_id)"
)

POSTGRESQL = [
    """
    CREATE OR REPLACE FUNCTION qiao_standing_branch_on_insert() RETURNS trigger AS $$
    BEGIN
        NEW.branch_id := (SELECT c.branch_id FROM customers_customer c WHERE c.id = NEW.customer_id);
        RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER standing_branch_on_insert BEFORE INSERT OR UPDATE OF branch_id
    ON customers_standing FOR EACH ROW EXECUTE FUNCTION qiao_standing_branch_on_insert()
    """,
    """
    CREATE OR REPLACE FUNCTION qiao_standing_branch_follows() RETURNS trigger AS $$
    BEGIN
        UPDATE customers_standing SET branch_id = NEW.branch_id WHERE customer_id = NEW.id;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER standing_branch_follows AFTER UPDATE OF branch_id ON customers_customer
    FOR EACH ROW WHEN (OLD.branch_id IS DISTINCT FROM NEW.branch_id)
    EXECUTE FUNCTION qiao_standing_branch_follows()
    """,
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER IF EXISTS standing_branch_follows ON customers_customer",
    "DROP FUNCTION IF EXISTS qiao_standing_branch_follows()",
    "DROP TRIGGER IF EXISTS standing_branch_on_insert ON customers_standing",
    "DROP FUNCTION IF EXISTS qiao_standing_branch_on_insert()",
]

SQLITE = [
    """
    CREATE TRIGGER standing_branch_on_insert AFTER INSERT ON customers_standing
    FOR EACH ROW BEGIN
        UPDATE customers_standing SET branch_id =
            (SELECT c.branch_id FROM customers_customer c WHERE c.id = NEW.customer_id)
        WHERE customer_id = NEW.customer_id;
    END
    """,
    """
    CREATE TRIGGER standing_branch_kept AFTER UPDATE OF branch_id ON customers_standing
    FOR EACH ROW WHEN NEW.branch_id IS NOT
        (SELECT c.branch_id FROM customers_customer c WHERE c.id = NEW.customer_id)
    BEGIN
        UPDATE customers_standing SET branch_id =
            (SELECT c.branch_id FROM customers_customer c WHERE c.id = NEW.customer_id)
        WHERE customer_id = NEW.customer_id;
    END
    """,
    """
    CREATE TRIGGER standing_branch_follows AFTER UPDATE OF branch_id ON customers_customer
    FOR EACH ROW WHEN OLD.branch_id IS NOT NEW.branch_id BEGIN
        UPDATE customers_standing SET branch_id = NEW.branch_id WHERE customer_id = NEW.id;
    END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS standing_branch_follows",
    "DROP TRIGGER IF EXISTS standing_branch_kept",
    "DROP TRIGGER IF EXISTS standing_branch_on_insert",
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(vendor)
    if statements is None:
        raise RuntimeError(f"customers.0013: no triggers written for {vendor}")
    with schema_editor.connection.cursor() as cur:
        cur.execute(BACKFILL)
        for sql in statements:
            cur.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cur:
        for sql in {"postgresql": POSTGRESQL_DOWN, "sqlite": SQLITE_DOWN}.get(vendor, []):
            cur.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0012_open_ownership_by_staff"),
        ("org", "0008_propose_warnings"),
    ]

    operations = [
        migrations.AddField(
            model_name="customerstanding",
            name="branch",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="org.orgunit",
                verbose_name="home outlet",
            ),
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
        migrations.AddIndex(
            model_name="customerstanding",
            index=models.Index(fields=["branch", "-aum", "customer"], name="standing_branch_aum"),
        ),
    ]
