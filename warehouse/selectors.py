"""Every non-trivial read of the warehouse, shaped so pages stay O(page size)."""

from __future__ import annotations

import functools
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from .filters import BalanceFilter, FifoFilter, LocationFilter, MovementFilter, ProductFilter
from .identity import IdentityKey, identity_clean, identity_key, identity_rank
from .models import (
    MONEY,
    QUANTITY,
    CostLayer,
    IncomingPackage,
    LayerConsumption,
    Location,
    Movement,
    Party,
    Product,
    Reservation,
    StockConstraint,
    StockPosition,
    Warehouse,
    WarehouseStock,
)

ZERO_QTY = Value(Decimal("0"), output_field=DecimalField(**QUANTITY))
ZERO_MONEY = Value(Decimal("0"), output_field=DecimalField(**MONEY))


def stock_balance_list(*, warehouse: Warehouse | None = None) -> QuerySet[Product]:
    """One row per product with its balance columns, in one warehouse or all.

    In one warehouse the balance row is joined (no aggregation), so a page
    costs what its rows cost; across warehouses the rows are summed.
    Columns: in_hand, reserved, available, dispatched, rented, ownership, average_cost.
    """
    # Resolving a dozen annotations costs a page more Python than its SQL: the
    # query is built once per warehouse and each call gets its own copy.
    return _stock_balance_query(None if warehouse is None else warehouse.pk).all()


@functools.lru_cache(maxsize=64)
def _stock_balance_query(warehouse: int | None) -> QuerySet[Product]:
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
        # Summed per listed product (a correlated subquery each), not joined and
        # grouped over every balance row: the first page reads 25 products' rows.
        stocks = WarehouseStock.objects.filter(product=OuterRef("pk")).order_by().values("product")

        def summed(expression, field=QUANTITY, zero=ZERO_QTY):
            total = stocks.annotate(total=Sum(expression, output_field=DecimalField(**field)))
            return Coalesce(Subquery(total.values("total")), zero)

        owned = F("in_hand") + F("dispatched") + F("rented")
        products = products.annotate(
            in_hand=summed(F("in_hand")),
            in_storage=summed(F("in_storage")),
            reserved=summed(F("reserved")),
            blocked=summed(F("blocked")),
            dispatched=summed(F("dispatched")),
            rented=summed(F("rented")),
            owned_value=summed(owned * F("average_cost"), MONEY, ZERO_MONEY),
        )
    products = products.annotate(
        available=ExpressionWrapper(
            F("in_storage") - F("reserved") - F("blocked"), output_field=DecimalField(**QUANTITY)
        ),
        ownership=ExpressionWrapper(
            F("in_hand") + F("dispatched") + F("rented"), output_field=DecimalField(**QUANTITY)
        ),
    )
    low = StockConstraint.objects.filter(product=OuterRef("pk"), minimum__gt=0).annotate(
        held=Coalesce(
            Subquery(
                WarehouseStock.objects.filter(
                    product=OuterRef("product_id"), warehouse=OuterRef("warehouse_id")
                ).values("in_hand")[:1]
            ),
            ZERO_QTY,
        )
    )
    if warehouse is not None:
        low = low.filter(warehouse=warehouse)
    products = products.annotate(below_minimum=Exists(low.filter(held__lt=F("minimum"))))
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


