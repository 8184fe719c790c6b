"""Every write to devices: state, place, owner, status, characteristics, parts.

`device_transition` is the one place that changes a device's state: it checks
the transition table (`devices.states.TRANSITIONS`), books the ledger movement
when the device changes place, and writes state, owner, place and a history
event in the same transaction. Locks follow the warehouse's global order:
product × warehouse balance rows first (`warehouse.services.stock_lock`),
then the device rows sorted by id. What the warehouse's stock pages book
(stock-in, moves, write-offs of devices) is `devices.stock_booking`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from warehouse import services as stock
from warehouse.exceptions import InvalidSerials
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
    InvalidPart,
    InvalidPartDestination,
    InvalidPartSource,
    InvalidStatus,
)
from .history import history_write
from .models import Characteristic, Device, DeviceEvent, DeviceStatus, InstalledPart, State
from .states import GIVEN, ORIGIN, PREVIOUS, SAME, TRANSITIONS, Transition, TransitionRule

Kind = Location.Kind
Action = Movement.Action


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
) -> Transition:
    """Take a device through one transition of the table, or refuse and change nothing.

    What the transition does is its row's to say (`devices.states.TRANSITIONS`).
    `location`: where a move, a rental return or a credit-note return puts it.
    `party`: who buys, rents, receives a dispatch or a transferred device.
    Raises IllegalTransition naming the device, its state and the action.
    """
    rule = TRANSITIONS[action]
    now = now or timezone.now()
    device = _device_lock(device, also=location)

    if device.state not in rule.sources:
        raise IllegalTransition(
            device=device, state_label=device.get_state_display(), action_label=rule.label
        )
    if device.reserved_by and rule.refused_reserved:
        raise IllegalTransition(
            device=device, state_label=f"reserved by {device.reserved_by}", action_label=rule.label
        )
    before = _snapshot(device)
    last = None
    if rule.target == PREVIOUS:
        last = (
            device.events.filter(to_state=device.state, kind=DeviceEvent.Kind.TRANSITION)
            .order_by("-id")
            .first()
        )
        target_state = last.from_state if last and last.from_state else State.USED
    elif rule.target == SAME:
        target_state = device.state
    else:
        target_state = rule.target

    if (
        device.state == State.DISPATCHED
        and rule.party is not None
        and party is not None
        and device.holder_id not in (None, party.pk)
    ):
        raise InvalidOwner(f"{device} was dispatched to {device.holder}, not to {party}.")
    destination = _destination(device, rule, location, last)
    if rule.party is not None:
        _party_check(device, rule, party)

    if device.state == State.BLOCKED and device.location_kind == Kind.STORAGE:
        # Leaving "blocked in storage" first, so the move's availability check counts it.
        stock.stock_blocked_change(
            product=device.product, warehouse_id=device.location.warehouse_id, delta=Decimal(-1)
        )
    movement = None
    if destination is not None and destination.pk != device.location_id:
        source = device.location
        if rule.booked_from is not None:
            source = stock.virtual_location(
                warehouse=destination.warehouse_id, kind=rule.booked_from
            )
        ledger = rule.ledger
        if source.kind == Kind.STORAGE and destination.kind == Kind.QUARANTINE:
            ledger = rule.ledger_into_quarantine or ledger
        movement = stock.movements_book(
            specs=[
                stock.MovementSpec(
                    product=device.product,
                    source=source,
                    destination=destination,
                    quantity=Decimal(1),
                    action=ledger,
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

    if rule.owner_after == "party":
        device.owner = party
    elif rule.owner_after in ("business", "none"):
        device.owner = None
    device.holder = party if rule.party_holds else None
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
    event = _event(
        device,
        before,
        action=action,
        kind=_kind_of(before, device),
        movement=movement,
        actor=actor,
        reason=reason,
        reference=reference,
        now=now,
    )
    return Transition(device=device, event=event)


def _destination(device: Device, rule: TransitionRule, location, last) -> Location | None:
    """Where the rule puts the device; None: it stays where it is."""
    if rule.place is None:
        return None
    if rule.place == GIVEN:
        if location is None or location.kind not in (Kind.STORAGE, Kind.QUARANTINE):
            # Incoming locations receive deliveries only.
            raise InvalidDeviceLocation(rule.place_prompt)
        if location.pk == device.location_id:
            raise InvalidDeviceLocation(f"{device} is already in {location}.")
        return location
    if rule.place == ORIGIN:
        back = last.from_location if last is not None else None
        if back is None or not back.is_real:
            raise InvalidDeviceLocation(f"{device}: the place it was dispatched from is unknown.")
        return back
    if rule.from_storage and device.location_kind not in (Kind.STORAGE, Kind.DISPATCHED):
        # Incoming and quarantined goods are not for sale or rent.
        raise InvalidDeviceLocation(
            f"{device} is in {device.location}: only devices in storage "
            "are dispatched, sold or rented."
        )
    return stock.virtual_location(warehouse=device.location.warehouse_id, kind=rule.place)


def _party_check(device: Device, rule: TransitionRule, party: Party | None) -> None:
    """Refuse a missing party, or one the rule does not accept."""
    if party is None:
        raise InvalidOwner(f"Choose the party who {rule.party} {device}.")
    if rule.new_owner and device.owner_id == party.pk:
        raise InvalidOwner(f"{party} owns {device} already.")
    if rule.contact_only and party.kind != Party.Kind.CONTACT:
        raise InvalidOwner(rule.contact_only.format(party=party))


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
        raise InvalidOwner(TRANSITIONS["register_own"].contact_only.format(party=party))
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
        history_write(
            [
                DeviceEvent(
                    device=device,
                    kind=DeviceEvent.Kind.TRANSITION,
                    action="register_own",
                    to_state=State.OWN,
                    to_owner=party,
                    reason=reason,
                    actor=stock.actor_recorded(actor),
                    created_at=now,
                )
            ]
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
        raise InvalidPart(f"{part.sku} is traceable: a device is not installed as a part.")
    if source.kind != Kind.STORAGE:
        raise InvalidPartSource(f"Parts are taken from storage, not from {source}.")
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
    history_write(
        [
            DeviceEvent(
                device=device,
                kind=DeviceEvent.Kind.ASSEMBLY,
                action="assemble",
                changes={"part": part.sku, "quantity": str(quantity)},
                movement=movement,
                reason=reason,
                actor=stock.actor_recorded(actor),
                created_at=now,
            )
        ]
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
        raise InvalidPartDestination("A removed part goes to storage or quarantine.")
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
    history_write(
        [
            DeviceEvent(
                device=device,
                kind=DeviceEvent.Kind.ASSEMBLY,
                action="disassemble",
                changes={"part": part.sku, "quantity": str(quantity)},
                movement=movement,
                reason=reason,
                actor=stock.actor_recorded(actor),
                created_at=now,
            )
        ]
    )
    return row


def _installed_places(device: Device, part: Product, quantity: Decimal):
    """(installed location, quantity) pairs holding `quantity` of the device's part, by the ledger.

    A part stays in the installed location of the warehouse it was taken from,
    wherever the device goes afterwards; the latest installation comes out first.
    """
    held: dict[int, Decimal] = {}
    for m in Movement.objects.filter(product=part, reference=f"device:{device.pk}").order_by("id"):
        match m.action:
            case Action.ASSEMBLE:
                held[m.destination_id] = held.pop(m.destination_id, Decimal(0)) + m.quantity
            case _:  # a disassembly
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
    return history_write(
        [
            DeviceEvent(
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
        ]
    )[0]


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
    history_write(
        [
            DeviceEvent(
                device=device,
                kind=DeviceEvent.Kind.RESERVATION,
                action="reserve",
                from_state=device.state,
                to_state=device.state,
                reference=document,
                actor=stock.actor_recorded(actor),
                created_at=now,
            )
        ]
    )
    return device


@transaction.atomic
def devices_release(*, document: str, actor=None, now=None) -> int:
    """Free every device a document held (cancelled, or its lines went out)."""
    now = now or timezone.now()
    held = list(Device.objects.filter(reserved_by=document).order_by("id"))
    lines = []
    for device in held:
        device = _device_lock(device)
        device.reserved_by = ""
        device.updated_at = now
        device.save(update_fields=["reserved_by", "updated_at"])
        lines.append(
            DeviceEvent(
                device=device,
                kind=DeviceEvent.Kind.RESERVATION,
                action="release",
                from_state=device.state,
                to_state=device.state,
                reference=document,
                actor=stock.actor_recorded(actor),
                created_at=now,
            )
        )
    history_write(lines)
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
