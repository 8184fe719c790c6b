"""Every non-trivial read of the warehouse, shaped so pages stay O(page size)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from .models import MONEY, QUANTITY, Location, Movement, Product, StockPosition, Warehouse

ZERO_QTY = Value(Decimal("0"), output_field=DecimalField(**QUANTITY))
ZERO_MONEY = Value(Decimal("0"), output_field=DecimalField(**MONEY))


def stock_balance_list(*, warehouse: Warehouse | None = None) -> QuerySet[Product]:
    """One row per product with its balance columns, in one warehouse or all.

    In one warehouse the balance row is joined (no aggregation), so a page
    costs what its rows cost; across warehouses the rows are summed.
    Columns: in_hand, reserved, available, dispatched, rented, ownership, average_cost.
    """
    products = Product.objects.all()
    if warehouse is not None:
        products = products.annotate(
            ws=FilteredRelation("stocks", condition=Q(stocks__warehouse=warehouse))
        ).annotate(
            in_hand=Coalesce(F("ws__in_hand"), ZERO_QTY),
            in_storage=Coalesce(F("ws__in_storage"), ZERO_QTY),
            reserved=Coalesce(F("ws__reserved"), ZERO_QTY),
            blocked=Coalesce(F("ws__blocked"), ZERO_QTY),
            dispatched=Coalesce(F("ws__dispatched"), ZERO_QTY),
            rented=Coalesce(F("ws__rented"), ZERO_QTY),
            average_cost=Coalesce(F("ws__average_cost"), ZERO_MONEY),
        )
    else:
        owned = F("stocks__in_hand") + F("stocks__dispatched") + F("stocks__rented")
        products = products.annotate(
            in_hand=Coalesce(Sum("stocks__in_hand"), ZERO_QTY),
            in_storage=Coalesce(Sum("stocks__in_storage"), ZERO_QTY),
            reserved=Coalesce(Sum("stocks__reserved"), ZERO_QTY),
            blocked=Coalesce(Sum("stocks__blocked"), ZERO_QTY),
            dispatched=Coalesce(Sum("stocks__dispatched"), ZERO_QTY),
            rented=Coalesce(Sum("stocks__rented"), ZERO_QTY),
            owned_value=Coalesce(
                Sum(
                    ExpressionWrapper(
                        owned * F("stocks__average_cost"), output_field=DecimalField(**MONEY)
                    )
                ),
                ZERO_MONEY,
            ),
        )
    products = products.annotate(
        available=ExpressionWrapper(
            F("in_storage") - F("reserved") - F("blocked"), output_field=DecimalField(**QUANTITY)
        ),
        ownership=ExpressionWrapper(
            F("in_hand") + F("dispatched") + F("rented"), output_field=DecimalField(**QUANTITY)
        ),
    )
    if warehouse is None:
        products = products.annotate(
            average_cost=Case(
                When(ownership__gt=0, then=F("owned_value") / F("ownership")),
                default=ZERO_MONEY,
                output_field=DecimalField(**MONEY),
            )
        )
    return products


def product_positions(*, product: Product) -> QuerySet[StockPosition]:
    """Where a product is: its non-empty positions in real and owned virtual locations."""
    return (
        StockPosition.objects.filter(product=product, quantity__gt=0)
        .exclude(location_kind__in=[Location.Kind.SUPPLIER, Location.Kind.ADJUSTMENT])
        .select_related("location__warehouse")
        .order_by("location__warehouse__code", "location__kind", "location__code")
    )


def product_warehouse_stocks(*, product: Product):
    return product.stocks.select_related("warehouse").order_by("warehouse__code")


def movement_list() -> QuerySet[Movement]:
    """The activity log: movements with everything a row shows, newest first."""
    return Movement.objects.select_related(
        "product", "source__warehouse", "destination__warehouse", "actor"
    ).order_by("-created_at", "-id")


def incoming_list(*, warehouse: Warehouse | None = None) -> QuerySet[StockPosition]:
    """Goods received into an incoming location and not yet put away."""
    positions = StockPosition.objects.filter(
        location_kind=Location.Kind.INCOMING, quantity__gt=0
    ).select_related("product", "location__warehouse")
    if warehouse is not None:
        positions = positions.filter(warehouse=warehouse)
    return positions.order_by("location__warehouse__code", "location__code", "product__sku")


def location_list() -> QuerySet[Location]:
    """Real locations with how many products they hold and how much."""
    return (
        Location.objects.filter(kind__in=Location.REAL_KINDS)
        .select_related("warehouse")
        .annotate(
            products=Sum(
                Case(When(positions__quantity__gt=0, then=1), default=0),
            ),
            quantity=Coalesce(Sum("positions__quantity"), ZERO_QTY),
        )
        .order_by("warehouse__code", "code")
    )


def real_locations(*, warehouse: Warehouse | None = None, kinds=None) -> QuerySet[Location]:
    locations = Location.objects.filter(
        kind__in=kinds or Location.REAL_KINDS, active=True
    ).select_related("warehouse")
    if warehouse is not None:
        locations = locations.filter(warehouse=warehouse)
    return locations.order_by("warehouse__code", "code")


def serial_places(*, product: Product, serials) -> dict[str, Location]:
    """Where each serial of a product is, by its last movement (absent: never booked)."""
    if not serials:
        return {}
    last = (
        Movement.objects.filter(product=product, serial__in=list(serials))
        .order_by("serial", "-id")
        .distinct("serial")
        .select_related("destination__warehouse")
    )
    return {m.serial: m.destination for m in last}


def serials_at(*, product: Product, location: Location) -> list[str]:
    """The serials of a product whose last movement brought them to `location`."""
    last = (
        Movement.objects.filter(product=product)
        .exclude(serial="")
        .order_by("serial", "-id")
        .distinct("serial")
        .values_list("serial", "destination_id")
    )
    return sorted(serial for serial, destination in last if destination == location.pk)
