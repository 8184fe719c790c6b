"""Every write to the warehouse: one function per business action.

All of them go through `movements_book`, the single writer of the ledger and
its projection. It runs in one transaction, creates the cached rows it needs,
locks them in a fixed order (the product × warehouse rows sorted by product
id then warehouse id, then the product × location rows sorted by product id
then location id) so two requests cannot deadlock, checks every rule, then
writes ledger rows, positions and warehouse balances together.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Case, F, Q, When
from django.utils import timezone

from .exceptions import (
    AboveMaximum,
    InactiveProduct,
    InsufficientStock,
    InvalidDestination,
    InvalidLocation,
    InvalidPackage,
    InvalidQuantity,
    InvalidSerials,
    LocationKindFixed,
    ReservationRefused,
    WarehouseError,
    fmt,
)
from .identity import identity_clean, identity_key, identity_repeated
from .models import (
    ZERO,
    CostLayer,
    IncomingPackage,
    LayerConsumption,
    Location,
    Movement,
    Product,
    Reservation,
    StockConstraint,
    StockPosition,
    Warehouse,
    WarehouseStock,
)
from .selectors import serial_last_movements, serial_places

Kind = Location.Kind
Action = Movement.Action

# Where a kind of location counts in the product × warehouse balance.
_BALANCE_COLUMNS = {
    Kind.STORAGE: ("in_hand", "in_storage"),
    Kind.INCOMING: ("in_hand",),
    Kind.QUARANTINE: ("in_hand",),
    Kind.DISPATCHED: ("dispatched",),
    Kind.RENTED: ("rented",),
}
# Goods in these locations are owned by the business (and carry its average cost).
OWNED_KINDS = frozenset(_BALANCE_COLUMNS)
COST_PLACES = Decimal("0.0001")


@dataclass
class MovementSpec:
    """One movement to book; `movements_book` fills in the unit cost when it is None."""

    product: Product
    source: Location
    destination: Location
    quantity: Decimal
    action: str
    unit_cost: Decimal | None = None
    serial: str = ""
    reason: str = ""
    reference: str = ""
    supplier: str = ""
    package: IncomingPackage | None = None


@dataclass(frozen=True)
class StockInLine:
    """One product of a stock-in; with a package number it is an incoming package.

    With a package price (the total paid), the unit cost is price ÷ quantity.
    """

    product: Product
    quantity: Decimal | None
    unit_cost: Decimal | None
    serials: tuple[str, ...] = field(default_factory=tuple)
    package_number: str = ""
    package_price: Decimal | None = None


# --------------------------------------------------------------------------- virtual locations


def warehouse_create(*, code: str, name: str, address: str = "") -> Warehouse:
    """A warehouse with its virtual locations and one storage location."""
    with transaction.atomic():
        warehouse = Warehouse.objects.create(code=code, name=name, address=address)
        virtual_locations_ensure(warehouse=warehouse)
        Location.objects.create(
            warehouse=warehouse, code="STOCK", name="Main storage", kind=Kind.STORAGE
        )
    return warehouse


def virtual_locations_ensure(*, warehouse: Warehouse) -> dict[str, Location]:
    """The warehouse's virtual locations (supplier, adjustment, ...), created if missing."""
    existing = {
        loc.kind: loc
        for loc in Location.objects.filter(warehouse=warehouse, kind__in=Location.VIRTUAL_KINDS)
    }
    missing = [
        Location(warehouse=warehouse, code=f"~{kind.upper()}", name=kind.label, kind=kind)
        for kind in Location.VIRTUAL_KINDS
        if kind not in existing
    ]
    if missing:
        Location.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {
            loc.kind: loc
            for loc in Location.objects.filter(warehouse=warehouse, kind__in=Location.VIRTUAL_KINDS)
        }
    return existing


def location_kind_check(*, location: Location, kind: str, booked: bool | None = None) -> None:
    """Refuse a kind change the database would refuse (`location_kind_guard`, the positions' key).

    A virtual location keeps its kind, a real one stays real, and one that has
    held stock (it has positions; `booked` when the caller knows) keeps its kind.
    Raises LocationKindFixed.
    """
    if location.pk is None or kind == location.kind:
        return
    if not location.is_real:
        raise LocationKindFixed(f"{location} is a virtual location: its kind cannot change.")
    if kind not in Location.REAL_KINDS:
        raise LocationKindFixed(
            f"{location} is a real location: it cannot become {Kind(kind).label.lower()}."
        )
    if booked is None:
        booked = location.positions.exists()
    if booked:
        raise LocationKindFixed("Stock has been booked here: the kind can no longer change.")


