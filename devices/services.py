"""Every write to devices: state, place, owner, status, characteristics, parts.

`device_transition` is the one place that changes a device's state: it checks
the transition table (`devices.states.TRANSITIONS`), books the ledger movement
when the device changes place, and writes state, owner, place and a history
event in the same transaction. Locks follow the warehouse's global order:
product × warehouse balance rows first (`warehouse.services.stock_lock`),
then the device rows sorted by id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from warehouse import services as stock
from warehouse.exceptions import InvalidSerials, WarehouseError
from warehouse.fields import number_parse
from warehouse.identity import identity_clean, identity_key
from warehouse.models import Location, Movement, Party, Product

from .exceptions import (
    DuplicateElectronicId,
    DuplicateSerial,
    IllegalTransition,
    InvalidCharacteristics,
    InvalidDeviceLocation,
    InvalidOwner,
    InvalidStatus,
)
from .models import Characteristic, Device, DeviceEvent, DeviceStatus, InstalledPart, State
from .states import PREVIOUS, SAME, TRANSITIONS

Kind = Location.Kind
Action = Movement.Action

# The ledger action booked when a transition moves a device.
_LEDGER_ACTION = {
    "dispatch": Action.DISPATCH,
    "undispatch": Action.UNDISPATCH,
    "sell": Action.SELL,
    "rent": Action.RENT,
    "return_rental": Action.RETURN_RENTAL,
    "return": Action.RETURN,
    "write_off": Action.REMOVE,
    "found": Action.ADJUST_UP,
}
# Where the transition takes the device: a virtual location of its warehouse.
_VIRTUAL_TARGET = {
    "dispatch": Kind.DISPATCHED,
    "sell": Kind.SOLD,
    "rent": Kind.RENTED,
    "write_off": Kind.ADJUSTMENT,
}


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
        raise WarehouseError("Say why the devices are added.")
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
    DeviceEvent.objects.bulk_create(
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


def _electronic_id_check_free(electronic_id: str, *, device: Device | None = None) -> None:
    """Refuse an electronic id another device has, whatever its case or form, naming it."""
    if not electronic_id:
        return
    others = Device.objects.filter(electronic_id__identity=electronic_id)
    if device is not None and device.pk is not None:
        others = others.exclude(pk=device.pk)
    other = others.select_related("product").first()
    if other is not None:
        raise DuplicateElectronicId(
            f"Electronic id {other.electronic_id} already exists ({other}, "
            f"{other.get_state_display()})."
        )


# --------------------------------------------------------------------------- warehouse pages

# The warehouse's stock pages book through these (wired in inventory_site.urls):
# counted products go straight to the warehouse; traceable ones move device by
# device, so devices and ledger never disagree.


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
        ).last_event.movement
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
    if location.kind != Kind.STORAGE:
        raise stock.InvalidLocation(
            f"Only goods in storage can be isolated; {location} is not storage."
        )
    if quarantine.kind != Kind.QUARANTINE or quarantine.warehouse_id != location.warehouse_id:
        raise stock.InvalidDestination(f"{quarantine} is not a quarantine of {location.warehouse}.")
    if not reason.strip():
        raise WarehouseError("Say why the goods are isolated.")
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
        raise WarehouseError("Say why the goods are removed.")
    devices = _devices_at(product, location, serials, quantity)
    return [
        device_transition(
            device=d, action="write_off", actor=actor, reason=reason, now=now
        ).last_event.movement
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


# --------------------------------------------------------------------------- transitions


@transaction.atomic
def device_transition(
    *,
    device: Device,
    action: str,
    actor,
    party: Party | None = None,
    location: Location | None = None,
    status: DeviceStatus | None = None,
    reason: str = "",
    reference: str = "",
    now: dt.datetime | None = None,
) -> Device:
    """Take a device through one transition of the table, or refuse and change nothing.

    `location`: where a move, a rental return or a credit-note return puts it.
    `party`: who buys, rents, receives a dispatch or a transferred device.
    Raises IllegalTransition naming the device, its state and the action.
    """
    transition = TRANSITIONS[action]
    now = now or timezone.now()
    device = _device_lock(device, also=location)

    if device.state not in transition.sources:
        raise IllegalTransition(
            device=device, state_label=device.get_state_display(), action_label=transition.label
        )
    if device.reserved_by and action in ("block", "write_off", "move", "transfer"):
        raise IllegalTransition(
            device=device,
            state_label=f"reserved by {device.reserved_by}",
            action_label=transition.label,
        )
    before = _snapshot(device)
    last = None
    if transition.target == PREVIOUS:
        last = (
            device.events.filter(to_state=device.state, kind=DeviceEvent.Kind.TRANSITION)
            .order_by("-id")
            .first()
        )
        target_state = last.from_state if last and last.from_state else State.USED
    elif transition.target == SAME:
        target_state = device.state
    else:
        target_state = transition.target

    if (
        device.state == State.DISPATCHED
        and action in ("sell", "rent")
        and party is not None
        and device.holder_id not in (None, party.pk)
    ):
        raise InvalidOwner(f"{device} was dispatched to {device.holder}, not to {party}.")
    destination = _destination(device, action, location, last)
    if transition.owner_after == "party" or action in ("dispatch", "rent"):
        if party is None:
            raise InvalidOwner(f"Choose the party who {_party_role(action)} {device}.")
        if action == "transfer":
            _transfer_check(device, party)
        if action == "register_own" and party.kind != Party.Kind.CONTACT:
            raise InvalidOwner(f"Only a contact registers an own device; {party} is a merchant.")

    if device.state == State.BLOCKED and device.location_kind == Kind.STORAGE:
        # Leaving "blocked in storage" first, so the move's availability check counts it.
        stock.stock_blocked_change(
            product=device.product, warehouse_id=device.location.warehouse_id, delta=Decimal(-1)
        )
    movement = None
    if destination is not None and destination.pk != device.location_id:
        source = device.location
        if action == "found":
            # Back from the losses of the warehouse it turns up in, at the average cost.
            source = stock.virtual_location(
                warehouse=destination.warehouse_id, kind=Kind.ADJUSTMENT
            )
        movement = stock.movements_book(
            specs=[
                stock.MovementSpec(
                    product=device.product,
                    source=source,
                    destination=destination,
                    quantity=Decimal(1),
                    action=_ledger_action(action, device.location, destination),
                    serial=device.serial,
                    reason=reason,
                    reference=reference,
                )
            ],
            actor=actor,
            now=now,
        )[0]
        device.location = destination
        device.location_kind = destination.kind

    if transition.owner_after == "party":
        device.owner = party
    elif transition.owner_after in ("business", "none"):
        device.owner = None
    device.holder = party if target_state in (State.DISPATCHED, State.RENTED) else None
    if target_state == State.BLOCKED and device.location_kind == Kind.STORAGE:
        stock.stock_blocked_change(
            product=device.product, warehouse_id=device.location.warehouse_id, delta=Decimal(1)
        )
    if target_state != device.state:
        device.status = None
    device.state = target_state
    if status is not None:
        _status_check(status, target_state)
        device.status = status
    if target_state not in (State.NEW, State.USED, State.DISPATCHED):
        device.reserved_by = ""
    device.updated_at = now
    device.save()
    device.last_event = _event(
        device,
        before,
        action=action,
        kind=DeviceEvent.Kind.LOCATION if action == "move" else _kind_of(before, device),
        movement=movement,
        actor=actor,
        reason=reason,
        reference=reference,
        now=now,
    )
    return device


def _destination(device: Device, action: str, location: Location | None, last) -> Location | None:
    """Where the transition puts the device; None: it stays where it is."""
    if action in _VIRTUAL_TARGET:
        if action != "write_off" and device.location_kind not in (Kind.STORAGE, Kind.DISPATCHED):
            # Incoming and quarantined goods are not for sale or rent.
            raise InvalidDeviceLocation(
                f"{device} is in {device.location}: only devices in storage "
                "are dispatched, sold or rented."
            )
        return stock.virtual_location(
            warehouse=device.location.warehouse_id, kind=_VIRTUAL_TARGET[action]
        )
    if action == "move":
        if location is None or location.kind not in (Kind.STORAGE, Kind.QUARANTINE):
            # Incoming locations receive deliveries only.
            raise InvalidDeviceLocation("Choose a storage or quarantine location.")
        if location.pk == device.location_id:
            raise InvalidDeviceLocation(f"{device} is already in {location}.")
        return location
    if action in ("return_rental", "return", "found"):
        if location is None or location.kind not in (Kind.STORAGE, Kind.QUARANTINE):
            raise InvalidDeviceLocation("Choose the storage or quarantine it comes back to.")
        return location
    if action == "undispatch":
        back = last.from_location if last is not None else None
        if back is None or not back.is_real:
            raise InvalidDeviceLocation(f"{device}: the place it was dispatched from is unknown.")
        return back
    return None


def _ledger_action(action: str, source: Location, destination: Location) -> str:
    if action == "move":
        if source.kind == Kind.STORAGE and destination.kind == Kind.QUARANTINE:
            return Action.ISOLATE
        return Action.MOVE
    return _LEDGER_ACTION[action]


def _party_role(action: str) -> str:
    return {
        "sell": "buys",
        "rent": "rents",
        "dispatch": "receives",
        "transfer": "becomes the owner of",
        "register_own": "owns",
    }.get(action, "takes")


def _transfer_check(device: Device, party: Party) -> None:
    if device.owner_id == party.pk:
        raise InvalidOwner(f"{party} owns {device} already.")
    if party.kind != Party.Kind.CONTACT:
        raise InvalidOwner(
            "Ownership passes from a merchant to a contact or between contacts; "
            f"{party} is a merchant / service provider."
        )


@transaction.atomic
def device_register_own(
    *,
    actor,
    product: Product,
    serial: str,
    party: Party,
    electronic_id: str = "",
    reason: str = "",
    now: dt.datetime | None = None,
) -> Device:
    """A contact registers a device the business never owned; the last registrant owns it."""
    now = now or timezone.now()
    serial, electronic_id = identity_clean(serial), identity_clean(electronic_id)
    if not product.traceable:
        raise InvalidSerials(f"{product.sku} is not traceable: it has no devices.")
    if not serial:
        raise InvalidSerials("Give the device's serial number.")
    if party.kind != Party.Kind.CONTACT:
        raise InvalidOwner(f"Only a contact registers an own device; {party} is a merchant.")
    device = (
        Device.objects.select_for_update()
        .filter(product=product, serial__identity=serial)
        .select_related("product")
        .first()
    )
    if device is None:
        _electronic_id_check_free(electronic_id)
        device = Device(
            product=product,
            serial=serial,
            state=State.OWN,
            owner=party,
            electronic_id=electronic_id,
            created_at=now,
            updated_at=now,
        )
        try:
            with transaction.atomic():
                device.save()
        except IntegrityError as exc:
            # Registered by someone else meanwhile: the unique keys are the backstop.
            raise DuplicateSerial(
                f"{product.sku} #{serial} or electronic id {electronic_id or '—'} was"
                " registered by someone else meanwhile."
            ) from exc
        DeviceEvent.objects.create(
            device=device,
            kind=DeviceEvent.Kind.TRANSITION,
            action="register_own",
            to_state=State.OWN,
            to_owner=party,
            reason=reason,
            actor=stock.actor_recorded(actor),
            created_at=now,
        )
        return device
    if device.state != State.OWN:
        raise IllegalTransition(
            device=device,
            state_label=device.get_state_display(),
            action_label="register as an own device",
        )
    if device.owner_id == party.pk:
        raise InvalidOwner(f"{party} has registered {device} already.")
    before = _snapshot(device)
    device.owner = party
    device.updated_at = now
    device.save()
    _event(
        device,
        before,
        action="register_own",
        kind=DeviceEvent.Kind.OWNER,
        actor=actor,
        reason=reason,
        now=now,
    )
    return device


# --------------------------------------------------------------------------- edits


@transaction.atomic
def device_status_set(
    *, device: Device, status: DeviceStatus | None, actor, reason: str = "", now=None
) -> Device:
    """Give a device a business-defined status of its current state (or none)."""
    device = _device_lock(device)
    if status is not None:
        _status_check(status, device.state)
    if device.status_id == (status.pk if status else None):
        return device
    before = _snapshot(device)
    device.status = status
    device.updated_at = now or timezone.now()
    device.save(update_fields=["status", "updated_at"])
    _event(
        device,
        before,
        action="status",
        kind=DeviceEvent.Kind.STATUS,
        actor=actor,
        reason=reason,
        now=device.updated_at,
    )
    return device


def _status_check(status: DeviceStatus, state: str) -> None:
    if status.state != state:
        raise InvalidStatus(
            f"“{status.name}” is a status of {status.get_state_display()} devices, "
            f"not of {State(state).label} ones."
        )
    if not status.active:
        raise InvalidStatus(f"The status “{status.name}” is no longer in use.")


# A coordinate left out of an edit, unlike None, which clears it.
UNCHANGED = object()


@transaction.atomic
def device_details_set(
    *,
    device: Device,
    actor,
    electronic_id: str | None = None,
    spot: str | None = None,
    latitude=UNCHANGED,
    longitude=UNCHANGED,
    characteristics: dict | None = None,
    reason: str = "",
    now=None,
) -> Device:
    """Edit what describes a device: electronic id, spot, coordinates, characteristics.

    What is not given stays as it is (None clears the coordinates).
    Characteristics are validated against the product's definitions; an
    error names each bad one and nothing is saved.
    """
    device = _device_lock(device)
    before = _snapshot(device)
    changes = {}
    if characteristics is not None:
        cleaned = characteristics_validate(product=device.product, values=characteristics)
        if cleaned != device.characteristics:
            changes["characteristics"] = [device.characteristics, cleaned]
            device.characteristics = cleaned
    for name, value in (
        ("electronic_id", electronic_id),
        ("spot", spot),
        ("latitude", latitude),
        ("longitude", longitude),
    ):
        if value is UNCHANGED or (value is None and name in ("electronic_id", "spot")):
            continue
        if name == "electronic_id":
            value = identity_clean(value)
            if identity_key(value) != identity_key(device.electronic_id):
                _electronic_id_check_free(value, device=device)
        elif isinstance(value, str):
            value = value.strip()
        if value != getattr(device, name):
            changes[name] = [_plain(getattr(device, name)), _plain(value)]
            setattr(device, name, value)
    if not changes:
        return device
    device.updated_at = now or timezone.now()
    try:
        with transaction.atomic():
            device.save()
    except IntegrityError as exc:
        # Taken by another device meanwhile: the unique key is the backstop.
        raise DuplicateElectronicId(
            f"Electronic id {device.electronic_id} was given to another device meanwhile."
        ) from exc
    _event(
        device,
        before,
        action="details",
        kind=DeviceEvent.Kind.CHARACTERISTICS,
        actor=actor,
        reason=reason,
        now=device.updated_at,
        changes=changes,
    )
    return device


def characteristics_validate(
    *, product: Product, values: dict, definitions: dict[str, Characteristic] | None = None
) -> dict:
    """Values typed for a product's characteristics, checked and converted to JSON values.

    `definitions` ({name: Characteristic} of the product) saves the query when
    many devices are checked at once (the devices import).
    """
    errors: dict[str, str] = {}
    cleaned: dict = {}
    if definitions is None:
        definitions = {c.name: c for c in Characteristic.objects.filter(product=product)}
    for name in values:
        if name not in definitions:
            errors[name] = f"{product.sku} has no characteristic “{name}”."
    for name, definition in definitions.items():
        raw = values.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if definition.required:
                errors[name] = "required."
            continue
        try:
            cleaned[name] = _characteristic_value(definition, raw)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise InvalidCharacteristics(errors)
    return cleaned


def _characteristic_value(definition: Characteristic, raw):
    kind = Characteristic.Type
    text = raw.strip() if isinstance(raw, str) else raw
    if definition.type == kind.NUMBER:
        # Bounded, no exponent: `int()` of 1e1000000 alone took half a minute of CPU.
        number = number_parse(str(text))
        return str(number.normalize()) if number != number.to_integral() else str(int(number))
    if definition.type == kind.BOOLEAN:
        if isinstance(text, bool):
            return text
        if str(text).lower() in ("yes", "true", "1", "on"):
            return True
        if str(text).lower() in ("no", "false", "0", "off"):
            return False
        raise ValueError(f"“{raw}” is not yes or no.")
    if definition.type == kind.DATE:
        try:
            return dt.date.fromisoformat(str(text)).isoformat()
        except ValueError:
            raise ValueError(f"“{raw}” is not a date (YYYY-MM-DD).") from None
    if definition.type == kind.CHOICE:
        if text not in definition.options:
            raise ValueError(f"“{raw}” is not one of {', '.join(definition.options)}.")
        return text
    return str(text)[:500]


# --------------------------------------------------------------------------- parts


@transaction.atomic
def device_assemble(
    *,
    device: Device,
    part: Product,
    quantity: Decimal,
    source: Location,
    actor,
    reason: str = "",
    now=None,
) -> InstalledPart:
    """Install a counted part from storage into a device (the part leaves stock)."""
    if part.traceable:
        raise WarehouseError(f"{part.sku} is traceable: a device is not installed as a part.")
    if source.kind != Kind.STORAGE:
        raise InvalidDeviceLocation(f"Parts are taken from storage, not from {source}.")
    device = _device_lock(device)
    if device.state not in (State.NEW, State.USED, State.BLOCKED):
        raise IllegalTransition(
            device=device, state_label=device.get_state_display(), action_label="install parts in"
        )
    now = now or timezone.now()
    installed = stock.virtual_location(warehouse=source.warehouse_id, kind=Kind.INSTALLED)
    movement = stock.movements_book(
        specs=[
            stock.MovementSpec(
                product=part,
                source=source,
                destination=installed,
                quantity=quantity,
                action=Action.ASSEMBLE,
                reason=reason,
                reference=f"device:{device.pk}",
            )
        ],
        actor=actor,
        now=now,
    )[0]
    row, _ = InstalledPart.objects.select_for_update().get_or_create(device=device, product=part)
    row.quantity += quantity
    row.save(update_fields=["quantity"])
    DeviceEvent.objects.create(
        device=device,
        kind=DeviceEvent.Kind.ASSEMBLY,
        action="assemble",
        changes={"part": part.sku, "quantity": str(quantity)},
        movement=movement,
        reason=reason,
        actor=stock.actor_recorded(actor),
        created_at=now,
    )
    return row


@transaction.atomic
def device_disassemble(
    *,
    device: Device,
    part: Product,
    quantity: Decimal,
    destination: Location,
    actor,
    reason: str = "",
    now=None,
) -> InstalledPart:
    """Take a part out of a device back into storage or quarantine."""
    if destination.kind not in (Kind.STORAGE, Kind.QUARANTINE):
        raise InvalidDeviceLocation("A removed part goes to storage or quarantine.")
    device = _device_lock(device)
    if device.state not in (State.NEW, State.USED, State.BLOCKED):
        # A sold, rented or own device's parts are not ours to take back into stock.
        raise IllegalTransition(
            device=device, state_label=device.get_state_display(), action_label="take parts out of"
        )
    row = InstalledPart.objects.select_for_update().filter(device=device, product=part).first()
    if row is None or row.quantity < quantity:
        have = row.quantity if row else 0
        raise stock.InsufficientStock(
            product=part, location=f"{device}", available=have, requested=quantity
        )
    now = now or timezone.now()
    movement = stock.movements_book(
        specs=[
            stock.MovementSpec(
                product=part,
                source=installed,
                destination=destination,
                quantity=taken,
                action=Action.DISASSEMBLE,
                reason=reason,
                reference=f"device:{device.pk}",
            )
            for installed, taken in _installed_places(device, part, quantity)
        ],
        actor=actor,
        now=now,
    )[0]
    row.quantity -= quantity
    row.save(update_fields=["quantity"])
    DeviceEvent.objects.create(
        device=device,
        kind=DeviceEvent.Kind.ASSEMBLY,
        action="disassemble",
        changes={"part": part.sku, "quantity": str(quantity)},
        movement=movement,
        reason=reason,
        actor=stock.actor_recorded(actor),
        created_at=now,
    )
    return row


def _installed_places(device: Device, part: Product, quantity: Decimal):
    """(installed location, quantity) pairs holding `quantity` of the device's part, by the ledger.

    A part stays in the installed location of the warehouse it was taken from,
    wherever the device goes afterwards; the latest installation comes out first.
    """
    held: dict[int, Decimal] = {}
    for m in Movement.objects.filter(product=part, reference=f"device:{device.pk}").order_by("id"):
        if m.action == Action.ASSEMBLE:
            held[m.destination_id] = held.pop(m.destination_id, Decimal(0)) + m.quantity
        else:
            held[m.source_id] = held.get(m.source_id, Decimal(0)) - m.quantity
    taken = []
    for location_id in reversed(held):
        take = min(held[location_id], quantity)
        if take > 0:
            taken.append((location_id, take))
            quantity -= take
    locations = Location.objects.in_bulk([location_id for location_id, _ in taken])
    return [(locations[location_id], take) for location_id, take in taken]


# --------------------------------------------------------------------------- helpers


def _device_lock(device: Device, *, also: Location | None = None) -> Device:
    """Lock the balance rows of the device's product, then the device; fresh copy back."""
    warehouses = {device.location.warehouse_id if device.location_id else None}
    if also is not None:
        warehouses.add(also.warehouse_id)
    stock.stock_lock(product=device.product, warehouse_ids=warehouses)
    locked = (
        Device.objects.select_for_update(of=("self",))
        .select_related("product", "location__warehouse", "owner", "status")
        .get(pk=device.pk)
    )
    if locked.location_id != device.location_id and locked.location_id is not None:
        # It moved to another warehouse meanwhile: lock that one too (same order: product first).
        stock.stock_lock(product=locked.product, warehouse_ids={locked.location.warehouse_id})
    return locked


