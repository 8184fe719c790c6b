"""The audit of the books: checks that what is cached agrees with the ledger.

Every change of stock writes a ledger line and its cached projections in one
transaction (warehouse.services). The checks here read the database as it is
and name every row where the two disagree: the product's SKU, the location
code, the device's serial, the document's number, and what was found. Each
app registers the checks of what it owns, as importers are registered: the
warehouse its own below, devices and billing theirs from their AppConfig.ready.

`manage.py check_books` runs them all (read-only, as the application role);
the demo generator's tests, the property tests and the benchmark run them too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

# What a check reports at most: the first rows are enough to find the fault.
VIOLATIONS_SHOWN = 1000

# SQL fragments that name a row, over `p` (product), `l` (location) and `w` (warehouse).
AT_LOCATION = "'SKU ' || p.sku || ' at ' || w.code || '/' || l.code"
IN_WAREHOUSE = "'SKU ' || p.sku || ' in ' || w.code"
REAL_KINDS_SQL = "('storage', 'incoming', 'quarantine')"


@dataclass(frozen=True)
class Violation:
    """One row that breaks an invariant: what it concerns, and what was found."""

    concerns: str
    found: str

    def __str__(self) -> str:
        return f"{self.concerns}: {self.found}"


@dataclass(frozen=True)
class Invariant:
    name: str
    check: Callable[..., list[Violation]]  # (cursor) → violations
    app: str  # the app whose rows it concerns
    whole_ledger: bool = False  # reads every ledger line in order: the dearest check


INVARIANTS: dict[str, Invariant] = {}


def invariant_register(name: str, check, *, app: str, whole_ledger: bool = False) -> None:
    """Make `check_books` run `check(cursor)`, which returns the rows breaking `name`."""
    INVARIANTS[name] = Invariant(name=name, check=check, app=app, whole_ledger=whole_ledger)


def sql_check(sql: str):
    """A check from one query whose rows are (what it concerns, what was found)."""
    limited = f"SELECT * FROM ({sql}) AS violations ORDER BY 1 LIMIT {VIOLATIONS_SHOWN}"

    def check(cursor) -> list[Violation]:
        cursor.execute(limited)
        return [Violation(str(concerns), str(found)) for concerns, found in cursor.fetchall()]

    return check


@dataclass(frozen=True)
class BooksAudit:
    """What every registered check found, and over how much of the ledger."""

    results: list[tuple[str, list[Violation]]]
    movements: int
    seconds: float

    @property
    def broken(self) -> list[tuple[str, list[Violation]]]:
        return [(name, found) for name, found in self.results if found]

    def summary(self) -> str:
        return (
            f"Books agree: {len(self.results)} checks over {self.movements:,} movements "
            f"({self.seconds:.1f} s)."
        )


def books_audit(*, ledger_order: bool = True, apps=None) -> BooksAudit:
    """Run every registered check; `ledger_order=False` skips the ones over the whole ledger,
    `apps` keeps the checks of those apps only.

    Read-only: outside a transaction it opens a READ ONLY one.
    """
    started = time.monotonic()
    results = []
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:
            cursor.execute("SET TRANSACTION READ ONLY")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        for invariant in INVARIANTS.values():
            if (invariant.whole_ledger and not ledger_order) or (
                apps is not None and invariant.app not in apps
            ):
                continue
            results.append((invariant.name, invariant.check(cursor)))
        cursor.execute("SELECT COUNT(*) FROM warehouse_movement")
        movements = cursor.fetchone()[0]
    return BooksAudit(results=results, movements=movements, seconds=time.monotonic() - started)


# --------------------------------------------------------------------------- the warehouse's

LEGS = """
    SELECT product_id, destination_id AS location_id, quantity FROM warehouse_movement
    UNION ALL
    SELECT product_id, source_id, -quantity FROM warehouse_movement