def virtual_location(*, warehouse: Warehouse | int, kind: str) -> Location:
    warehouse_id = warehouse if isinstance(warehouse, int) else warehouse.pk
    try:
        return Location.objects.select_related("warehouse").get(
            warehouse_id=warehouse_id, kind=kind
        )
    except Location.DoesNotExist:
        warehouse = Warehouse.objects.get(pk=warehouse_id)
        return virtual_locations_ensure(warehouse=warehouse)[kind]


# --------------------------------------------------------------------------- business actions


@transaction.atomic
def stock_in(
    *,
    actor,
    location: Location,
    lines: Sequence[StockInLine],
    supplier: str = "",
    reference: str = "",
    reason: str = "",
    now: datetime | None = None,
    allow_over_maximum: bool = False,
) -> list[Movement]:
    """Book goods from a supplier into a storage or incoming location, all lines or none.

    Each line recomputes the product's moving average cost in the warehouse
    and opens a FIFO cost layer. A traceable product needs one serial number
    per unit. Goods booked into an incoming location always come as a
    package (numbered from the reference when no package number is given),
    so the incoming list can tell what waits to be put away.
    """
    if location.kind not in (Kind.STORAGE, Kind.INCOMING):
        raise InvalidLocation(f"Goods are booked into storage or incoming, not into {location}.")
    if not lines:
        raise InvalidQuantity("Add at least one product to book.")
    now = now or timezone.now()
    supplier_location = virtual_location(warehouse=location.warehouse_id, kind=Kind.SUPPLIER)
    specs = []
    for index, line in enumerate(lines):
        units = _units(line.product, line.quantity, line.serials)
        count = sum((q for _, q in units), ZERO)
        unit_cost = line.unit_cost
        if line.package_price is not None:
            if line.package_price < 0:
                raise InvalidPackage(f"The package price of {line.product.sku} cannot be negative.")
            unit_cost = (line.package_price / count).quantize(COST_PLACES, rounding=ROUND_HALF_UP)
        if unit_cost is None or unit_cost < 0:
            raise WarehouseError(f"The unit cost of {line.product.sku} cannot be negative.")
        package = None
        if line.package_number or location.kind == Kind.INCOMING:
            package = _package_open(
                line=line,
                index=index,
                location=location,
                quantity=count,
                unit_cost=unit_cost,
                reference=reference,
                supplier=supplier,
                now=now,
            )
        for serial, quantity in units:
            specs.append(
                MovementSpec(
                    product=line.product,
                    source=supplier_location,
                    destination=location,
                    quantity=quantity,
                    action=Action.ADD,
                    unit_cost=unit_cost,
                    serial=serial,
                    reason=reason,
                    reference=reference,
                    supplier=supplier,
                    package=package,
                )
            )
    _serials_check_new(specs)
    movements = movements_book(specs=specs, actor=actor, now=now)
    maximum_check(
        pairs={(m.product_id, location.warehouse_id) for m in movements},
        allow_over=allow_over_maximum,
    )
    return movements


def _package_open(*, line, index, location, quantity, unit_cost, reference, supplier, now):
    """Open the package a line arrives in; a number given twice is refused.

    Without a package number, the delivery's reference (or the date) numbers
    it, with -2, -3 ... added when that number is taken.
    """
    taken = IncomingPackage.objects.filter(warehouse_id=location.warehouse_id, product=line.product)
    number = line.package_number.strip()
    if number:
        if taken.filter(number=number).exists():
            raise InvalidPackage(
                f"Package {number} of {line.product.sku} was booked already in this warehouse."
            )
    else:
        number = _package_number_free(taken, (reference or f"{now:%Y%m%d}").strip())
    price = line.package_price if line.package_price is not None else unit_cost * quantity
    return IncomingPackage.objects.create(
        number=number,
        warehouse_id=location.warehouse_id,
        location=location,
        product=line.product,
        quantity=quantity,
        package_price=price,
        unit_cost=unit_cost,
        # Goods booked straight into storage are put away as they arrive.
        put_away=ZERO if location.kind == Kind.INCOMING else quantity,
        supplier=supplier,
        received_at=now,
    )


