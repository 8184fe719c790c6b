"""Fewer ledger indexes: no single-column index a composite one covers; partial ones for serials and packages."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0008_roles_constraints"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="costlayer",
            name="costlayer_package_number",
        ),
        migrations.RemoveIndex(
            model_name="movement",
            name="movement_serial",
        ),
        # The foreign keys lose their own index (covered by a composite index,
        # partial, or not needed); their constraints stay as they are.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="costlayer",
                    name="movement",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="layers_opened",
                        to="warehouse.movement",
                    ),
                ),
                migrations.AlterField(
                    model_name="costlayer",
                    name="package",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="layers",
                        to="warehouse.incomingpackage",
                    ),
                ),
                migrations.AlterField(
                    model_name="costlayer",
                    name="product",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cost_layers",
                        to="warehouse.product",
                    ),
                ),
                migrations.AlterField(
                    model_name="costlayer",
                    name="warehouse",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cost_layers",
                        to="warehouse.warehouse",
                    ),
                ),
                migrations.AlterField(
                    model_name="movement",
                    name="package",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="movements",
                        to="warehouse.incomingpackage",
                    ),
                ),
                migrations.AlterField(
                    model_name="movement",
                    name="product",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="movements",
                        to="warehouse.product",
                    ),
                ),
                migrations.AlterField(
                    model_name="stockposition",
                    name="location",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="positions",
                        to="warehouse.location",
                    ),
                ),
                migrations.AlterField(
                    model_name="stockposition",
                    name="product",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="positions",
                        to="warehouse.product",
                    ),
                ),
                migrations.AlterField(
                    model_name="stockposition",
                    name="warehouse",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="positions",
                        to="warehouse.warehouse",
                    ),
                ),
                migrations.AlterField(
                    model_name="warehousestock",
                    name="product",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="stocks",
                        to="warehouse.product",
                    ),
                ),
                migrations.AlterField(
                    model_name="warehousestock",
                    name="warehouse",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="stocks",
                        to="warehouse.warehouse",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "warehouse_costlayer_movement_id_cc824fc0"',
                    reverse_sql='CREATE INDEX "warehouse_costlayer_movement_id_cc824fc0" ON "warehouse_costlayer" ("movement_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "warehouse_costlayer_package_id_8345a842"',
                    reverse_sql='CREATE INDEX "warehouse_costlayer_package_id_8345a842" ON "warehouse_costlayer" ("package_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "warehouse_costlayer_product_id_d616928f"',
                    reverse_sql='CREATE INDEX "warehouse_costlayer_product_id_d616928f" ON "warehouse_costlayer" ("product_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "warehouse_costlayer_warehouse_id_27514637"',
                    reverse_sql='CREATE INDEX "warehouse_costlayer_warehouse_id_27514637" ON "warehouse_costlayer" ("warehouse_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "warehouse_movement_package_id_4c620c05"',
                    reverse_sql='CREATE INDEX "warehouse_movement_package_id_4c620c05" ON "warehouse_movement" ("package_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "warehouse_movement_product_id_aa7fd1e0"',
                    reverse_sql='CREATE INDEX "warehouse_movement_product_id_aa7fd1e0" ON "warehouse_movement" ("product_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "warehouse_stockposition_location_id_8317f9ed"',
                    reverse_sql='CREATE INDEX "warehouse_stockposition_location_id_8317f9ed" ON "warehouse_stockposition" ("location_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "warehouse_stockposition_product_id_2ccfa137"',
                    reverse_sql='CREATE INDEX "warehouse_stockposition_product_id_2ccfa137" ON "warehouse_stockposition" ("product_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "warehouse_stockposition_warehouse_id_50cb0cff"',
                    reverse_sql='CREATE INDEX "warehouse_stockposition_warehouse_id_50cb0cff" ON "warehouse_stockposition" ("warehouse_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "warehouse_warehousestock_product_id_57a3456f"',
                    reverse_sql='CREATE INDEX "warehouse_warehousestock_product_id_57a3456f" ON "warehouse_warehousestock" ("product_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "warehouse_warehousestock_warehouse_id_896bba04"',
                    reverse_sql='CREATE INDEX "warehouse_warehousestock_warehouse_id_896bba04" ON "warehouse_warehousestock" ("warehouse_id")',
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="costlayer",
            index=models.Index(
                fields=["product", "package_number"], name="costlayer_product_package"
            ),
        ),
        migrations.AddIndex(
            model_name="costlayer",
            index=models.Index(
                condition=models.Q(("package__isnull", False)),
                fields=["package"],
                name="costlayer_package",
            ),
        ),
        migrations.AddIndex(
            model_name="movement",
            index=models.Index(
                condition=models.Q(("serial", ""), _negated=True),
                fields=["serial"],
                name="movement_serial",
            ),
        ),
        migrations.AddIndex(
            model_name="movement",
            index=models.Index(
                condition=models.Q(("package__isnull", False)),
                fields=["package"],
                name="movement_package",
            ),
        ),
    ]