def _snapshot(device: Device) -> dict:
    return {
        "state": device.state,
        "location_id": device.location_id,
        "owner_id": device.owner_id,
        "status": device.status.name if device.status_id else "",
    }


def _kind_of(before: dict, device: Device) -> str:
    if before["state"] != device.state:
        return DeviceEvent.Kind.TRANSITION
    if before["owner_id"] != device.owner_id:
        return DeviceEvent.Kind.OWNER
    if before["location_id"] != device.location_id:
        return DeviceEvent.Kind.LOCATION
    return DeviceEvent.Kind.STATUS


def _event(
    device,
    before,
    *,
    action,
    kind,
    actor,
    reason="",
    reference="",
    now,
    movement=None,
    changes=None,
):
    changes = dict(changes or {})
    status_now = device.status.name if device.status_id else ""
    if before["status"] != status_now:
        changes["status"] = [before["status"], status_now]
    return DeviceEvent.objects.create(
        device=device,
        kind=kind,
        action=action,
        from_state=before["state"],
        to_state=device.state,
        from_location_id=before["location_id"],
        to_location_id=device.location_id,
        from_owner_id=before["owner_id"],
        to_owner_id=device.owner_id,
        changes=changes,
        movement=movement,
        reason=reason,
        reference=reference,
        actor=stock.actor_recorded(actor),
        created_at=now,
    )


