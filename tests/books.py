"""The warehouse books as rows of natural keys, to compare two ways of writing them.

`books_snapshot()` reads the ledger, the positions, the balances (with their
average cost), the FIFO cost layers and what consumed them, the incoming
packages and the reservations, each row named by SKU, warehouse and location
code, serial, package and document number: never by an id or a timestamp, so
the same stock booked by two writers into two fresh databases compares equal
row for row. Used by the opening-stock property test (importer vs services)
and by tests/demo/test_seeding_against_services.py (demo generator vs services).
"""

from __future__ import annotations

from decimal import Decimal

from warehouse.models import (
    CostLayer,
    IncomingPackage,
    LayerConsumption,
    Movement,
    Reservation,
    StockPosition,
    WarehouseStock,
)


def _place(location) -> str:
    return f"{location.warehouse.code}/{location.code}"


def _number(value: Decimal) -> Decimal:
    """A quantity or cost compared by value: 2.500 and 2.5 are the same."""
    return value.normalize() if value else Decimal(0)


def _movement(m: Movement) -> tuple:
    return (
        m.product.sku,
        _place(m.source),
        _place(m.destination),
        m.action,
        _number(m.quantity),
        _number(m.unit_cost),
        m.serial,
        m.package.number if m.package_id else "",
        m.supplier,
        m.reason,
        m.reference,
    )


def _layer(layer: CostLayer) -> tuple:
    return (
        layer.product.sku,
        layer.warehouse.code,
        layer.package_number,
        _number(layer.unit_cost),
    )


def books_snapshot() -> dict[str, list[tuple]]:
    """Every row of the books by natural key, each list sorted (zero positions left out)."""
    movements = Movement.objects.select_related(
        "product", "source__warehouse", "destination__warehouse", "package"
    )
    layers = CostLayer.objects.select_related(
        "product",
        "warehouse",
        "movement__product",
        "movement__source__warehouse",
        "movement__destination__warehouse",
        "movement__package",
    )
    consumptions = LayerConsumption.objects.select_related(
        "layer__product",
        "layer__warehouse",
        "movement__product",
        "movement__source__warehouse",
        "movement__destination__warehouse",
        "movement__package",
    )
    books = {
        "movements": [_movement(m) for m in movements],
        "positions": [
            (p.product.sku, _place(p.location), p.location_kind, _number(p.quantity))
            for p in StockPosition.objects.select_related("product", "location__warehouse")
            if p.quantity != 0
        ],
        "balances": [
            (
                s.product.sku,
                s.warehouse.code,
                _number(s.in_hand),
                _number(s.in_storage),
                _number(s.reserved),
                _number(s.blocked),
                _number(s.dispatched),
                _number(s.rented),
                _number(s.average_cost),
            )
            for s in WarehouseStock.objects.select_related("product", "warehouse")
            if s.in_hand or s.dispatched or s.rented or s.reserved or s.blocked or s.average_cost
        ],
        "layers": [
            (
                *_layer(layer),
                _number(layer.quantity),
                _number(layer.remaining),
                _movement(layer.movement),
            )
            for layer in layers
        ],
        "consumptions": [
            (*_layer(c.layer), _movement(c.movement), _number(c.quantity), _number(c.unit_cost))
            for c in consumptions
        ],
        "packages": [
            (
                p.product.sku,
                p.warehouse.code,
                p.number,
                _place(p.location),
                _number(p.quantity),
                _number(p.package_price),
                _number(p.unit_cost),
                _number(p.put_away),
                p.supplier,
            )
            for p in IncomingPackage.objects.select_related(
                "product", "warehouse", "location__warehouse"
            )
        ],
        "reservations": [
            (
                r.product.sku,
                r.warehouse.code,
                r.document_type,
                r.document_number,
                _number(r.quantity),
                r.status,
            )
            for r in Reservation.objects.select_related("product", "warehouse")
        ],
    }
    return {name: sorted(rows) for name, rows in books.items()}