def _package_number_free(taken, base: str) -> str:
    """`base`, or `base-2`, `base-3` ... whichever no package of the product has yet."""
    used = set(taken.filter(number__startswith=base).values_list("number", flat=True))
    number, suffix = base, 1
    while number in used:
        suffix += 1
        number = f"{base}-{suffix}"
    return number


def _packages_for_arrivals(movements: Sequence[Movement], now: datetime) -> None:
    """Goods reaching an incoming location without a package (found at a count, devices
    adjusted in) arrive as one: the incoming list then always adds up to the location."""
    groups: dict[tuple[int, int], list[Movement]] = {}
    for m in movements:
        if m.destination.kind == Kind.INCOMING and m.package is None:
            groups.setdefault((m.product_id, m.destination_id), []).append(m)
    for group in groups.values():
        first = group[0]
        quantity = sum((m.quantity for m in group), ZERO)
        taken = IncomingPackage.objects.filter(
            warehouse_id=first.destination.warehouse_id, product_id=first.product_id
        )
        package = IncomingPackage.objects.create(
            number=_package_number_free(taken, first.reference or f"ADJ-{now:%Y%m%d}"),
            warehouse_id=first.destination.warehouse_id,
            location=first.destination,
            product_id=first.product_id,
            quantity=quantity,
            package_price=sum((m.quantity * m.unit_cost for m in group), ZERO),
            unit_cost=first.unit_cost,
            received_at=now,
        )
        for m in group:
            m.package = package


@transaction.atomic
def stock_remove(
    *,
    actor,
    product: Product,
    location: Location,
    quantity: Decimal | None = None,
    serials: Sequence[str] = (),
    reason: str,
    now: datetime | None = None,
) -> list[Movement]:
    """Take goods out of a real location for good (scrapped, lost, used up)."""
    if not location.is_real:
        raise InvalidLocation(f"Goods can only be removed from a real location, not {location}.")
    if not reason.strip():
        raise WarehouseError("Say why the goods are removed.")
    loss = virtual_location(warehouse=location.warehouse_id, kind=Kind.ADJUSTMENT)
    return _book_units(
        actor=actor,
        product=product,
        source=location,
        destination=loss,
        quantity=quantity,
        serials=serials,
        action=Action.REMOVE,
        reason=reason,
        now=now,
    )


@transaction.atomic
def stock_move(
    *,
    actor,
    product: Product,
    source: Location,
    destination: Location,
    quantity: Decimal | None = None,
    serials: Sequence[str] = (),
    reason: str = "",
    now: datetime | None = None,
    allow_over_maximum: bool = False,
    package: IncomingPackage | None = None,
) -> list[Movement]:
    """Move goods between two real locations, in one warehouse or across two.

    Putting away from an incoming location credits `package` first (then the
    oldest waiting packages of the product there).

    Across warehouses, a move above the destination's maximum is refused
    (hard) or needs `allow_over_maximum` (soft).
    """
    if not source.is_real:
        raise InvalidLocation(f"Goods can only be moved from a real location, not {source}.")
    if not destination.is_real:
        raise InvalidDestination(f"Goods can only be moved to a real location, not {destination}.")
    if destination.kind == Kind.INCOMING:
        raise InvalidDestination(f"{destination} is an incoming location: it receives deliveries.")
    if source.pk == destination.pk:
        raise InvalidDestination("The destination is the location the goods are already in.")
    movements = _book_units(
        actor=actor,
        product=product,
        source=source,
        destination=destination,
        quantity=quantity,
        serials=serials,
        action=Action.MOVE,
        reason=reason,
        now=now,
        package=package,
    )
    if source.warehouse_id != destination.warehouse_id:
        maximum_check(pairs={(product.pk, destination.warehouse_id)}, allow_over=allow_over_maximum)
    return movements


