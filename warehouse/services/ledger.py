"""The single writer of the ledger and its projection, and the row locks it takes.

`movements_book` runs in one transaction, creates the cached rows it needs,
locks them in a fixed order (the product × warehouse rows sorted by product
id then warehouse id, then the product × location rows sorted by product id
then location id) so two requests cannot deadlock, checks every rule, then
writes ledger rows, their `movement.booked` events (warehouse.events),
positions and warehouse balances together. Every
business action of the package books through it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ..events import events_record, movement_events
from ..exceptions import InactiveProduct, InsufficientStock, InvalidDestination, InvalidSerials
from ..models import ZERO, Location, Movement, StockPosition, WarehouseStock
from .base import (
    _BALANCE_COLUMNS,
    OWNED_KINDS,
    Action,
    Kind,
    MovementSpec,
    _pairs_q,
    _quantity_check,
    actor_recorded,
)
from .incoming import _packages_for_arrivals, _packages_put_away
from .valuation import _fifo_apply, _unit_cost, average_after_receipt


@transaction.atomic
def movements_book(
    *,
    specs: Sequence[MovementSpec],
    actor,
    now: datetime | None = None,
    batch: uuid.UUID | None = None,
) -> list[Movement]:
    """Write movements, their events, positions and warehouse balances together, or nothing.

    Locks every product × warehouse and product × location row it changes in
    a fixed order. Raises InsufficientStock when a real location (or the
    unreserved part of storage) would go below zero.
    """
    if not specs:
        return []
    now = now or timezone.now()
    batch = batch or uuid.uuid4()
    for spec in specs:
        _spec_check(spec)

    pairs = set()
    places = set()
    for spec in specs:
        for loc in (spec.source, spec.destination):
            pairs.add((spec.product.pk, loc.warehouse_id))
            places.add((spec.product.pk, loc.pk, loc.kind, loc.warehouse_id))
    stocks, positions = _rows_lock(
        product_warehouses=pairs,
        product_locations={(p, loc) for p, loc, _, _ in places},
        kinds={(p, loc): (kind, wh) for p, loc, kind, wh in places},
    )

    movements = []
    for spec in specs:
        product_id = spec.product.pk
        source_stock = stocks[(product_id, spec.source.warehouse_id)]
        target_stock = stocks[(product_id, spec.destination.warehouse_id)]
        source_position = positions[(product_id, spec.source.pk)]
        target_position = positions[(product_id, spec.destination.pk)]
        quantity = spec.quantity

        if spec.source.is_real and source_position.quantity < quantity:
            raise InsufficientStock(
                product=spec.product,
                location=spec.source,
                available=source_position.quantity,
                requested=quantity,
            )
        leaves_storage = spec.source.kind == Kind.STORAGE and not (
            spec.destination.kind == Kind.STORAGE
            and spec.destination.warehouse_id == spec.source.warehouse_id
        )
        if leaves_storage and source_stock.available < quantity:
            raise InsufficientStock(
                product=spec.product,
                location=spec.source,
                available=max(source_stock.available, ZERO),
                requested=quantity,
                reserved=source_stock.reserved + source_stock.blocked,
            )

        unit_cost = _unit_cost(spec, source_stock, target_stock)
        enters_ownership = spec.destination.kind in OWNED_KINDS and not (
            spec.source.kind in OWNED_KINDS
            and spec.source.warehouse_id == spec.destination.warehouse_id
        )
        if enters_ownership:
            target_stock.average_cost = average_after_receipt(
                owned=target_stock.ownership,
                average=target_stock.average_cost,
                quantity=quantity,
                unit_cost=unit_cost,
            )

        source_position.quantity -= quantity
        target_position.quantity += quantity
        for column in _BALANCE_COLUMNS.get(spec.source.kind, ()):
            setattr(source_stock, column, getattr(source_stock, column) - quantity)
        for column in _BALANCE_COLUMNS.get(spec.destination.kind, ()):
            setattr(target_stock, column, getattr(target_stock, column) + quantity)

        movements.append(
            Movement(
                product=spec.product,
                quantity=quantity,
                source=spec.source,
                destination=spec.destination,
                action=spec.action,
                unit_cost=unit_cost,
                serial=spec.serial,
                supplier=spec.supplier,
                reason=spec.reason,
                reference=spec.reference,
                batch=batch,
                package=spec.package,
                actor=actor_recorded(actor),
                created_at=now,
            )
        )

    _packages_for_arrivals(movements, now)
    Movement.objects.bulk_create(movements)
    events_record(movement_events(movements))
    _fifo_apply(movements)
    _packages_put_away(movements)
    StockPosition.objects.bulk_update(positions.values(), ["quantity"])
    for stock in stocks.values():
        stock.updated_at = now
    WarehouseStock.objects.bulk_update(
        stocks.values(),
        ["in_hand", "in_storage", "dispatched", "rented", "average_cost", "updated_at"],
    )
    return movements


def _rows_lock(*, product_warehouses, product_locations, kinds=None):
    """Create the cached rows if missing, then lock them in the fixed order."""
    pairs = sorted(product_warehouses)
    places = sorted(product_locations)
    if kinds is None:
        locations = Location.objects.in_bulk({loc for _, loc in places})
        kinds = {(p, loc): (locations[loc].kind, locations[loc].warehouse_id) for p, loc in places}
    WarehouseStock.objects.bulk_create(
        [WarehouseStock(product_id=p, warehouse_id=w) for p, w in pairs], ignore_conflicts=True
    )
    StockPosition.objects.bulk_create(
        [
            StockPosition(
                product_id=p,
                location_id=loc,
                location_kind=kinds[(p, loc)][0],
                warehouse_id=kinds[(p, loc)][1],
            )
            for p, loc in places
        ],
        ignore_conflicts=True,
    )
    stocks = {
        (s.product_id, s.warehouse_id): s
        for s in WarehouseStock.objects.select_for_update()
        .filter(_pairs_q("warehouse_id", pairs))
        .order_by("product_id", "warehouse_id")
    }
    positions = {
        (s.product_id, s.location_id): s
        for s in StockPosition.objects.select_for_update()
        .filter(_pairs_q("location_id", places))
        .order_by("product_id", "location_id")
    }
    return stocks, positions


def _spec_check(spec: MovementSpec) -> None:
    if not spec.product.active and spec.action == Action.ADD:
        raise InactiveProduct(f"{spec.product.sku} is inactive: it cannot be booked in.")
    if spec.source.pk == spec.destination.pk:
        raise InvalidDestination("The goods are already in that location.")
    _quantity_check(spec.product, spec.quantity)
    if spec.product.traceable and (spec.quantity != 1 or not spec.serial):
        raise InvalidSerials(f"{spec.product.sku} is traceable: each unit moves with its serial.")
