"""The booking module of the warehouse's stock pages: stock-in, moves, isolate, remove, adjust.

The site hands this module to the warehouse's pages (`inventory_site.urls`), in
place of `warehouse.services`, whose functions carry the same names: counted
products pass straight through to the warehouse; traceable ones move device
by device (`device_transition`), so devices and ledger never disagree. Stock
booked in creates its New devices here, one per serial.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.db import IntegrityError, transaction

from warehouse import services as stock
from warehouse.exceptions import InvalidReason, InvalidSerials
from warehouse.identity import identity_clean, identity_key
from warehouse.models import Location, Movement, Product

from .exceptions import DuplicateSerial, InvalidDeviceLocation
from .history import history_write
from .models import Device, DeviceEvent, State
from .services import device_transition

Kind = Location.Kind
Action = Movement.Action

# --------------------------------------------------------------------------- stock-in


@transaction.atomic
def stock_in(
    *,
    actor,
    location: Location,
    lines: Sequence[stock.StockInLine],
    supplier: str = "",
    reference: str = "",
    reason: str = "",
    now: dt.datetime | None = None,
    allow_over_maximum: bool = False,
) -> list[Movement]:
    """Book goods in, creating a New device per serial of the traceable lines.

    Refuses, naming the line, a serial the product already has (in any state,
    own devices included: an own device is never stocked in).
    """
    for index, line in enumerate(lines):
        if line.product.traceable:
            _serials_check_unknown(line.product, line.serials, line=index)
    movements = stock.stock_in(
        actor=actor,
        location=location,
        lines=lines,
        supplier=supplier,
        reference=reference,
        reason=reason,
        now=now,
        allow_over_maximum=allow_over_maximum,
    )
    _devices_create(movements, actor=actor, action="stock_in")
    return movements


@transaction.atomic
def device_adjust_in(
    *,
    actor,
    product: Product,
    location: Location,
    serials: Sequence[str],
    reason: str,
    unit_cost: Decimal | None = None,
    now: dt.datetime | None = None,
) -> list[Device]:
    """Devices found at a count: an adjustment up that creates them as New."""
    if not product.traceable:
        raise InvalidSerials(f"{product.sku} is not traceable: adjust it by a count.")
    if not location.is_real:
        raise InvalidDeviceLocation(f"Devices are found in a real location, not {location}.")
    if not reason.strip():
        raise InvalidReason("Say why the devices are added.")
    serials = _clean(serials)
    if not serials:
        raise InvalidSerials("Give the serial numbers of the devices found.")
    _serials_check_unknown(product, serials)
    adjustment = stock.virtual_location(warehouse=location.warehouse_id, kind=Kind.ADJUSTMENT)
    specs = [
        stock.MovementSpec(
            product=product,
            source=adjustment,
            destination=location,
            quantity=Decimal(1),
            action=Action.ADJUST_UP,
            unit_cost=unit_cost,
            serial=serial,
            reason=reason,
        )
        for serial in serials
    ]
    movements = stock.movements_book(specs=specs, actor=actor, now=now)
    return _devices_create(movements, actor=actor, action="adjust_in")


def _devices_create(movements: Sequence[Movement], *, actor, action: str) -> list[Device]:
    devices = [
        Device(
            product=m.product,
            serial=m.serial,
            state=State.NEW,
            location=m.destination,
            location_kind=m.destination.kind,
            created_at=m.created_at,
            updated_at=m.created_at,
        )
        for m in movements
        if m.serial
    ]
    if not devices:
        return []
    try:
        with transaction.atomic():
            Device.objects.bulk_create(devices)
    except IntegrityError as exc:
        # Two bookings of one new serial at once: the unique key is the backstop.
        raise DuplicateSerial("A serial number was booked by someone else meanwhile.") from exc
    by_serial = {(d.product_id, d.serial): d for d in devices}
    history_write(
        [
            DeviceEvent(
                device=by_serial[(m.product_id, m.serial)],
                kind=DeviceEvent.Kind.TRANSITION,
                action=action,
                to_state=State.NEW,
                to_location=m.destination,
                movement=m,
                reason=m.reason,
                reference=m.reference,
                actor=stock.actor_recorded(actor),
                created_at=m.created_at,
            )
            for m in movements
            if m.serial
        ]
    )
    return devices


def _serials_check_unknown(product: Product, serials: Sequence[str], *, line=None) -> None:
    """Refuse serials the product has already, whatever their case or form, naming each device."""
    known = dict(
        Device.objects.filter(product=product, serial__identity__in=_clean(serials)).values_list(
            "serial", "state"
        )
    )
    if not known:
        return
    own = sorted(s for s, state in known.items() if state == State.OWN)
    if own:
        raise DuplicateSerial(
            f"{product.sku}: {', '.join(own)} "
            f"{'is a customer’s own device' if len(own) == 1 else 'are customers’ own devices'}"
            " and can never be stocked in.",
            line=line,
        )
    listed = ", ".join(f"{s} ({State(state).label})" for s, state in sorted(known.items()))
    hint = ""
    if State.WRITTEN_OFF in known.values():
        hint = (
            " A written-off device that turns up again comes back with “Found again” on its page."
        )
    raise DuplicateSerial(
        f"{product.sku} already has these serial numbers: {listed}.{hint}", line=line
    )


# --------------------------------------------------------------------------- moves


@transaction.atomic
def stock_move(
    *,
    actor,
    product,
    source,
    destination,
    quantity=None,
    serials=(),
    reason="",
    now=None,
    allow_over_maximum=False,
    package=None,
):
    """Move goods between real locations; each device of a traceable product moves itself.

    `package`: the incoming package counted goods are put away from.
    """
    if not product.traceable:
        return stock.stock_move(
            actor=actor,
            product=product,
            source=source,
            destination=destination,
            quantity=quantity,
            serials=serials,
            reason=reason,
            now=now,
            allow_over_maximum=allow_over_maximum,
            package=package,
        )
    if not destination.is_real or destination.kind == Kind.INCOMING:
        raise stock.InvalidDestination(
            f"Goods can only be moved to storage or quarantine, not to {destination}."
        )
    devices = _devices_at(product, source, serials, quantity)
    movements = [
        device_transition(
            device=d, action="move", location=destination, actor=actor, reason=reason, now=now
        ).movement
        for d in devices
    ]
    if source.warehouse_id != destination.warehouse_id:
        stock.maximum_check(
            pairs={(product.pk, destination.warehouse_id)}, allow_over=allow_over_maximum
        )
    return movements


@transaction.atomic
def stock_isolate(
    *, actor, product, location, quarantine, quantity=None, serials=(), reason, now=None
):
    """Put goods from storage into quarantine; devices one by one."""
    if not product.traceable:
        return stock.stock_isolate(
            actor=actor,
            product=product,
            location=location,
            quarantine=quarantine,
            quantity=quantity,
            serials=serials,
            reason=reason,
            now=now,
        )
    stock.isolation_check(location=location, quarantine=quarantine, reason=reason)
    return stock_move(
        actor=actor,
        product=product,
        source=location,
        destination=quarantine,
        serials=serials,
        quantity=quantity,
        reason=reason,
        now=now,
    )


@transaction.atomic
def stock_remove(*, actor, product, location, quantity=None, serials=(), reason, now=None):
    """Take goods out for good; devices are written off."""
    if not product.traceable:
        return stock.stock_remove(
            actor=actor,
            product=product,
            location=location,
            quantity=quantity,
            serials=serials,
            reason=reason,
            now=now,
        )
    if not reason.strip():
        raise InvalidReason("Say why the goods are removed.")
    devices = _devices_at(product, location, serials, quantity)
    return [
        device_transition(
            device=d, action="write_off", actor=actor, reason=reason, now=now
        ).movement
        for d in devices
    ]


def stock_adjust(**kwargs):
    """Counts adjust counted products; devices are found (adjust in) or written off."""
    return stock.stock_adjust(**kwargs)


def _devices_at(product, location, serials, quantity) -> list[Device]:
    serials = stock.serials_given(product, serials, quantity)
    by_key = {
        identity_key(d.serial): d
        for d in Device.objects.filter(
            product=product, serial__identity__in=serials
        ).select_related("product", "location__warehouse")
    }
    devices = {s: by_key.get(identity_key(s)) for s in serials}
    unknown = [s for s, d in devices.items() if d is None]
    if unknown:
        raise InvalidSerials(f"{product.sku} has no device {', '.join(unknown)}.")
    elsewhere = [d.serial for d in devices.values() if d.location_id != location.pk]
    if elsewhere:
        raise InvalidSerials(f"Not in {location}: {', '.join(elsewhere)}.")
    return sorted(devices.values(), key=lambda d: d.serial)


def _clean(serials: Sequence[str]) -> list[str]:
    return [s for s in (identity_clean(s) for s in serials) if s]