@transaction.atomic
def stock_isolate(
    *,
    actor,
    product: Product,
    location: Location,
    quarantine: Location,
    quantity: Decimal | None = None,
    serials: Sequence[str] = (),
    reason: str,
    now: datetime | None = None,
) -> list[Movement]:
    """Put goods from storage into quarantine (damaged, suspect, awaiting a test)."""
    if location.kind != Kind.STORAGE:
        raise InvalidLocation(f"Only goods in storage can be isolated; {location} is not storage.")
    if quarantine.kind != Kind.QUARANTINE:
        raise InvalidDestination(f"{quarantine} is not a quarantine location.")
    if quarantine.warehouse_id != location.warehouse_id:
        raise InvalidDestination("The quarantine must be in the same warehouse as the goods.")
    if not reason.strip():
        raise WarehouseError("Say why the goods are isolated.")
    return _book_units(
        actor=actor,
        product=product,
        source=location,
        destination=quarantine,
        quantity=quantity,
        serials=serials,
        action=Action.ISOLATE,
        reason=reason,
        now=now,
    )


@transaction.atomic
def stock_adjust(
    *,
    actor,
    product: Product,
    location: Location,
    counted: Decimal,
    reason: str,
    unit_cost: Decimal | None = None,
    now: datetime | None = None,
) -> Movement | None:
    """Correct a location's quantity to what was counted: an adjustment up or down.

    Returns None when the count equals the books. Gains are valued at the
    given unit cost, or at the warehouse's average cost.
    """
    if not location.is_real:
        raise InvalidLocation(f"Only a real location can be counted, not {location}.")
    if counted is None or counted < 0:
        raise InvalidQuantity("The counted quantity cannot be negative.")
    if product.traceable:
        raise WarehouseError(
            f"{product.sku} is traceable: adjust its devices one by one, not by a count."
        )
    if not reason.strip():
        raise WarehouseError("Say why the stock is adjusted.")
    if unit_cost is not None and unit_cost < 0:
        raise WarehouseError(f"The unit cost of {product.sku} cannot be negative.")
    _quantity_check(product, counted, allow_zero=True)
    adjustment = virtual_location(warehouse=location.warehouse_id, kind=Kind.ADJUSTMENT)
    # Lock before reading the booked quantity, so the difference is exact; the
    # adjustment row too, as locking it later could deadlock with a removal.
    _rows_lock(
        product_warehouses={(product.pk, location.warehouse_id)},
        product_locations={(product.pk, location.pk), (product.pk, adjustment.pk)},
    )
    booked = (
        StockPosition.objects.filter(product=product, location=location)
        .values_list("quantity", flat=True)
        .first()
    ) or ZERO
    difference = counted - booked
    if difference == 0:
        return None
    if difference > 0:
        spec = MovementSpec(
            product=product,
            source=adjustment,
            destination=location,
            quantity=difference,
            action=Action.ADJUST_UP,
            unit_cost=unit_cost,
            reason=reason,
        )
    else:
        spec = MovementSpec(
            product=product,
            source=location,
            destination=adjustment,
            quantity=-difference,
            action=Action.ADJUST_DOWN,
            reason=reason,
        )
    return movements_book(specs=[spec], actor=actor, now=now)[0]


# --------------------------------------------------------------------------- the single writer


