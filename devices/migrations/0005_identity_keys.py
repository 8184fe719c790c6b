"""One serial per product, one electronic id, whatever their case, width or invisible characters.

Refuses to go on while two devices share a key (naming each group), cleans
the stored values (warehouse.identity), then replaces the exact unique keys
with unique indexes on `identity_key(...)`. Ledger rows keep the serial as
booked (the ledger is append-only): they are matched by key.
"""

import importlib

from django.db import migrations, models

import warehouse.identity

_warehouse = importlib.import_module("warehouse.migrations.0011_identity_keys")

SERIAL_TWINS = """
SELECT p.sku || ' ' || string_agg(d.serial, ', ' ORDER BY d.serial)
FROM devices_device d JOIN warehouse_product p ON p.id = d.product_id
GROUP BY p.id, p.sku, identity_key(d.serial)
HAVING count(*) > 1
ORDER BY 1
"""
ELECTRONIC_ID_TWINS = """
SELECT string_agg(d.electronic_id || ' (' || p.sku || ' #' || d.serial || ')', ', '
                  ORDER BY d.electronic_id, d.id)
FROM devices_device d JOIN warehouse_product p ON p.id = d.product_id
WHERE identity_key(d.electronic_id) <> ''
GROUP BY identity_key(d.electronic_id)
HAVING count(*) > 1
ORDER BY 1
"""


def device_twins(cursor) -> list[str]:
    return _warehouse.twins_report(
        cursor, "serials of one product", SERIAL_TWINS
    ) + _warehouse.twins_report(cursor, "devices with one electronic id", ELECTRONIC_ID_TWINS)


def device_twins_refuse(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        _warehouse.twins_refuse(device_twins(cursor))


# Twins were refused above, so a cleaned value cannot meet another; the guards stay.
DEVICE_CLEAN = """
UPDATE devices_device d SET serial = identity_clean(d.serial)
WHERE d.serial <> identity_clean(d.serial)
  AND NOT EXISTS (SELECT 1 FROM devices_device o WHERE o.id <> d.id
                  AND o.product_id = d.product_id AND o.serial = identity_clean(d.serial));
UPDATE devices_device d SET electronic_id = identity_clean(d.electronic_id)
WHERE d.electronic_id <> identity_clean(d.electronic_id)
  AND NOT EXISTS (SELECT 1 FROM devices_device o WHERE o.id <> d.id
                  AND o.electronic_id = identity_clean(d.electronic_id)
                  AND o.electronic_id <> '');
"""


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0004_place_and_holder_checks"),
        ("warehouse", "0011_identity_keys"),
    ]

    operations = [
        migrations.RunPython(device_twins_refuse, migrations.RunPython.noop),
        migrations.RunSQL(DEVICE_CLEAN, migrations.RunSQL.noop),
        migrations.RemoveConstraint(model_name="device", name="device_serial_unique"),
        migrations.RemoveConstraint(model_name="device", name="device_electronic_id_unique"),
        migrations.AlterField(
            model_name="device",
            name="electronic_id",
            field=warehouse.identity.IdentityField(
                blank=True,
                help_text="MAC address, IMEI ...",
                max_length=64,
                verbose_name="electronic id",
            ),
        ),
        migrations.AlterField(
            model_name="device",
            name="serial",
            field=warehouse.identity.IdentityField(max_length=128, verbose_name="serial number"),
        ),
        migrations.AddConstraint(
            model_name="device",
            constraint=models.UniqueConstraint(
                warehouse.identity.IdentityKey("serial"),
                models.F("product"),
                name="device_serial_key_unique",
                violation_error_message="This product has a device with this serial number.",
            ),
        ),
        migrations.AddConstraint(
            model_name="device",
            constraint=models.UniqueConstraint(
                warehouse.identity.IdentityKey("electronic_id"),
                condition=models.Q(("electronic_id", ""), _negated=True),
                name="device_electronic_id_key_unique",
                violation_error_message="Another device has this electronic id.",
            ),
        ),
    ]