"""

invariant_register(
    "positions equal the ledger (Σ in − Σ out per product × location)",
    sql_check(
        f"""
        SELECT {AT_LOCATION},
               'cached ' || trim_scale(COALESCE(pos.quantity, 0))
               || ', ledger ' || trim_scale(COALESCE(ledger.q, 0))
        FROM (
            SELECT product_id, location_id, SUM(quantity) AS q FROM ({LEGS}) AS legs
            GROUP BY product_id, location_id
        ) AS ledger
        FULL JOIN warehouse_stockposition AS pos
            ON pos.product_id = ledger.product_id AND pos.location_id = ledger.location_id
        JOIN warehouse_product AS p ON p.id = COALESCE(ledger.product_id, pos.product_id)
        JOIN warehouse_location AS l ON l.id = COALESCE(ledger.location_id, pos.location_id)
        JOIN warehouse_warehouse AS w ON w.id = l.warehouse_id
        WHERE COALESCE(ledger.q, 0) <> COALESCE(pos.quantity, 0)
        """
    ),
    app="warehouse",
)

invariant_register(
    "no real location holds a negative quantity",
    sql_check(
        f"""
        SELECT {AT_LOCATION}, 'holds ' || trim_scale(pos.quantity)
        FROM warehouse_stockposition AS pos
        JOIN warehouse_product AS p ON p.id = pos.product_id
        JOIN warehouse_location AS l ON l.id = pos.location_id
        JOIN warehouse_warehouse AS w ON w.id = l.warehouse_id
        WHERE l.kind IN {REAL_KINDS_SQL} AND pos.quantity < 0
        """
    ),
    app="warehouse",
)

invariant_register(
    "no real location ever below zero, at any point of the ledger",
    sql_check(
        f"""
        SELECT DISTINCT ON (steps.product_id, steps.location_id)
               {AT_LOCATION},
               'below zero after movement ' || steps.id || ' (' || trim_scale(steps.running) || ')'
        FROM (
            SELECT legs.id, legs.product_id, legs.location_id, SUM(legs.quantity) OVER (
                PARTITION BY legs.product_id, legs.location_id ORDER BY legs.id
            ) AS running
            FROM (
                SELECT id, product_id, destination_id AS location_id, quantity
                FROM warehouse_movement
                UNION ALL
                SELECT id, product_id, source_id, -quantity FROM warehouse_movement
            ) AS legs
            JOIN warehouse_location AS loc ON loc.id = legs.location_id
            WHERE loc.kind IN {REAL_KINDS_SQL}
        ) AS steps
        JOIN warehouse_product AS p ON p.id = steps.product_id
        JOIN warehouse_location AS l ON l.id = steps.location_id
        JOIN warehouse_warehouse AS w ON w.id = l.warehouse_id
        WHERE steps.running < 0
        ORDER BY steps.product_id, steps.location_id, steps.id
        """
    ),
    app="warehouse",
    whole_ledger=True,
)

invariant_register(
    "warehouse balances equal their positions by location kind",
    sql_check(
        f"""
        SELECT {IN_WAREHOUSE},
               'in hand ' || trim_scale(COALESCE(ws.in_hand, 0))
               || ' (positions ' || trim_scale(COALESCE(pos.in_hand, 0)) || '), in storage '
               || trim_scale(COALESCE(ws.in_storage, 0))
               || ' (' || trim_scale(COALESCE(pos.in_storage, 0)) || '), dispatched '
               || trim_scale(COALESCE(ws.dispatched, 0))
               || ' (' || trim_scale(COALESCE(pos.dispatched, 0)) || '), rented '
               || trim_scale(COALESCE(ws.rented, 0))
               || ' (' || trim_scale(COALESCE(pos.rented, 0)) || ')'
        FROM (
            SELECT product_id, warehouse_id,
                SUM(quantity) FILTER (WHERE location_kind IN {REAL_KINDS_SQL}) AS in_hand,
                SUM(quantity) FILTER (WHERE location_kind = 'storage') AS in_storage,
                SUM(quantity) FILTER (WHERE location_kind = 'dispatched') AS dispatched,
                SUM(quantity) FILTER (WHERE location_kind = 'rented') AS rented
            FROM warehouse_stockposition GROUP BY product_id, warehouse_id
        ) AS pos
        FULL JOIN warehouse_warehousestock AS ws
            ON ws.product_id = pos.product_id AND ws.warehouse_id = pos.warehouse_id
        JOIN warehouse_product AS p ON p.id = COALESCE(pos.product_id, ws.product_id)
        JOIN warehouse_warehouse AS w ON w.id = COALESCE(pos.warehouse_id, ws.warehouse_id)
        WHERE COALESCE(pos.in_hand, 0) <> COALESCE(ws.in_hand, 0)
           OR COALESCE(pos.in_storage, 0) <> COALESCE(ws.in_storage, 0)
           OR COALESCE(pos.dispatched, 0) <> COALESCE(ws.dispatched, 0)
           OR COALESCE(pos.rented, 0) <> COALESCE(ws.rented, 0)
        """
    ),
    app="warehouse",
)

invariant_register(
    "reserved = Σ open reservations",
    sql_check(
        f"""
        SELECT {IN_WAREHOUSE},
               'reserved ' || trim_scale(ws.reserved) || ', open reservations '
               || trim_scale(COALESCE(res.q, 0))
        FROM warehouse_warehousestock AS ws
        FULL JOIN (
            SELECT product_id, warehouse_id, SUM(quantity) AS q FROM warehouse_reservation
            WHERE status = 'open' GROUP BY product_id, warehouse_id
        ) AS res ON res.product_id = ws.product_id AND res.warehouse_id = ws.warehouse_id
        JOIN warehouse_product AS p ON p.id = COALESCE(ws.product_id, res.product_id)
        JOIN warehouse_warehouse AS w ON w.id = COALESCE(ws.warehouse_id, res.warehouse_id)
        WHERE COALESCE(ws.reserved, 0) <> COALESCE(res.q, 0)
        """
    ),
    app="warehouse",
)

invariant_register(
    "reserved ≤ storage − blocked",
    sql_check(
        f"""
        SELECT {IN_WAREHOUSE},
               'reserved ' || trim_scale(ws.reserved) || ', storage − blocked '
               || trim_scale(ws.in_storage - ws.blocked)
        FROM warehouse_warehousestock AS ws
        JOIN warehouse_product AS p ON p.id = ws.product_id
        JOIN warehouse_warehouse AS w ON w.id = ws.warehouse_id
        WHERE ws.reserved > ws.in_storage - ws.blocked
        """
    ),
    app="warehouse",
)

invariant_register(
    "FIFO layers add up to ownership per product × warehouse",
    sql_check(
        f"""
        SELECT {IN_WAREHOUSE},
               'layers hold ' || trim_scale(COALESCE(layers.q, 0)) || ', owned '
               || trim_scale(COALESCE(ws.in_hand + ws.dispatched + ws.rented, 0))
        FROM (
            SELECT product_id, warehouse_id, SUM(remaining) AS q FROM warehouse_costlayer
            GROUP BY product_id, warehouse_id
        ) AS layers
        FULL JOIN warehouse_warehousestock AS ws
            ON ws.product_id = layers.product_id AND ws.warehouse_id = layers.warehouse_id
        JOIN warehouse_product AS p ON p.id = COALESCE(layers.product_id, ws.product_id)
        JOIN warehouse_warehouse AS w ON w.id = COALESCE(layers.warehouse_id, ws.warehouse_id)
        WHERE COALESCE(layers.q, 0) <> COALESCE(ws.in_hand + ws.dispatched + ws.rented, 0)
        """
    ),
    app="warehouse",
)

invariant_register(
    "layer consumptions add up to what each layer lost",
    sql_check(
        f"""
        SELECT 'cost layer ' || l.id || ' of ' || {IN_WAREHOUSE},
               'lost ' || trim_scale(l.quantity - l.remaining) || ', consumed '
               || trim_scale(COALESCE(c.q, 0))
        FROM warehouse_costlayer AS l
        LEFT JOIN (
            SELECT layer_id, SUM(quantity) AS q FROM warehouse_layerconsumption GROUP BY layer_id
        ) AS c ON c.layer_id = l.id
        JOIN warehouse_product AS p ON p.id = l.product_id
        JOIN warehouse_warehouse AS w ON w.id = l.warehouse_id
        WHERE l.quantity - l.remaining <> COALESCE(c.q, 0)
        """
    ),
    app="warehouse",
)

invariant_register(
    "every ledger line has one movement.booked event, every event's movement exists",
    sql_check(
        """
        SELECT 'movement ' || m.id || ' (SKU '
               || (SELECT sku FROM warehouse_product WHERE id = m.product_id) || ')',
               COALESCE(e.n, 0) || ' movement.booked events'
        FROM warehouse_movement AS m
        LEFT JOIN (
            SELECT movement_id, COUNT(*) AS n FROM warehouse_event
            WHERE kind = 'movement.booked' GROUP BY movement_id
        ) AS e ON e.movement_id = m.id
        WHERE e.n IS DISTINCT FROM 1
        UNION ALL
        SELECT 'event ' || e.id || ' (' || e.kind || ')',
               'its movement ' || e.movement_id || ' does not exist'
        FROM warehouse_event AS e
        WHERE e.movement_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM warehouse_movement AS m WHERE m.id = e.movement_id)
        """
    ),
    app="warehouse",
    whole_ledger=True,
)