def _clean(serials: Sequence[str]) -> list[str]:
    return [s for s in (identity_clean(s) for s in serials) if s]


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value


# --------------------------------------------------------------------------- reservations


@transaction.atomic
def device_reserve(
    *, device: Device, document: str, warehouse_id: int, actor=None, now=None
) -> Device:
    """Hold a named device for a document: New or Used, in storage of that warehouse.

    The document reserves the unit in the warehouse balance itself; this
    marks which device it is, so nobody else can take, block or move it.
    """
    device = _device_lock(device)
    if device.state not in (State.NEW, State.USED):
        raise IllegalTransition(
            device=device, state_label=device.get_state_display(), action_label="reserve"
        )
    if device.reserved_by and device.reserved_by != document:
        raise IllegalTransition(
            device=device, state_label=f"reserved by {device.reserved_by}", action_label="reserve"
        )
    if device.location_kind != Kind.STORAGE or device.location.warehouse_id != warehouse_id:
        raise InvalidDeviceLocation(f"{device} is not in storage of the document's warehouse.")
    if device.reserved_by == document:
        return device
    now = now or timezone.now()
    device.reserved_by = document
    device.updated_at = now
    device.save(update_fields=["reserved_by", "updated_at"])
    DeviceEvent.objects.create(
        device=device,
        kind=DeviceEvent.Kind.RESERVATION,
        action="reserve",
        from_state=device.state,
        to_state=device.state,
        reference=document,
        actor=stock.actor_recorded(actor),
        created_at=now,
    )
    return device


@transaction.atomic
def devices_release(*, document: str, actor=None, now=None) -> int:
    """Free every device a document held (cancelled, or its lines went out)."""
    now = now or timezone.now()
    held = list(Device.objects.filter(reserved_by=document).order_by("id"))
    for device in held:
        device = _device_lock(device)
        device.reserved_by = ""
        device.updated_at = now
        device.save(update_fields=["reserved_by", "updated_at"])
        DeviceEvent.objects.create(
            device=device,
            kind=DeviceEvent.Kind.RESERVATION,
            action="release",
            from_state=device.state,
            to_state=device.state,
            reference=document,
            actor=stock.actor_recorded(actor),
            created_at=now,
        )
    return len(held)


def devices_available(*, product: Product, warehouse_id: int, count: int) -> list[Device]:
    """Devices to fill an any-device line: New before Used, unreserved, in storage; locked."""
    return list(
        Device.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            product=product,
            state__in=[State.NEW, State.USED],
            reserved_by="",
            location_kind=Kind.STORAGE,
            location__warehouse_id=warehouse_id,
        )
        .select_related("product", "location__warehouse")
        .order_by("state", "serial")[:count]
    )