def product_open_reservations(*, product: Product) -> QuerySet[Reservation]:
    """The open documents holding a product's stock: number, warehouse, quantity."""
    return (
        Reservation.objects.filter(product=product, status=Reservation.Status.OPEN)
        .select_related("warehouse")
        .order_by("warehouse__code", "document_number", "id")
    )


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
    """Real locations with how many products they hold and how much.

    Both figures are correlated subqueries on each listed location's positions
    (the `stockposition_location` index), not a join grouped over every
    position: a page of 25 locations reads those 25 locations' positions only.
    Sorting by either figure computes it for every location the filter keeps.
    """
    # Emptied positions stay as zero rows; a real location never holds less than zero.
    held = (
        StockPosition.objects.filter(location=OuterRef("pk"), quantity__gt=0)
        .order_by()
        .values("location")
    )
    products = held.annotate(n=Count("*")).values("n")
    total = held.annotate(total=Sum("quantity")).values("total")
    return (
        Location.objects.filter(kind__in=Location.REAL_KINDS)
        .select_related("warehouse")
        .annotate(
            products=Coalesce(Subquery(products), 0),
            quantity=Coalesce(Subquery(total), ZERO_QTY),
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


def serial_last_movements(*, product: Product, serials) -> dict[str, Movement]:
    """The last movement of each serial of a product, by its key (absent: never booked).

    Serials are matched whatever their case or form (`identity_key`), through
    the ledger's key index.
    """
    if not serials:
        return {}
    last = (
        Movement.objects.filter(product=product, serial__identity__in=list(serials))
        .exclude(serial="")
        .annotate(key=IdentityKey("serial"))
        .order_by("serial__identity", "-id")
        .distinct("serial__identity")
        .select_related("destination__warehouse")
    )
    return {m.key: m for m in last}


def serial_places(*, product: Product, serials) -> dict[str, Location]:
    """Where each serial given is, by its last movement (absent: never booked)."""
    last = serial_last_movements(product=product, serials=serials)
    found = {s: last.get(identity_key(s)) for s in serials}
    return {s: m.destination for s, m in found.items() if m is not None}


def serials_at(*, product: Product, location: Location) -> list[str]:
    """The serials of a product whose last movement brought them to `location`."""
    last = (
        Movement.objects.filter(product=product)
        .exclude(serial="")
        .order_by("serial__identity", "-id")
        .distinct("serial__identity")
        .values_list("serial", "destination_id")
    )
    return sorted(serial for serial, destination in last if destination == location.pk)


# --------------------------------------------------------------------------- constraints


def low_stock_list(*, warehouse: Warehouse | None = None):
    """Constraints whose product is below its minimum in hand, with the quantity to reorder.

    Reorder up to the maximum (or the minimum when there is none).
    """
    held = Coalesce(
        Subquery(
            WarehouseStock.objects.filter(
                product=OuterRef("product_id"), warehouse=OuterRef("warehouse_id")
            ).values("in_hand")[:1]
        ),
        ZERO_QTY,
    )
    rows = (
        StockConstraint.objects.annotate(in_hand=held)
        .filter(in_hand__lt=F("minimum"))
        .annotate(
            reorder=ExpressionWrapper(
                Coalesce(F("maximum"), F("minimum")) - F("in_hand"),
                output_field=DecimalField(**QUANTITY),
            )
        )
        .select_related("product", "warehouse")
        .order_by("warehouse__code", "product__sku")
    )
    if warehouse is not None:
        rows = rows.filter(warehouse=warehouse)
    return rows


def low_stock_count() -> int:
    """How many product × warehouse pairs are below their minimum (the navigation badge)."""
    return _low_stock_query().count()  # counts on a copy of the cached query


@functools.lru_cache(maxsize=1)
def _low_stock_query():
    # Every page runs this count: its query is built once per process.
    return low_stock_list().order_by()


# --------------------------------------------------------------------------- incoming and FIFO


def package_waiting_list(*, warehouse: Warehouse | None = None):
    """Incoming packages with goods not yet put away, oldest first."""
    packages = (
        IncomingPackage.objects.filter(put_away__lt=F("quantity"))
        .select_related("product", "location__warehouse")
        .order_by("received_at", "id")
    )
    if warehouse is not None:
        packages = packages.filter(warehouse=warehouse)
    return packages


FIFO_ROW_KEY = ("product_id", "warehouse__code", "package_number")  # one report row each


def fifo_report(*, product: Product | None = None, date_from=None, date_to=None, warehouse=None):
    """FIFO valuation per product and package: received, consumed, remaining, value.

    One row per (product, warehouse, package number); dates filter on when
    the package was received. Remaining quantities of all rows add up to
    what the business owns.
    """
    layers = CostLayer.objects.all()
    if product is not None:
        layers = layers.filter(product=product)
    if warehouse is not None:
        layers = layers.filter(warehouse=warehouse)
    if date_from is not None:
        layers = layers.filter(received_at__date__gte=date_from)
    if date_to is not None:
        layers = layers.filter(received_at__date__lte=date_to)
    value = ExpressionWrapper(F("quantity") * F("unit_cost"), output_field=DecimalField(**MONEY))
    left = ExpressionWrapper(F("remaining") * F("unit_cost"), output_field=DecimalField(**MONEY))
    return (
        layers.values(
            "product_id", "product__sku", "product__name", "warehouse__code", "package_number"
        )
        .annotate(
            # The values first: once `remaining` names the sum, F("remaining") means it.
            received_value=Sum(value),
            remaining_value=Sum(left),
            received_at=Min("received_at"),
            received=Sum("quantity"),
            remaining=Sum("remaining"),
            layers=Count("id"),
        )
        .annotate(
            consumed=ExpressionWrapper(
                F("received") - F("remaining"), output_field=DecimalField(**QUANTITY)
            )
        )
        .order_by("product__sku", "warehouse__code", "received_at", "package_number")
    )


def fifo_report_search(params) -> tuple[FifoFilter, QuerySet, dict]:
    """The FIFO report's filter applied: (filterset, its rows, the criteria asked).

    Nothing is asked of an unbound filter (every package); an invalid one shows no row.
    """
    filterset = FifoFilter(params or None, queryset=CostLayer.objects.none())
    valid = not filterset.is_bound or filterset.is_valid()
    criteria = filterset.criteria() if filterset.is_bound and valid else {}
    rows = fifo_report(**criteria)
    return filterset, rows if valid else rows.none(), criteria


def fifo_report_totals(rows: QuerySet) -> dict:
    """What the report's rows still hold: remaining quantity and its value."""
    # Aliases of their own: a sum named like the annotation it sums would shadow it.
    sums = rows.aggregate(remaining_total=Sum("remaining"), value_total=Sum("remaining_value"))
    return {
        "remaining": sums["remaining_total"] or Decimal(0),
        "value": sums["value_total"] or Decimal(0),
    }


def ownership_total(*, product: Product | None = None, warehouse=None) -> dict:
    """What the moving-average valuation says is owned: quantity and value, for the same scope."""
    stocks = WarehouseStock.objects.all()
    if product is not None:
        stocks = stocks.filter(product=product)
    if warehouse is not None:
        stocks = stocks.filter(warehouse=warehouse)
    owned = F("in_hand") + F("dispatched") + F("rented")
    totals = stocks.aggregate(
        quantity=Sum(owned, output_field=DecimalField(**QUANTITY)),
        value=Sum(ExpressionWrapper(owned * F("average_cost"), output_field=DecimalField(**MONEY))),
    )
    return {key: value or Decimal(0) for key, value in totals.items()}


def package_layers(*, product: Product, package_number: str) -> QuerySet[CostLayer]:
    """A package's cost layers in each warehouse, oldest first, with consumed and value left."""
    return (
        CostLayer.objects.filter(product=product, package_number=package_number)
        .select_related("warehouse", "package")
        .annotate(
            consumed=ExpressionWrapper(
                F("quantity") - F("remaining"), output_field=DecimalField(**QUANTITY)
            ),
            remaining_value=ExpressionWrapper(
                F("remaining") * F("unit_cost"), output_field=DecimalField(**MONEY)
            ),
        )
        .order_by("received_at", "id")
    )


def package_consumptions(*, product: Product, package_number: str, warehouse=None):
    """Which movements consumed a package's layers, with their documents."""
    rows = LayerConsumption.objects.filter(
        layer__product=product, layer__package_number=package_number
    )
    if warehouse is not None:
        rows = rows.filter(layer__warehouse=warehouse)
    return (
        rows.select_related(
            "movement__source__warehouse", "movement__destination__warehouse", "movement__actor"
        )
        .annotate(
            value=ExpressionWrapper(
                F("quantity") * F("unit_cost"), output_field=DecimalField(**MONEY)
            )
        )
        .order_by("movement__created_at", "id")
    )


# --------------------------------------------------------------------------- suggestions

SUGGESTIONS = 20  # options a typed field is offered at most


def product_suggest(
    *, text: str, traceable: bool | None = None, limit: int = SUGGESTIONS
) -> QuerySet[Product]:
    """Active products whose SKU starts with the text or whose name contains it.

    The SKU typed whole comes first, then SKUs and names starting with the
    text, then the rest; by SKU within each.
    """
    text = identity_clean(text)
    if not text:
        return Product.objects.none()
    products = Product.objects.filter(active=True).filter(
        Q(sku__identity_startswith=text) | Q(name__identity_contains=text)
    )
    if traceable is not None:
        products = products.filter(traceable=traceable)
    return products.order_by(identity_rank(text, "sku", "name"), "sku")[:limit]


def party_suggest(
    *, text: str, kind: str | None = None, limit: int = SUGGESTIONS
) -> QuerySet[Party]:
    """Active parties whose name contains the text: the name typed whole first, then by name."""
    text = identity_clean(text)
    if not text:
        return Party.objects.none()
    parties = Party.objects.filter(active=True, name__identity_contains=text)
    if kind:
        parties = parties.filter(kind=kind)
    return parties.order_by(identity_rank(text, "name"), "name", "pk")[:limit]


def location_suggest(
    *, text: str, warehouse: int | None = None, kinds=None, limit: int = SUGGESTIONS
) -> QuerySet[Location]:
    """Active real locations whose code starts with the text or whose name contains it.

    Text typed as `WAREHOUSE/CODE` narrows to that warehouse's codes starting
    with CODE. The code typed whole comes first, then codes and names starting
    with the text, then the rest.
    """
    text = identity_clean(text)
    if not text:
        return Location.objects.none()
    locations = real_locations(kinds=kinds)
    if warehouse is not None:
        locations = locations.filter(warehouse_id=warehouse)
    warehouse_code, slash, code = text.partition("/")
    match = Q(code__identity_startswith=text) | Q(name__identity_contains=text)
    rank = identity_rank(text, "code", "name")
    if slash:
        code = code.strip()
        match |= Q(warehouse__code__iexact=warehouse_code.strip(), code__identity_startswith=code)
        rank = identity_rank(code, "code")
    return locations.filter(match).order_by(rank, "warehouse__code", "code")[:limit]


# --------------------------------------------------------------------------- page searches
# One function per list page: the page and its CSV export filter alike. Each
# builds the page's FilterSet from the query string and applies it.


def stock_balance_search(params):
    """The balance filter applied: (filterset, the warehouse chosen or None, products)."""
    data = params.copy()
    data.setdefault("active", "true")
    filterset = BalanceFilter(data, queryset=None)
    warehouse = filterset.form.cleaned_data.get("warehouse") if filterset.is_valid() else None
    filterset.queryset = stock_balance_list(warehouse=warehouse)
    products = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    return filterset, warehouse, products


def movement_search(params):
    """The activity filter applied, and `?batch=` (one booking): (filterset, movements)."""
    movements = movement_list()
    batch = params.get("batch")
    if batch:
        try:
            movements = movements.filter(batch=batch)
        except ValidationError:  # a malformed id: no booking has it
            movements = movements.none()
    filterset = MovementFilter(params or None, queryset=movements)
    if filterset.is_bound and not filterset.is_valid():
        return filterset, movements.none()
    return filterset, filterset.qs if filterset.is_bound else movements


def product_search(params):
    """The products filter applied: (filterset, products); every product unless filtered."""
    filterset = ProductFilter(params, queryset=Product.objects.order_by("sku"))
    return filterset, filterset.qs if filterset.is_valid() else filterset.queryset.none()


def location_search(params):
    """The locations filter applied: (filterset, real locations with what they hold)."""
    filterset = LocationFilter(params, queryset=location_list())
    return filterset, filterset.qs if filterset.is_valid() else filterset.queryset.none()
