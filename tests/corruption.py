"""Demo books to audit, and the raw SQL that corrupts them (warehouse.invariants).

The tests connect as the owner, who may write any table and, inside the
test's transaction, drop a constraint that would refuse the corruption.
"""

from io import StringIO

from django.core.management import call_command
from django.db import connection

from tests.roles import role
from warehouse.invariants import INVARIANTS

# A balance with room: (row id, SKU, warehouse) where storage − blocked − reserved ≥ 1.
ROOMY = """
    SELECT ws.id, p.sku, w.code FROM warehouse_warehousestock AS ws
    JOIN warehouse_product AS p ON p.id = ws.product_id
    JOIN warehouse_warehouse AS w ON w.id = ws.warehouse_id
    WHERE ws.in_storage - ws.blocked - ws.reserved >= 1 ORDER BY ws.id
"""


def books_seed(scale: str = "XS") -> None:
    """The demo data of `scale`, in the test's database (its users' roles first)."""
    for name in ("Warehouse staff", "Billing clerk"):
        role(name)
    call_command("seed_demo", "--scale", scale, stdout=StringIO(), stderr=StringIO())


def sql(statement: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def one(statement: str, params=None) -> tuple:
    """The first row of a query; the corruption needs it."""
    rows = sql(statement + " LIMIT 1", params)
    assert rows, f"no row to corrupt: {statement}"
    return rows[0]


def violations(name: str) -> list[str]:
    """What the registered check `name` reports, one line a row."""
    with connection.cursor() as cursor:
        return [str(v) for v in INVARIANTS[name].check(cursor)]


def broken() -> dict[str, list[str]]:
    """Every registered check that reports a row: {name: rows}."""
    return {name: rows for name in INVARIANTS if (rows := violations(name))}
