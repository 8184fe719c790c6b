"""The bulk writer: COPY of what was played, projections in SQL, sequences, marker."""

from __future__ import annotations

import io
import time
from datetime import timedelta

from django.db import connection

from devices.history import EVENT_KINDS
from devices.models import State

from .sizes import (
    BIG_TABLES,
    MARKER_TABLE,
)
from .state import N, Player, money, opt, qty


class Writer(Player):
    """Writes the rows the history left behind and derives the cached projections."""

    # ----------------------------------------------------------------------- the rest

    def write_rest(self) -> None:
        """Devices, layers, packages, documents, reservations: COPY from what was played."""
        started = time.monotonic()
        rng = self.rng
        w_ids = [w.pk for w in self.warehouses]
        out = io.StringIO()
        for row in self.packages:
            package_id, number, milli, price, cost, put_away, supplier, t, loc, i, w = row
            out.write(
                f"{package_id}\t{number}\t{qty(milli)}\t{money(price)}\t{money(cost)}\t"
                f"{qty(put_away)}\t{supplier}\t{self.ts(t)}\t{loc}\t{self.p_id[i]}\t{w_ids[w]}\n"
            )
        self.copy(
            "warehouse_incomingpackage",
            "id, number, quantity, package_price, unit_cost, put_away, supplier, received_at,"
            " location_id, product_id, warehouse_id",
            out.getvalue(),
        )
        out = io.StringIO()
        for layer in self.layer_rows:
            lid, pid, w, package, number, mid, received, milli, remaining, cost, _ = layer
            out.write(
                f"{lid}\t{number}\t{self.ts(received)}\t{qty(milli)}\t{qty(remaining)}\t"
                f"{money(cost)}\t{mid}\t{pid}\t{w_ids[w]}\t{opt(package)}\n"
            )
        self.copy(
            "warehouse_costlayer",
            "id, package_number, received_at, quantity, remaining, unit_cost, movement_id,"
            " product_id, warehouse_id, package_id",
            out.getvalue(),
        )
        self.copy(
            "warehouse_layerconsumption",
            "id, layer_id, movement_id, quantity, unit_cost",
            self.consumptions.getvalue(),
        )
        # Devices, with a status now and then.
        out = io.StringIO()
        statuses = self.statuses
        for d in range(len(self.d_product)):
            state = self.d_state[d]
            status = None
            if state == State.BLOCKED:
                status = rng.choice(statuses[State.BLOCKED])
            elif state == State.USED and rng.random() < 0.5:
                status = rng.choice(statuses[State.USED])
            elif state == State.NEW and rng.random() < 0.1:
                status = statuses[State.NEW][0]
            loc = self.d_loc[d]
            kind = self.loc_kind[loc] if loc is not None else ""
            out.write(
                f"{d + self.device_base}\t{self.p_id[self.d_product[d]]}\t{self.d_serial[d]}\t"
                f"{self.d_eid[d]}\t{state}\t{opt(status)}\t{opt(self.d_owner[d])}\t"
                f"{opt(self.d_holder[d])}\t{opt(loc)}\t{kind}\t\t{{}}\t\t"
                f"{self.ts(self.d_created[d])}\t{self.ts(self.d_updated[d])}\n"
            )
        self.next_id["devices_device"] = self.device_base + len(self.d_product) - 1
        self.copy(
            "devices_device",
            "id, product_id, serial, electronic_id, state, status_id, owner_id, holder_id,"
            " location_id, location_kind, spot, characteristics, reserved_by, created_at,"
            " updated_at",
            out.getvalue(),
        )
        self.copy(
            "devices_deviceevent",
            "id, device_id, kind, action, from_state, to_state, changes, reason, reference,"
            " actor_id, created_at, from_location_id, from_owner_id, movement_id,"
            " to_location_id, to_owner_id",
            self.events.getvalue(),
        )
        self.step("devices, layers, packages", started)
        started = time.monotonic()
        self.documents_write(w_ids)
        self.step("documents", started)

    def documents_write(self, w_ids) -> None:
        """Orders, invoices (their lines, devices, reservations), credit notes, rentals."""
        bases = {
            table: self.next_id[table]
            for table in (
                "billing_order",
                "billing_invoice",
                "billing_orderline",
                "billing_invoiceline",
            )
        }
        reservations = io.StringIO()
        self.orders_write(w_ids, bases, reservations)
        self.invoices_write(w_ids, bases, reservations)
        self.next_id["billing_order"] = bases["billing_order"] + len(self.orders)
        self.next_id["billing_invoice"] = bases["billing_invoice"] + len(self.invoices)
        self.next_id["billing_orderline"] = bases["billing_orderline"] + self.line_ids["order"]
        self.next_id["billing_invoiceline"] = (
            bases["billing_invoiceline"] + self.line_ids["invoice"]
        )
        self.copy(
            "warehouse_reservation",
            "id, quantity, document_type, document_id, document_number, line_id, status,"
            " created_at, closed_at, product_id, warehouse_id",
            reservations.getvalue(),
        )
        self.credit_notes_write(w_ids, bases["billing_invoice"])
        self.rentals_write(bases["billing_orderline"])

    def when(self, t) -> str:
        return N if t is None else self.ts(t)

    def orders_write(self, w_ids, bases, reservations) -> None:
        order_base, oline_base = bases["billing_order"], bases["billing_orderline"]
        dev = self.device_base
        orders, olines, assigned = (io.StringIO() for _ in range(3))
        ts, when = self.ts, self.when
        for doc in self.orders:
            oid = order_base + doc.id
            orders.write(
                f"{oid}\t{doc.number}\t\t{ts(doc.created)}\t{ts(doc.updated)}\t{doc.status}\t"
                f"{when(doc.confirmed)}\t{when(doc.dispatched)}\t{when(doc.completed)}\t"
                f"{when(doc.cancelled)}\t{self.clerk}\t{doc.party}\t{w_ids[doc.w]}\n"
            )
            for line in doc.lines:
                lid = oline_base + line.id
                until = (
                    N
                    if line.until is None
                    else (self.t0 + timedelta(days=line.until)).strftime("%Y-%m-%d")
                )
                olines.write(
                    f"{lid}\t{qty(line.qty)}\t{line.price}\t{line.position}\t{line.kind}\t"
                    f"{until}\t\\N\t{oid}\t{self.p_id[line.i]}\n"
                )
                for d in line.devices:
                    assigned.write(
                        f"{self.new_id('billing_orderline_assigned_devices')}\t{lid}\t{d + dev}\n"
                    )
                self.reservation_row(reservations, line, "order", oid, doc, lid, w_ids)
        self.copy(
            "billing_order",
            "id, number, notes, created_at, updated_at, status, confirmed_at, dispatched_at,"
            " completed_at, cancelled_at, created_by_id, party_id, warehouse_id",
            orders.getvalue(),
        )
        self.copy(
            "billing_orderline",
            "id, quantity, unit_price, position, kind, rental_until, device_id, order_id,"
            " product_id",
            olines.getvalue(),
        )
        self.copy(
            "billing_orderline_assigned_devices", "id, orderline_id, device_id", assigned.getvalue()
        )

    def invoices_write(self, w_ids, bases, reservations) -> None:
        order_base, invoice_base = bases["billing_order"], bases["billing_invoice"]
        iline_base = bases["billing_invoiceline"]
        dev = self.device_base
        invoices, ilines, idevices = (io.StringIO() for _ in range(3))
        ts, when = self.ts, self.when
        for doc in self.invoices:
            iid = invoice_base + doc.id
            order = N if doc.order is None else order_base + doc.order.id
            notes = f"For order {doc.order.number}." if doc.order is not None else ""
            invoices.write(
                f"{iid}\t{doc.number}\t{notes}\t{ts(doc.created)}\t{ts(doc.updated)}\t"
                f"{doc.status}\t{when(doc.issued)}\t{when(doc.posted)}\t{when(doc.cancelled)}\t"
                f"{self.clerk}\t{doc.party}\t{w_ids[doc.w]}\t{order}\n"
            )
            for line in doc.lines:
                lid = iline_base + line.id
                line.invoice_line = lid
                ilines.write(
                    f"{lid}\t{qty(line.qty)}\t{line.price}\t{line.position}\t"
                    f"{money(line.unit_cost)}\t\\N\t{iid}\t{self.p_id[line.i]}\n"
                )
                for d in getattr(line, "devices", []) or []:
                    idevices.write(
                        f"{self.new_id('billing_invoiceline_devices')}\t{lid}\t{d + dev}\n"
                    )
                if doc.order is None:
                    self.reservation_row(reservations, line, "invoice", iid, doc, lid, w_ids)
        self.copy(
            "billing_invoice",
            "id, number, notes, created_at, updated_at, status, issued_at, posted_at,"
            " cancelled_at, created_by_id, party_id, warehouse_id, order_id",
            invoices.getvalue(),
        )
        self.copy(
            "billing_invoiceline",
            "id, quantity, unit_price, position, unit_cost, device_id, invoice_id, product_id",
            ilines.getvalue(),
        )
        self.copy(
            "billing_invoiceline_devices", "id, invoiceline_id, device_id", idevices.getvalue()
        )

    def credit_notes_write(self, w_ids, invoice_base) -> None:
        dev, ts = self.device_base, self.ts
        credit, credit_lines = io.StringIO(), io.StringIO()
        for number, t, invoice, line, milli, d, dst in self.credit_notes:
            cid = self.new_id("billing_creditnote")
            credit.write(
                f"{cid}\t{number}\t\t{ts(t)}\t{ts(t)}\tposted\t{ts(t)}\t{self.clerk}\t"
                f"{invoice.party}\t{dst}\t{w_ids[invoice.w]}\t{invoice_base + invoice.id}\t\\N\n"
            )
            credit_lines.write(
                f"{self.new_id('billing_creditnoteline')}\t{qty(milli)}\t{cid}\t"
                f"{N if d is None else d + dev}\t{line.invoice_line}\n"
            )
        self.copy(
            "billing_creditnote",
            "id, number, notes, created_at, updated_at, status, posted_at, created_by_id,"
            " party_id, return_location_id, warehouse_id, invoice_id, cancelled_at",
            credit.getvalue(),
        )
        self.copy(
            "billing_creditnoteline",
            "id, quantity, credit_note_id, device_id, invoice_line_id",
            credit_lines.getvalue(),
        )

    def rentals_write(self, oline_base) -> None:
        dev = self.device_base
        rentals = io.StringIO()
        for rid, t, until, back, d, line, party, dst, _ in self.rentals:
            until_text = (
                N if until is None else (self.t0 + timedelta(days=until)).strftime("%Y-%m-%d")
            )
            rentals.write(
                f"{rid}\t{self.ts(t)}\t{until_text}\t{self.when(back)}\t{d + dev}\t"
                f"{oline_base + line.id}\t{party}\t{opt(dst)}\n"
            )
        self.copy(
            "billing_rental",
            "id, started_at, until, returned_at, device_id, order_line_id, party_id,"
            " return_location_id",
            rentals.getvalue(),
        )

    def reservation_row(self, out, line, document_type, document_id, doc, line_id, w_ids):
        if line.reservation is None:
            return
        rid, status, closed, created = line.reservation
        out.write(
            f"{rid}\t{qty(line.qty)}\t{document_type}\t{document_id}\t{doc.number}\t{line_id}\t"
            f"{status}\t{self.ts(created)}\t{N if closed is None else self.ts(closed)}\t"
            f"{self.p_id[line.i]}\t{w_ids[doc.w]}\n"
        )

    # ----------------------------------------------------------------------- projections

    def derive(self) -> None:
        """Positions and warehouse balances, set-based in SQL from the ledger just written."""
        started = time.monotonic()
        w_ids = [w.pk for w in self.warehouses]
        out = io.StringIO()
        for (i, w), pair in self.pairs.items():
            out.write(f"{self.p_id[i]}\t{w_ids[w]}\t{money(pair.avg)}\n")
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE seed_average_cost (product_id bigint, warehouse_id bigint,"
                " average_cost numeric(14, 4)) ON COMMIT DROP"
            )
        self.copy("seed_average_cost", "product_id, warehouse_id, average_cost", out.getvalue())
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE warehouse_movement")
            cursor.execute(POSITIONS_SQL)
            cursor.execute("ANALYZE warehouse_stockposition")
            cursor.execute(BALANCES_SQL)
        self.step("projections derived in SQL", started)
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(events_sql())
        self.step("events derived in SQL", started)

    def sequences(self) -> None:
        """Document numbers continue after the generated ones; id sequences after the rows."""
        started = time.monotonic()
        with connection.cursor() as cursor:
            for prefix, count in self.number.items():
                cursor.execute(
                    "INSERT INTO billing_documentsequence (prefix, next_number) VALUES (%s, %s)"
                    " ON CONFLICT (prefix) DO UPDATE SET next_number ="
                    " GREATEST(billing_documentsequence.next_number, EXCLUDED.next_number)",
                    [prefix, count + 1],
                )
            for table in BIG_TABLES:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1),"
                    f" (SELECT COUNT(*) > 0 FROM {table}))"
                )
            for table in BIG_TABLES:
                cursor.execute(f"ANALYZE {table}")
        self.step("sequences and statistics", started)

    def marker_write(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (scale text, seed integer,"
                " movements bigint, built_at timestamptz, seconds numeric)"
            )
            cursor.execute(
                f"INSERT INTO {MARKER_TABLE} VALUES (%s, %s, %s, now(), %s)",
                [
                    self.scale_name,
                    self.seed_value,
                    self.mv_count,
                    round(time.monotonic() - self.started_at, 1),
                ],
            )

    def counts(self) -> dict:
        return table_counts()


POSITIONS_SQL = """
INSERT INTO warehouse_stockposition (product_id, location_id, location_kind, warehouse_id, quantity)
SELECT legs.product_id, legs.location_id, loc.kind, loc.warehouse_id, SUM(legs.quantity)
FROM (
    SELECT product_id, destination_id AS location_id, quantity FROM warehouse_movement
    UNION ALL
    SELECT product_id, source_id, -quantity FROM warehouse_movement
) AS legs
JOIN warehouse_location AS loc ON loc.id = legs.location_id
GROUP BY legs.product_id, legs.location_id, loc.kind, loc.warehouse_id
"""

BALANCES_SQL = """
INSERT INTO warehouse_warehousestock
    (product_id, warehouse_id, in_hand, in_storage, reserved, blocked, dispatched, rented,
     average_cost, updated_at)
SELECT pos.product_id, pos.warehouse_id,
    COALESCE(SUM(pos.quantity) FILTER (WHERE pos.location_kind IN ('storage', 'incoming',
                                                                   'quarantine')), 0),
    COALESCE(SUM(pos.quantity) FILTER (WHERE pos.location_kind = 'storage'), 0),
    COALESCE(MAX(res.reserved), 0),
    COALESCE(MAX(blk.blocked), 0),
    COALESCE(SUM(pos.quantity) FILTER (WHERE pos.location_kind = 'dispatched'), 0),
    COALESCE(SUM(pos.quantity) FILTER (WHERE pos.location_kind = 'rented'), 0),
    COALESCE(MAX(avg.average_cost), 0),
    now()
FROM warehouse_stockposition AS pos
LEFT JOIN (
    SELECT product_id, warehouse_id, SUM(quantity) AS reserved
    FROM warehouse_reservation WHERE status = 'open' GROUP BY product_id, warehouse_id
) AS res ON res.product_id = pos.product_id AND res.warehouse_id = pos.warehouse_id
LEFT JOIN (
    SELECT d.product_id, loc.warehouse_id, COUNT(*) AS blocked
    FROM devices_device AS d JOIN warehouse_location AS loc ON loc.id = d.location_id
    WHERE d.state = 'blocked' AND d.location_kind = 'storage'
    GROUP BY d.product_id, loc.warehouse_id
) AS blk ON blk.product_id = pos.product_id AND blk.warehouse_id = pos.warehouse_id
LEFT JOIN seed_average_cost AS avg
    ON avg.product_id = pos.product_id AND avg.warehouse_id = pos.warehouse_id
GROUP BY pos.product_id, pos.warehouse_id
"""


# --------------------------------------------------------------------------- indexes


def events_sql() -> str:
    """The outbox rows the services write with each ledger line and history line
    (warehouse.events.movement_events, devices.history.device_event), in time order.

    A device event tells the device's status on its latest line (the demo sets a
    status once, at the end). One transaction writes them all: one txid.
    """
    kinds = ", ".join(f"('{action}', '{kind}')" for action, kind in EVENT_KINDS.items())
    return f"""
INSERT INTO warehouse_event
    (created_at, kind, subject, movement_id, document_type, document_number, actor_id, data)
SELECT created_at, kind, subject, movement_id, '', '', actor_id, data FROM (
    SELECT m.created_at, 0 AS after_movement, m.id AS source_id, 'movement.booked' AS kind,
        CASE WHEN m.serial <> ''
            THEN jsonb_build_object('type', 'device', 'serial', m.serial, 'product', p.sku)
            ELSE jsonb_build_object('type', 'product', 'sku', p.sku)
        END AS subject,
        m.id AS movement_id, m.actor_id,
        jsonb_build_object(
            'action', m.action, 'sku', p.sku, 'quantity', trim_scale(m.quantity)::text,
            'from', src.code, 'to', dst.code, 'unit_cost', trim_scale(m.unit_cost)::text,
            'serial', m.serial, 'reference', m.reference
        ) AS data
    FROM warehouse_movement AS m
    JOIN warehouse_product AS p ON p.id = m.product_id
    JOIN warehouse_location AS src ON src.id = m.source_id
    JOIN warehouse_location AS dst ON dst.id = m.destination_id
    UNION ALL
    SELECT h.created_at, 1, h.id, k.kind,
        jsonb_build_object('type', 'device', 'serial', d.serial, 'product', p.sku),
        h.movement_id, h.actor_id,
        jsonb_build_object(
            'history', h.id, 'action', h.action, 'from_state', h.from_state,
            'to_state', h.to_state,
            'status', CASE WHEN h.id = last.id THEN COALESCE(st.name, '') ELSE '' END,
            'from_owner', h.from_owner_id, 'to_owner', h.to_owner_id, 'changes', h.changes,
            'reason', h.reason, 'reference', h.reference
        )
    FROM devices_deviceevent AS h
    JOIN (VALUES {kinds}) AS k (action, kind) ON k.action = h.action
    JOIN devices_device AS d ON d.id = h.device_id
    JOIN warehouse_product AS p ON p.id = d.product_id
    LEFT JOIN devices_devicestatus AS st ON st.id = d.status_id
    LEFT JOIN (
        SELECT device_id, MAX(id) AS id FROM devices_deviceevent GROUP BY device_id
    ) AS last ON last.device_id = h.device_id
) AS events
ORDER BY created_at, after_movement, source_id
"""


class _without_secondary_indexes:
    """Drop the tables' foreign keys and non-constraint indexes; recreate them on exit.

    The definitions come from the catalogue (pg_get_indexdef, pg_get_constraintdef),
    so what comes back is exactly what was there. Building an index once over
    the loaded rows, and checking a foreign key with one join, is many times
    faster than maintaining them row by row during COPY.
    """

    def __init__(self, tables, history):
        self.tables = tables
        self.history = history

    def __enter__(self):
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
                FROM pg_constraint c
                WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[])
                ORDER BY 1, 2
                """,
                [self.tables],
            )
            self.foreign_keys = cursor.fetchall()
            cursor.execute(
                """
                SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                FROM pg_index i
                WHERE i.indrelid = ANY(%s::regclass[])
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                ORDER BY 1
                """,
                [self.tables],
            )
            self.indexes = cursor.fetchall()
            for table, name, _ in self.foreign_keys:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _ in self.indexes:
                cursor.execute(f"DROP INDEX {name}")
        self.history.step("indexes and foreign keys dropped", started)
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            return False  # the transaction rolls back: everything is as it was
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_maintenance_workers = 2")
            for _, definition in self.indexes:
                cursor.execute(definition)
        self.history.step("indexes rebuilt", started)
        started = time.monotonic()
        with connection.cursor() as cursor:
            for table, name, definition in self.foreign_keys:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        self.history.step("foreign keys checked", started)
        return False


def table_counts() -> dict[str, int]:
    tables = {
        "products": "warehouse_product",
        "parties": "warehouse_party",
        "warehouses": "warehouse_warehouse",
        "real locations": "warehouse_location WHERE kind IN ('storage', 'incoming', 'quarantine')",
        "movements": "warehouse_movement",
        "devices": "devices_device",
        "device events": "devices_deviceevent",
        "orders": "billing_order",
        "invoices": "billing_invoice",
        "credit notes": "billing_creditnote",
        "open reservations": "warehouse_reservation WHERE status = 'open'",
        "cost layers": "warehouse_costlayer",
    }
    counts = {}
    with connection.cursor() as cursor:
        for label, source in tables.items():
            cursor.execute(f"SELECT COUNT(*) FROM {source}")
            counts[label] = cursor.fetchone()[0]
    counts["documents"] = counts["orders"] + counts["invoices"] + counts["credit notes"]
    return counts


def marker_read() -> dict | None:
    """The last complete build's marker in this database, or None."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [MARKER_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(
            f"SELECT scale, seed, movements, built_at, seconds FROM {MARKER_TABLE}"
            " ORDER BY built_at DESC LIMIT 1"
        )
        row = cursor.fetchone()
    if row is None:
        return None
    scale, seed, movements, built_at, seconds = row
    return {
        "scale": scale,
        "seed": seed,
        "movements": movements,
        "built_at": built_at,
        "seconds": float(seconds),
    }
