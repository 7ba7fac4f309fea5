"""Seed the cadence rules from qiao/engagement/config/cadence.toml (our defaults, docs/engagement.md)."""

from django.db import migrations


def seed(apps, schema_editor):
    from qiao.engagement.worklist import cadence_rules_seed

    cadence_rules_seed(model=apps.get_model("engagement", "CadenceRule"))


class Migration(migrations.Migration):
    dependencies = [("engagement", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
