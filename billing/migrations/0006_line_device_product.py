"""What the ORM cannot say: a document line's device is a unit of the line's product.

A composite foreign key (device_id, product_id) → device (id, product_id) on
each billing table that names both; a line without a device is not checked.
Lines that already disagree are named and the migration stops: they are
repaired by hand (the device or the product of the line) before it runs.
"""

from django.db import migrations

TABLES = {
    "billing_orderline": ("orderline_device_product_fk", "billing_order", "order_id"),
    "billing_invoiceline": ("invoiceline_device_product_fk", "billing_invoice", "invoice_id"),
}

MISMATCHED = """
SELECT doc.number, line.position, device.serial, own.sku, sold.sku
FROM {table} line
JOIN {documents} doc ON doc.id = line.{document}
JOIN devices_device device ON device.id = line.device_id
JOIN warehouse_product own ON own.id = device.product_id
JOIN warehouse_product sold ON sold.id = line.product_id
WHERE device.product_id <> line.product_id
ORDER BY doc.number, line.position
"""


def mismatched_lines_refuse(apps, schema_editor):
    """Stop, naming each line whose device is of another product."""
    found = []
    with schema_editor.connection.cursor() as cursor:
        for table, (_, documents, document) in TABLES.items():
            cursor.execute(MISMATCHED.format(table=table, documents=documents, document=document))
            found += [
                f"{number} line {position}: device #{serial} is a {own}, the line is for {sold}"
                for number, position, serial, own, sold in cursor.fetchall()
            ]
    if found:
        raise RuntimeError(
            "Document lines name a device of another product; repair them first:\n  "
            + "\n  ".join(found)
        )


FORWARD = "\n".join(
    f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (device_id, product_id)"
    " REFERENCES devices_device (id, product_id) ON UPDATE RESTRICT ON DELETE RESTRICT;"
    for table, (name, _, _) in TABLES.items()
)
REVERSE = "\n".join(
    f"ALTER TABLE {table} DROP CONSTRAINT {name};" for table, (name, _, _) in TABLES.items()
)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_list_indexes"),
        ("devices", "0006_device_id_product_unique"),
    ]

    operations = [
        migrations.RunPython(mismatched_lines_refuse, migrations.RunPython.noop),
        migrations.RunSQL(FORWARD, REVERSE),
    ]
