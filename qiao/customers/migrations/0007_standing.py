"""AUM, tier and contribution move from the customers to their own narrow table (decision 0005).

Each customer's values are copied over before the columns go; the list indexes are built after
the copy.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0006_lean_indexes'),
        ('org', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='CustomerStanding',
            fields=[
                ('customer', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='standing', serialize=False, to='customers.customer', verbose_name='customer')),
                ('aum', models.DecimalField(decimal_places=2, default=0, max_digits=18, verbose_name='AUM')),
                ('contribution', models.DecimalField(decimal_places=2, default=0, max_digits=18, verbose_name='contribution')),
                ('tier', models.CharField(blank=True, max_length=20, verbose_name='tier')),
                ('as_of', models.DateField(blank=True, null=True, verbose_name='scored as of')),
            ],
            options={
                'db_table': 'customers_standing',
                'verbose_name': 'customer standing',
                'verbose_name_plural': 'customer standings',
            },
        ),
        migrations.RunSQL(
            "INSERT INTO customers_standing (customer_id, aum, contribution, tier, as_of) "
            "SELECT id, aum, contribution, tier, NULL FROM customers_customer",
            reverse_sql=(
                "UPDATE customers_customer SET "
                "aum = (SELECT s.aum FROM customers_standing s WHERE s.customer_id = customers_customer.id), "
                "contribution = (SELECT s.contribution FROM customers_standing s "
                "WHERE s.customer_id = customers_customer.id), "
                "tier = (SELECT s.tier FROM customers_standing s WHERE s.customer_id = customers_customer.id) "
                "WHERE id IN (SELECT customer_id FROM customers_standing)"
            ),
        ),
        migrations.RemoveIndex(
            model_name='customer',
            name='customers_c_branch__182dc3_idx',
        ),
        migrations.RemoveIndex(
            model_name='customer',
            name='cust_tier',
        ),
        migrations.RemoveField(
            model_name='customer',
            name='aum',
        ),
        migrations.RemoveField(
            model_name='customer',
            name='contribution',
        ),
        migrations.RemoveField(
            model_name='customer',
            name='tier',
        ),
        migrations.AlterField(
            model_name='customer',
            name='branch',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='customers', to='org.orgunit', verbose_name='home outlet'),
        ),
        migrations.AddIndex(
            model_name='customerstanding',
            index=models.Index(fields=['aum', 'customer'], name='standing_aum'),
        ),
        migrations.AddIndex(
            model_name='customerstanding',
            index=models.Index(fields=['contribution', 'customer'], name='standing_contribution'),
        ),
        migrations.AddIndex(
            model_name='customerstanding',
            index=models.Index(fields=['tier'], name='standing_tier'),
        ),
    ]
