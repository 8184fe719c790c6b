"""Stock constraints: a product's minimum and maximum in a warehouse, and the maximum's check."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from ..exceptions import AboveMaximum, InvalidMaximum, InvalidQuantity
from ..models import ZERO, Product, StockConstraint, Warehouse, WarehouseStock
from .base import _pairs_q


def maximum_check(*, pairs: set[tuple[int, int]], allow_over: bool) -> None:
    """After booking (rows still locked): refuse what lifts stock in hand above a maximum.

    Raising rolls the booking back. A soft maximum yields to `allow_over`.
    """
    if not pairs:
        return
    constraints = (
        StockConstraint.objects.filter(_pairs_q("warehouse_id", pairs), maximum__isnull=False)
        .select_related("product", "warehouse")
        .order_by("product_id", "warehouse_id")
    )
    held = {
        (s.product_id, s.warehouse_id): s.in_hand
        for s in WarehouseStock.objects.filter(_pairs_q("warehouse_id", pairs))
    }
    over = [c for c in constraints if held.get((c.product_id, c.warehouse_id), ZERO) > c.maximum]
    hard = any(c.hard for c in over)
    if over and (hard or not allow_over):
        raise AboveMaximum(
            [
                (c.product, c.warehouse, c.maximum, held[(c.product_id, c.warehouse_id)])
                for c in over
            ],
            hard=hard,
        )


@transaction.atomic
def constraint_set(
    *,
    product: Product,
    warehouse: Warehouse,
    minimum: Decimal,
    maximum: Decimal | None,
    hard: bool = False,
) -> StockConstraint:
    """Set (or replace) a product's minimum and maximum in a warehouse."""
    if minimum is None or minimum < 0:
        raise InvalidQuantity("The minimum cannot be negative.")
    if maximum is not None and maximum < minimum:
        raise InvalidMaximum("The maximum cannot be below the minimum.")
    constraint, _ = StockConstraint.objects.update_or_create(
        product=product,
        warehouse=warehouse,
        defaults={"minimum": minimum, "maximum": maximum, "hard": hard},
    )
    return constraint
