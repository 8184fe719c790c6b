"""Reservations and blocks: what documents hold of the available stock, and the balance locks.

Callers above the warehouse (devices, billing) lock a product's balance rows
here before their own, keeping the one global order: product, warehouse,
location, then the caller's rows.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from ..exceptions import InsufficientStock, ReservationRefused
from ..models import ZERO, Product, Reservation, Warehouse, WarehouseStock
from .base import _quantity_check
from .ledger import _rows_lock


def stock_lock(*, product: Product, warehouse_ids: Iterable[int]) -> dict:
    """Lock a product's balance rows in the given warehouses (creating them if missing).

    For callers above the warehouse (devices, billing) that must hold the
    product × warehouse lock before locking their own rows, keeping the one
    global order: product, warehouse, location, then the caller's rows.
    """
    stocks, _ = _rows_lock(
        product_warehouses={(product.pk, w) for w in warehouse_ids if w is not None},
        product_locations=set(),
    )
    return stocks


def stock_lock_many(*, product_ids: Iterable[int], warehouse_id: int) -> dict:
    """Lock several products' balance rows in one warehouse, in product order."""
    stocks, _ = _rows_lock(
        product_warehouses={(pid, warehouse_id) for pid in product_ids},
        product_locations=set(),
    )
    return stocks


@transaction.atomic
def stock_blocked_change(*, product: Product, warehouse_id: int, delta: Decimal) -> WarehouseStock:
    """Count devices blocked (delta > 0) or unblocked (delta < 0) in a warehouse's storage.

    Blocked units stay in hand but are not available: refused with
    InsufficientStock when the storage holds no unreserved unit to block.
    """
    stocks = stock_lock(product=product, warehouse_ids={warehouse_id})
    row = stocks[(product.pk, warehouse_id)]
    if delta > 0 and row.available < delta:
        raise InsufficientStock(
            product=product,
            location=row.warehouse,
            available=max(row.available, ZERO),
            requested=delta,
            reserved=row.reserved,
        )
    row.blocked += delta
    WarehouseStock.objects.filter(pk=row.pk).update(blocked=row.blocked, updated_at=timezone.now())
    return row


@dataclass(frozen=True)
class ReservationLine:
    line_id: int
    product: Product
    quantity: Decimal


def reservations_hold(
    *,
    document_type: str,
    document_id: int,
    document_number: str,
    warehouse: Warehouse | int,
    lines: Sequence[ReservationLine],
    now: datetime | None = None,
    savepoint: bool = True,
) -> list[Reservation]:
    """Reserve every line of a document in one warehouse, or none.

    One statement locks the product × warehouse rows in product order (no
    deadlock with a document listing its products the other way), reads the
    available stock (storage − reserved − blocked) as the locks see it,
    reserves what the whole document asks of each product that has enough and
    writes the reservations, so a busy product's row stays locked only from
    that statement to the commit. Raises ReservationRefused naming every short
    product and its shortfall; nothing is half-reserved (the refusal rolls the
    statement's writes back with the transaction or savepoint).

    `warehouse` may be given by id: it is read only to name it in a refusal.
    `savepoint=False` is for callers whose own transaction ends with this call
    and lets a refusal roll everything back: it saves the RELEASE SAVEPOINT
    round trip while the rows are locked.
    """
    with transaction.atomic(savepoint=savepoint):
        return _reservations_hold(
            document_type=document_type,
            document_id=document_id,
            document_number=document_number,
            warehouse=warehouse,
            lines=lines,
            now=now,
        )


