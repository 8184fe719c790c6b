"""The device history lines written before the outbox get their device event.

As warehouse 0015 does for the ledger: what `devices.history.history_write`
writes for each history line that has none (frozen here, with the kinds of
`devices.history.EVENT_KINDS` when the outbox came), in history order. The
device's status is told on its latest line only, as the demo data does.
"""

from django.db import migrations

KINDS = (
    "('stock_in', 'device.stocked_in'), ('adjust_in', 'device.adjusted_in'), "
    "('import', 'device.imported'), ('block', 'device.blocked'), "
    "('unblock', 'device.unblocked'), ('dispatch', 'device.dispatched'), "
    "('undispatch', 'device.undispatched'), ('sell', 'device.sold'), "
    "('rent', 'device.rented'), ('return_rental', 'device.rental_returned'), "
    "('return', 'device.returned'), ('transfer', 'device.transferred'), "
    "('register_own', 'device.registered'), ('write_off', 'device.written_off'), "
    "('found', 'device.found'), ('move', 'device.moved'), ('status', 'device.status_set'), "
    "('details', 'device.details_set'), ('assemble', 'device.assembled'), "
    "('disassemble', 'device.disassembled'), ('reserve', 'device.reserved'), "
    "('release', 'device.released')"
)

BACKFILL = f"""
INSERT INTO warehouse_event
    (created_at, kind, subject, movement_id, document_type, document_number, actor_id, data)
SELECT h.created_at, k.kind,
    jsonb_build_object('type', 'device', 'serial', d.serial, 'product', p.sku),
    h.movement_id, '', '', h.actor_id,
    jsonb_build_object(
        'history', h.id, 'action', h.action, 'from_state', h.from_state,
        'to_state', h.to_state,
        'status', CASE WHEN h.id = last.id THEN COALESCE(st.name, '') ELSE '' END,
        'from_owner', h.from_owner_id, 'to_owner', h.to_owner_id, 'changes', h.changes,
        'reason', h.reason, 'reference', h.reference
    )
FROM devices_deviceevent AS h
JOIN (VALUES {KINDS}) AS k (action, kind) ON k.action = h.action
JOIN devices_device AS d ON d.id = h.device_id
JOIN warehouse_product AS p ON p.id = d.product_id
LEFT JOIN devices_devicestatus AS st ON st.id = d.status_id
LEFT JOIN (
    SELECT device_id, MAX(id) AS id FROM devices_deviceevent GROUP BY device_id
) AS last ON last.device_id = h.device_id
WHERE NOT EXISTS (
    SELECT 1 FROM warehouse_event AS e
    WHERE e.kind LIKE 'device.%' AND (e.data ->> 'history')::bigint = h.id
)
ORDER BY h.created_at, h.id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0006_device_id_product_unique"),
        ("warehouse", "0015_events_backfill"),
    ]

    operations = [migrations.RunSQL(BACKFILL, migrations.RunSQL.noop, elidable=True)]
