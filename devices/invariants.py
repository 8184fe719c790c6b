"""The devices' checks of the books (warehouse.invariants), registered from DevicesConfig.ready."""

from warehouse.invariants import IN_WAREHOUSE, invariant_register, sql_check

from .models import PLACE_OF_STATE

DEVICE = "'device ' || p.sku || ' #' || d.serial"
OWNED_OR_SOLD = "('storage', 'incoming', 'quarantine', 'dispatched', 'rented', 'sold')"


def _places_sql() -> str:
    """The (state, location kind) pairs PLACE_OF_STATE allows, as SQL rows."""
    pairs = [(str(state), str(kind)) for state, kinds in PLACE_OF_STATE.items() for kind in kinds]
    pairs += [(str(state), "") for state, kinds in PLACE_OF_STATE.items() if not kinds]
    return ", ".join(f"('{state}', '{kind}')" for state, kind in pairs)


def register() -> None:
    invariant_register(
        "every device history line has one device event",
        sql_check(
            f"""
            SELECT {DEVICE} || ' history ' || h.id || ' (' || h.action || ')',
                   COALESCE(e.n, 0) || ' device events'
            FROM devices_deviceevent AS h
            LEFT JOIN (
                SELECT (data ->> 'history')::bigint AS history_id, COUNT(*) AS n
                FROM warehouse_event WHERE starts_with(kind, 'device.') GROUP BY 1
            ) AS e ON e.history_id = h.id
            JOIN devices_device AS d ON d.id = h.device_id
            JOIN warehouse_product AS p ON p.id = d.product_id
            WHERE e.n IS DISTINCT FROM 1
            """
        ),
        app="devices",
    )
    invariant_register(
        "blocked = blocked devices in storage",
        sql_check(
            f"""
            SELECT {IN_WAREHOUSE},
                   'blocked ' || trim_scale(ws.blocked) || ', blocked devices in storage '
                   || COALESCE(blk.n, 0)
            FROM warehouse_warehousestock AS ws
            LEFT JOIN (
                SELECT d.product_id, loc.warehouse_id, COUNT(*) AS n FROM devices_device AS d
                JOIN warehouse_location AS loc ON loc.id = d.location_id
                WHERE d.state = 'blocked' AND d.location_kind = 'storage'
                GROUP BY d.product_id, loc.warehouse_id
            ) AS blk ON blk.product_id = ws.product_id AND blk.warehouse_id = ws.warehouse_id
            JOIN warehouse_product AS p ON p.id = ws.product_id
            JOIN warehouse_warehouse AS w ON w.id = ws.warehouse_id
            WHERE ws.blocked <> COALESCE(blk.n, 0)
            """
        ),
        app="devices",
    )
    invariant_register(
        "devices of a traceable product = its positions in owned places and sold",
        sql_check(
            f"""
            SELECT 'SKU ' || p.sku || ' at ' || w.code || '/' || l.code,
                   COALESCE(dev.n, 0) || ' devices, position '
                   || trim_scale(COALESCE(pos.quantity, 0))
            FROM (
                SELECT product_id, location_id, COUNT(*) AS n FROM devices_device
                WHERE location_kind IN {OWNED_OR_SOLD}
                GROUP BY product_id, location_id
            ) AS dev
            FULL JOIN (
                SELECT pos.product_id, pos.location_id, pos.quantity
                FROM warehouse_stockposition AS pos
                JOIN warehouse_product AS tp ON tp.id = pos.product_id AND tp.traceable
                WHERE pos.location_kind IN {OWNED_OR_SOLD} AND pos.quantity <> 0
            ) AS pos ON pos.product_id = dev.product_id AND pos.location_id = dev.location_id
            JOIN warehouse_product AS p ON p.id = COALESCE(dev.product_id, pos.product_id)
            JOIN warehouse_location AS l ON l.id = COALESCE(dev.location_id, pos.location_id)
            JOIN warehouse_warehouse AS w ON w.id = l.warehouse_id
            WHERE COALESCE(dev.n, 0) <> COALESCE(pos.quantity, 0)
            """
        ),
        app="devices",
    )
    invariant_register(
        "each device's last movement put it where it is; each has its stock-in",
        sql_check(
            f"""
            SELECT {DEVICE},
                   CASE WHEN first.found IS NULL THEN 'no stock-in in the ledger'
                        ELSE 'at location ' || COALESCE(here.code, '—')
                             || ', its last movement went to ' || COALESCE(there.code, '—')
                   END
            FROM devices_device AS d
            JOIN warehouse_product AS p ON p.id = d.product_id
            LEFT JOIN LATERAL (
                SELECT m.destination_id FROM warehouse_movement AS m
                WHERE m.product_id = d.product_id AND m.serial = d.serial
                ORDER BY m.id DESC LIMIT 1
            ) AS last ON true
            LEFT JOIN LATERAL (
                SELECT 1 AS found FROM warehouse_movement AS m
                WHERE m.product_id = d.product_id AND m.serial = d.serial AND m.action = 'add'
                LIMIT 1
            ) AS first ON true
            LEFT JOIN warehouse_location AS here ON here.id = d.location_id
            LEFT JOIN warehouse_location AS there ON there.id = last.destination_id
            WHERE d.state <> 'own'
              AND (last.destination_id IS DISTINCT FROM d.location_id OR first.found IS NULL)
            """
        ),
        app="devices",
    )
    invariant_register(
        "sold devices are in a sold location with an owner",
        sql_check(
            f"""
            SELECT {DEVICE},
                   'sold, in a ' || COALESCE(NULLIF(d.location_kind, ''), 'no') || ' location, '
                   || CASE WHEN d.owner_id IS NULL THEN 'no owner' ELSE 'owned' END
            FROM devices_device AS d
            JOIN warehouse_product AS p ON p.id = d.product_id
            WHERE d.state = 'sold' AND (d.location_kind <> 'sold' OR d.owner_id IS NULL)
            """
        ),
        app="devices",
    )
    invariant_register(
        "each device's place agrees with its state and its location's kind",
        sql_check(
            f"""
            SELECT {DEVICE},
                   d.state || ' in a ' || COALESCE(NULLIF(d.location_kind, ''), 'no')
                   || ' place' || COALESCE(', its location ' || l.code || ' is ' || l.kind, '')
            FROM devices_device AS d
            JOIN warehouse_product AS p ON p.id = d.product_id
            LEFT JOIN warehouse_location AS l ON l.id = d.location_id
            WHERE (d.state, d.location_kind) NOT IN ({_places_sql()})
               OR (l.id IS NULL) <> (d.location_kind = '')
               OR l.kind <> d.location_kind
            """
        ),
        app="devices",
    )