@functools.cache
def _hold_sql(products: int, lines: int) -> str:
    """The whole reservation in one round trip (this hot path is SQL; the rule stays here).

    `locked` takes the balance rows in product order and reads what is
    available; `held` reserves what is asked of each product with enough (on
    the version the lock sees); `made` writes one open reservation per line.
    Each line comes back with its reservation id, its product's available
    stock and the count of products held: fewer than asked means a refusal.
    """
    asked = ", ".join(["(%s::bigint, %s::numeric)"] * products)
    status = Reservation.Status.OPEN.value
    made = ", ".join([f"(%s, %s, %s, %s, %s, %s, %s, '{status}', %s)"] * lines)
    return f"""
WITH locked AS (
    SELECT ws.id, ws.product_id, ws.in_storage - ws.reserved - ws.blocked AS available
      FROM warehouse_warehousestock AS ws
     WHERE ws.warehouse_id = %s AND ws.product_id IN ({", ".join(["%s"] * products)})
     ORDER BY ws.product_id
       FOR UPDATE
), held AS (
    UPDATE warehouse_warehousestock AS ws
       SET reserved = ws.reserved + asked.quantity, updated_at = %s
      FROM locked, (VALUES {asked}) AS asked (product_id, quantity)
     WHERE ws.id = locked.id
       AND asked.product_id = locked.product_id
       AND locked.available >= asked.quantity
    RETURNING ws.id
), made AS (
    INSERT INTO warehouse_reservation (
        product_id, warehouse_id, quantity, document_type, document_id, document_number,
        line_id, status, created_at
    )
    VALUES {made}
    RETURNING id, line_id, product_id
)
SELECT made.line_id, made.id, locked.available, (SELECT count(*) FROM held)
  FROM made LEFT JOIN locked ON locked.product_id = made.product_id
"""


def _reservations_hold(
    *, document_type, document_id, document_number, warehouse, lines, now
) -> list[Reservation]:
    now = now or timezone.now()
    asked: dict[int, Decimal] = {}
    products: dict[int, Product] = {}
    for line in lines:
        _quantity_check(line.product, line.quantity)
        asked[line.product.pk] = asked.get(line.product.pk, ZERO) + line.quantity
        products[line.product.pk] = line.product
    if not asked:
        return []
    warehouse_id = warehouse if isinstance(warehouse, int) else warehouse.pk
    params = [warehouse_id, *asked, now]
    for pid, quantity in asked.items():
        params += (pid, quantity)
    for line in lines:
        params += (
            line.product.pk,
            warehouse_id,
            line.quantity,
            document_type,
            document_id,
            document_number,
            line.line_id,
            now,
        )
    with connection.cursor() as cursor:
        cursor.execute(_hold_sql(len(asked), len(lines)), params)
        made = {row[0]: row for row in cursor.fetchall()}  # by line id
    if next(iter(made.values()))[3] < len(asked):
        available = {line.product.pk: made[line.line_id][2] or ZERO for line in lines}
        if isinstance(warehouse, int):
            warehouse = Warehouse.objects.get(pk=warehouse)
        raise ReservationRefused(
            [
                (products[pid], warehouse, available[pid], quantity)
                for pid, quantity in sorted(asked.items())
                if available[pid] < quantity
            ]
        )
    # Built as the ORM reads them (positional, no query): the caller gets what was made.
    names = [f.attname for f in Reservation._meta.concrete_fields]
    reservations = []
    for line in lines:
        values = {
            "id": made[line.line_id][1],
            "product_id": line.product.pk,
            "warehouse_id": warehouse_id,
            "quantity": line.quantity,
            "document_type": document_type,
            "document_id": document_id,
            "document_number": document_number,
            "line_id": line.line_id,
            "status": Reservation.Status.OPEN,
            "created_at": now,
        }
        values = [values.get(name) for name in names]
        reservations.append(Reservation.from_db(connection.alias, names, values))
    return reservations


@transaction.atomic
def reservations_close(
    *,
    document_type: str,
    document_id: int,
    status: str = Reservation.Status.RELEASED,
    line_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> list[Reservation]:
    """Close a document's open reservations: released (stock free again) or consumed.

    Consuming is done right before the movement that takes the goods out, in
    the same transaction, so the units never look free in between.
    """
    now = now or timezone.now()
    wanted = Reservation.objects.filter(
        document_type=document_type, document_id=document_id, status=Reservation.Status.OPEN
    )
    if line_ids is not None:
        wanted = wanted.filter(line_id__in=list(line_ids))
    keys = list(wanted.values_list("product_id", "warehouse_id").distinct())
    if not keys:
        return []
    stocks, _ = _rows_lock(product_warehouses=set(keys), product_locations=set())
    reservations = list(wanted.select_for_update().order_by("id"))
    for reservation in reservations:
        row = stocks[(reservation.product_id, reservation.warehouse_id)]
        row.reserved -= reservation.quantity
        row.updated_at = now
        reservation.status = status
        reservation.closed_at = now
    WarehouseStock.objects.bulk_update(stocks.values(), ["reserved", "updated_at"])
    Reservation.objects.bulk_update(reservations, ["status", "closed_at"])
    return reservations
