"""The business actions: stock in, remove, move, isolate, adjust, and the document flows.

Each checks its request, then books through `movements_book`, the single
writer of the ledger (`ledger.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ..exceptions import (
    InsufficientStock,
    InvalidCount,
    InvalidDestination,
    InvalidLocation,
    InvalidPackagePrice,
    InvalidQuantity,
    InvalidReason,
    InvalidSerials,
    InvalidUnitCost,
)
from ..identity import identity_key, identity_repeated
from ..models import ZERO, IncomingPackage, Location, Movement, Product, StockPosition, Warehouse
from ..selectors import serial_last_movements, serial_places
from .base import (
    OWNED_KINDS,
    Action,
    Kind,
    MovementSpec,
    StockInLine,
    _quantity_check,
    serials_given,
)
from .constraints import maximum_check
from .incoming import _package_open
from .ledger import _rows_lock, movements_book
from .locations import virtual_location
from .reservations import stock_lock
from .valuation import package_unit_cost


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
                raise InvalidPackagePrice(
                    f"The package price of {line.product.sku} cannot be negative."
                )
            unit_cost = package_unit_cost(price=line.package_price, quantity=count)
        if unit_cost is None or unit_cost < 0:
            raise InvalidUnitCost(f"The unit cost of {line.product.sku} cannot be negative.")
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
        raise InvalidReason("Say why the goods are removed.")
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
    isolation_check(location=location, quarantine=quarantine, reason=reason)
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


def isolation_check(*, location: Location, quarantine: Location, reason: str) -> None:
    """What isolating asks, of counted goods and of devices alike: from storage, into a
    quarantine of the same warehouse, with a reason."""
    if location.kind != Kind.STORAGE:
        raise InvalidLocation(f"Only goods in storage can be isolated; {location} is not storage.")
    if quarantine.kind != Kind.QUARANTINE:
        raise InvalidDestination(f"{quarantine} is not a quarantine location.")
    if quarantine.warehouse_id != location.warehouse_id:
        raise InvalidDestination("The quarantine must be in the same warehouse as the goods.")
    if not reason.strip():
        raise InvalidReason("Say why the goods are isolated.")


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
        raise InvalidCount(
            f"{product.sku} is traceable: adjust its devices one by one, not by a count."
        )
    if not reason.strip():
        raise InvalidReason("Say why the stock is adjusted.")
    if unit_cost is not None and unit_cost < 0:
        raise InvalidUnitCost(f"The unit cost of {product.sku} cannot be negative.")
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


def _units(product: Product, quantity, serials: Sequence[str]):
    """(serial, quantity) per movement: one per serial for traceable products."""
    if not product.traceable:
        if serials:
            raise InvalidSerials(f"{product.sku} is not traceable: it takes no serial numbers.")
        _quantity_check(product, quantity)
        return [("", quantity)]
    return [(serial, Decimal(1)) for serial in serials_given(product, serials, quantity)]


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
