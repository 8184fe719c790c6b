"""The ledger lines booked before the outbox get their `movement.booked` event.

A database upgraded to the outbox (0014) holds ledger lines without events:
the feed would start in the middle and `check_books` would report every line.
One INSERT ... SELECT writes what `warehouse.events.movement_events` writes
for each line that has none (frozen here, as a migration must be), in
ledger order; all in one transaction, so the feed shows them together.
"""

from django.db import migrations

BACKFILL = """
INSERT INTO warehouse_event
    (created_at, kind, subject, movement_id, document_type, document_number, actor_id, data)
SELECT m.created_at, 'movement.booked',
    CASE WHEN m.serial <> ''
        THEN jsonb_build_object('type', 'device', 'serial', m.serial, 'product', p.sku)
        ELSE jsonb_build_object('type', 'product', 'sku', p.sku)
    END,
    m.id, '', '', m.actor_id,
    jsonb_build_object(
        'action', m.action, 'sku', p.sku, 'quantity', trim_scale(m.quantity)::text,
        'from', src.code, 'to', dst.code, 'unit_cost', trim_scale(m.unit_cost)::text,
        'serial', m.serial, 'reference', m.reference
    )
FROM warehouse_movement AS m
JOIN warehouse_product AS p ON p.id = m.product_id
JOIN warehouse_location AS src ON src.id = m.source_id
JOIN warehouse_location AS dst ON dst.id = m.destination_id
WHERE NOT EXISTS (
    SELECT 1 FROM warehouse_event AS e
    WHERE e.movement_id = m.id AND e.kind = 'movement.booked'
)
ORDER BY m.created_at, m.id
"""


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0014_events")]

    operations = [migrations.RunSQL(BACKFILL, migrations.RunSQL.noop, elidable=True)]