@transaction.atomic
def movements_book(
    *,
    specs: Sequence[MovementSpec],
    actor,
    now: datetime | None = None,
    batch: uuid.UUID | None = None,
) -> list[Movement]:
    """Write movements, positions and warehouse balances together, or nothing.

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
            owned = target_stock.in_hand + target_stock.dispatched + target_stock.rented
            if owned <= 0:
                target_stock.average_cost = unit_cost
            else:
                total = owned * target_stock.average_cost + quantity * unit_cost
                target_stock.average_cost = (total / (owned + quantity)).quantize(
                    COST_PLACES, rounding=ROUND_HALF_UP
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


# --------------------------------------------------------------------------- constraints


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
        raise WarehouseError("The maximum cannot be below the minimum.")
    constraint, _ = StockConstraint.objects.update_or_create(
        product=product,
        warehouse=warehouse,
        defaults={"minimum": minimum, "maximum": maximum, "hard": hard},
    )
    return constraint


# --------------------------------------------------------------------------- FIFO


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


def _packages_put_away(movements: Sequence[Movement]) -> None:
    """Goods leaving an incoming location are put away from its packages, oldest first."""
    leaving = [m for m in movements if m.source.kind == Kind.INCOMING]
    for m in leaving:
        if m.serial:
            arrival = (
                Movement.objects.filter(
                    product_id=m.product_id,
                    serial=m.serial,
                    destination=m.source,
                    package__isnull=False,
                )
                .order_by("-id")
                .values_list("package_id", flat=True)
                .first()
            )
            packages = IncomingPackage.objects.filter(pk=arrival)
        else:
            # The package named by the put-away first, then the oldest waiting ones.
            packages = IncomingPackage.objects.filter(
                product_id=m.product_id, location=m.source, put_away__lt=F("quantity")
            ).order_by(Case(When(pk=m.package_id or 0, then=0), default=1), "received_at", "id")
        left = m.quantity
        for package in packages.select_for_update():
            take = min(left, package.quantity - package.put_away)
            if take <= 0:
                continue
            package.put_away += take
            package.save(update_fields=["put_away"])
            left -= take
            if left <= 0:
                break


# --------------------------------------------------------------------------- helpers


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


def _pairs_q(second: str, pairs: Iterable[tuple[int, int]]) -> Q:
    by_product: dict[int, list[int]] = {}
    for product_id, other in pairs:
        by_product.setdefault(product_id, []).append(other)
    q = Q(pk__in=[])
    for product_id, others in by_product.items():
        q |= Q(product_id=product_id, **{f"{second}__in": others})
    return q


def _spec_check(spec: MovementSpec) -> None:
    if not spec.product.active and spec.action == Action.ADD:
        raise InactiveProduct(f"{spec.product.sku} is inactive: it cannot be booked in.")
    if spec.source.pk == spec.destination.pk:
        raise InvalidDestination("The goods are already in that location.")
    _quantity_check(spec.product, spec.quantity)
    if spec.product.traceable and (spec.quantity != 1 or not spec.serial):
        raise InvalidSerials(f"{spec.product.sku} is traceable: each unit moves with its serial.")


def _quantity_check(product: Product, quantity: Decimal, *, allow_zero: bool = False) -> None:
    if quantity is None or quantity < 0 or (quantity == 0 and not allow_zero):
        raise InvalidQuantity(f"The quantity of {product.sku} must be greater than zero.")
    if quantity != quantity.quantize(Decimal("0.001")):
        raise InvalidQuantity(f"The quantity of {product.sku} has more than 3 decimals.")
    if product.unit == Product.Unit.PIECE and quantity != quantity.to_integral_value():
        raise InvalidQuantity(f"{product.sku} is counted in pieces: {fmt(quantity)} is not whole.")


def _unit_cost(spec: MovementSpec, source_stock, target_stock) -> Decimal:
    if spec.unit_cost is not None:
        return spec.unit_cost
    if spec.source.kind in OWNED_KINDS:
        return source_stock.average_cost
    return target_stock.average_cost


def _units(product: Product, quantity, serials: Sequence[str]):
    """(serial, quantity) per movement: one per serial for traceable products."""
    if not product.traceable:
        if serials:
            raise InvalidSerials(f"{product.sku} is not traceable: it takes no serial numbers.")
        _quantity_check(product, quantity)
        return [("", quantity)]
    return [(serial, Decimal(1)) for serial in serials_given(product, serials, quantity)]


def serials_given(product: Product, serials: Sequence[str], quantity=None) -> list[str]:
    """The serial numbers given for units of a traceable product, stripped and checked.

    At least one, none twice, and as many as `quantity` when one is given.
    Every service taking a list of serials (stock, devices) checks it here;
    each is cleaned (`identity_clean`) and repeats are found by key.
    """
    cleaned = [s for s in (identity_clean(s) for s in serials) if s]
    if not cleaned:
        raise InvalidSerials(f"{product.sku} is traceable: give one serial number per unit.")
    repeated = identity_repeated(cleaned)
    if repeated:
        raise InvalidSerials(f"Serial numbers given twice: {', '.join(repeated)}.")
    if quantity is not None and quantity != len(cleaned):
        raise InvalidSerials(
            f"{fmt(quantity)} units of {product.sku} but {len(cleaned)} serial numbers."
        )
    return cleaned


def actor_recorded(actor):
    """The user a ledger or history row records: nobody for anonymous or system work."""
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _serials_check_new(specs: Sequence[MovementSpec]) -> None:
    by_product: dict[int, tuple[Product, list[str]]] = {}
    for spec in specs:
        if spec.serial:
            by_product.setdefault(spec.product.pk, (spec.product, []))[1].append(spec.serial)
    for product, serials in by_product.values():
        # Each line checks its own repeats; one device on two lines is caught here.
        repeated = identity_repeated(serials)
        if repeated:
            raise InvalidSerials(f"Serial numbers given twice: {', '.join(repeated)}.")
        places = serial_places(product=product, serials=serials)
        present = sorted(s for s, loc in places.items() if loc.kind in OWNED_KINDS)
        if present:
            raise InvalidSerials(
                f"{product.sku} already has these serial numbers in stock: {', '.join(present)}."
            )


def _book_units(
    *, actor, product, source, destination, quantity, serials, action, reason, now, package=None
) -> list[Movement]:
    units = _units(product, quantity, serials)
    if product.traceable:
        # Lock before reading where the devices are, so no device moves twice.
        _rows_lock(
            product_warehouses={
                (product.pk, source.warehouse_id),
                (product.pk, destination.warehouse_id),
            },
            product_locations={(product.pk, source.pk), (product.pk, destination.pk)},
        )
        last = serial_last_movements(product=product, serials=[s for s, _ in units])
        found = {s: last.get(identity_key(s)) for s, _ in units}
        elsewhere = sorted(
            s for s, m in found.items() if m is None or m.destination_id != source.pk
        )
        if elsewhere:
            raise InvalidSerials(f"Not in {source}: {', '.join(elsewhere)}.")
        # The ledger goes on with each serial as it was first booked.
        units = [(found[s].serial, qty) for s, qty in units]
    specs = [
        MovementSpec(
            product=product,
            source=source,
            destination=destination,
            quantity=qty,
            action=action,
            serial=serial,
            reason=reason,
            package=package if source.kind == Kind.INCOMING else None,
        )
        for serial, qty in units
    ]
    return movements_book(specs=specs, actor=actor, now=now)


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


# --------------------------------------------------------------------------- reservations


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


def stock_lock_many(*, product_ids: Iterable[int], warehouse_id: int) -> dict:
    """Lock several products' balance rows in one warehouse, in product order."""
    stocks, _ = _rows_lock(
        product_warehouses={(pid, warehouse_id) for pid in product_ids},
        product_locations=set(),
    )
    return stocks


