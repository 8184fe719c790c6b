"""Valuation: the moving average cost and the FIFO cost layers.

`average_after_receipt` is the one place the moving average is computed:
the ledger writer uses it for every receipt, the booking dialog for the
reference price it suggests. `_fifo_apply` opens and consumes the layers
under the ledger writer's locks.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from ..exceptions import WarehouseError, fmt
from ..models import CostLayer, LayerConsumption, Movement
from .base import COST_PLACES, OWNED_KINDS, MovementSpec


def average_after_receipt(
    *, owned: Decimal, average: Decimal, quantity: Decimal, unit_cost: Decimal
) -> Decimal:
    """The moving average unit cost once `quantity` units at `unit_cost` join what is owned.

    (owned × average + quantity × unit cost) ÷ (owned + quantity), to 4
    places; when nothing (or less than nothing) is owned, the unit cost.
    """
    if owned <= 0:
        return unit_cost
    total = owned * average + quantity * unit_cost
    return (total / (owned + quantity)).quantize(COST_PLACES, rounding=ROUND_HALF_UP)


def package_unit_cost(*, price: Decimal, quantity: Decimal) -> Decimal:
    """The unit cost of a package bought for `price` (the total paid), to 4 places."""
    return (price / quantity).quantize(COST_PLACES, rounding=ROUND_HALF_UP)


def _unit_cost(spec: MovementSpec, source_stock, target_stock) -> Decimal:
    if spec.unit_cost is not None:
        return spec.unit_cost
    if spec.source.kind in OWNED_KINDS:
        return source_stock.average_cost
    return target_stock.average_cost


def _fifo_apply(movements: Sequence[Movement]) -> None:
    """Open and consume FIFO cost layers for movements that change a warehouse's ownership.

    Runs under the product × warehouse locks of `movements_book`, which are
    what guards the layers. A transfer between warehouses carries its layers
    (package, date, cost) across.
    """
    open_layers: dict[tuple[int, int], list[CostLayer]] = {}
    new_layers: list[CostLayer] = []
    consumptions: list[LayerConsumption] = []
    touched: dict[int, CostLayer] = {}

    def layers_of(product_id, warehouse_id):
        key = (product_id, warehouse_id)
        if key not in open_layers:
            open_layers[key] = list(
                CostLayer.objects.filter(
                    product_id=product_id, warehouse_id=warehouse_id, remaining__gt=0
                ).order_by("received_at", "id")
            )
        return open_layers[key]

    for m in movements:
        source, destination = m.source, m.destination
        same = source.warehouse_id == destination.warehouse_id
        leaves = source.kind in OWNED_KINDS and not (destination.kind in OWNED_KINDS and same)
        enters = destination.kind in OWNED_KINDS and not (source.kind in OWNED_KINDS and same)
        taken: list[tuple[CostLayer, Decimal]] = []
        if leaves:
            left = m.quantity
            for layer in layers_of(m.product_id, source.warehouse_id):
                if left <= 0:
                    break
                if layer.remaining <= 0:
                    continue
                take = min(left, layer.remaining)
                layer.remaining -= take
                left -= take
                taken.append((layer, take))
                if layer.pk:
                    touched[layer.pk] = layer
                consumptions.append(
                    LayerConsumption(
                        layer=layer, movement=m, quantity=take, unit_cost=layer.unit_cost
                    )
                )
            if left > 0:
                raise WarehouseError(
                    f"The cost layers of {m.product.sku} in {source.warehouse} hold "
                    f"{fmt(m.quantity - left)} where {fmt(m.quantity)} leave: the books disagree."
                )
        if enters:
            slices = (
                [(t.package_id, t.package_number, t.received_at, q, t.unit_cost) for t, q in taken]
                if leaves
                else [
                    (
                        m.package_id,
                        m.package.number if m.package_id else m.reference,
                        m.created_at,
                        m.quantity,
                        m.unit_cost,
                    )
                ]
            )
            target = layers_of(m.product_id, destination.warehouse_id)
            for package_id, number, received_at, quantity, unit_cost in slices:
                last = new_layers[-1] if new_layers else None
                if (
                    last is not None
                    and last.movement.batch == m.batch
                    and (last.product_id, last.warehouse_id, last.package_id, last.package_number)
                    == (m.product_id, destination.warehouse_id, package_id, number)
                    and (last.received_at, last.unit_cost) == (received_at, unit_cost)
                ):
                    last.quantity += quantity  # serials of one package: one layer
                    last.remaining += quantity
                    continue
                layer = CostLayer(
                    product_id=m.product_id,
                    warehouse_id=destination.warehouse_id,
                    package_id=package_id,
                    package_number=number or "",
                    movement=m,
                    received_at=received_at,
                    quantity=quantity,
                    remaining=quantity,
                    unit_cost=unit_cost,
                )
                new_layers.append(layer)
                target.append(layer)
                target.sort(key=lambda x: (x.received_at, x.pk or 0))
    if new_layers:
        CostLayer.objects.bulk_create(new_layers)
    if touched:
        CostLayer.objects.bulk_update(touched.values(), ["remaining"])
    if consumptions:
        LayerConsumption.objects.bulk_create(consumptions)