# --------------------------------------------------------------------------- document flows


@transaction.atomic
def stock_out(
    *,
    actor,
    product: Product,
    warehouse: Warehouse,
    quantity: Decimal,
    to_kind: str,
    action: str,
    reference: str = "",
    reason: str = "",
    now: datetime | None = None,
) -> list[Movement]:
    """Take counted goods out of a warehouse's storage into a virtual location.

    Picks the storage locations holding most first. Callers consume the
    document's reservation first, in the same transaction.
    """
    if product.traceable:
        raise InvalidSerials(f"{product.sku} is traceable: its devices go out one by one.")
    _quantity_check(product, quantity)
    stock_lock(product=product, warehouse_ids={warehouse.pk})
    destination = virtual_location(warehouse=warehouse, kind=to_kind)
    positions = list(
        StockPosition.objects.filter(
            product=product, warehouse=warehouse, location_kind=Kind.STORAGE, quantity__gt=0
        )
        .select_related("location__warehouse")
        .order_by("-quantity", "location__code")
    )
    specs, left = [], quantity
    for position in positions:
        if left <= 0:
            break
        take = min(left, position.quantity)
        specs.append(
            MovementSpec(
                product=product,
                source=position.location,
                destination=destination,
                quantity=take,
                action=action,
                reason=reason,
                reference=reference,
            )
        )
        left -= take
    if left > 0:
        raise InsufficientStock(
            product=product,
            location=f"{warehouse} storage",
            available=quantity - left,
            requested=quantity,
        )
    return movements_book(specs=specs, actor=actor, now=now)


@transaction.atomic
def stock_between(
    *,
    actor,
    product: Product,
    source: Location,
    destination: Location,
    quantity: Decimal,
    action: str,
    reference: str = "",
    reason: str = "",
    unit_cost: Decimal | None = None,
    now: datetime | None = None,
) -> Movement:
    """Book one movement of counted goods between two locations (document flows)."""
    if product.traceable:
        raise InvalidSerials(f"{product.sku} is traceable: its devices move one by one.")
    spec = MovementSpec(
        product=product,
        source=source,
        destination=destination,
        quantity=quantity,
        action=action,
        unit_cost=unit_cost,
        reason=reason,
        reference=reference,
    )
    return movements_book(specs=[spec], actor=actor, now=now)[0]
