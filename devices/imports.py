"""The devices import: serial-numbered units with their state, place, owner and characteristics.

Registered with the warehouse's import framework from `DevicesConfig.ready`.
A new device that the business owns (New, Used, Blocked, Dispatched,
Rented) is booked in from the warehouse's supplier location by a ledger
movement, so positions, balances and FIFO layers count it; a Sold one is
booked from the supplier straight into the sold location (the ledger says
where it went, no stock is owned); an Own device never enters the warehouse.
An existing serial is left where it is: the import only fills in its
electronic id, status and characteristics, and refuses a different state,
place or owner (those change through the device's transitions).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from warehouse import services as stock
from warehouse.identity import identity_clean, identity_key
from warehouse.imports import (
    Column,
    Plan,
    Record,
    RowImporter,
    choice_value,
    decimal_value,
    identity_value,
    text_value,
)
from warehouse.models import Location, Movement, Party, Product, Warehouse

from . import services
from .exceptions import InvalidCharacteristics
from .history import history_write
from .models import Characteristic, Device, DeviceEvent, DeviceStatus, State

Kind = Location.Kind
IMPORTED_STATES = (
    State.NEW,
    State.USED,
    State.BLOCKED,
    State.DISPATCHED,
    State.RENTED,
    State.SOLD,
    State.OWN,
)
# A written-off device is read (the devices export lists it) but never created by an import.
READ_STATES = (*IMPORTED_STATES, State.WRITTEN_OFF)
IN_HOUSE = (State.NEW, State.USED, State.BLOCKED)
HELD = (State.DISPATCHED, State.RENTED)
# The virtual location a device in each state is booked into.
VIRTUAL_PLACE = {
    State.DISPATCHED: Kind.DISPATCHED,
    State.RENTED: Kind.RENTED,
    State.SOLD: Kind.SOLD,
    State.WRITTEN_OFF: Kind.ADJUSTMENT,
}
REASON = "Device import"
_A_DEVICE = {
    State.NEW: "a new device",
    State.USED: "a used device",
    State.BLOCKED: "a blocked device",
    State.DISPATCHED: "a dispatched device",
    State.RENTED: "a rented device",
    State.SOLD: "a sold device",
    State.OWN: "an own device",
    State.WRITTEN_OFF: "a written-off device",
}


@dataclass
class NewDevice:
    record: Record
    product: Product
    state: str
    location: Location | None
    owner: Party | None
    holder: Party | None
    status: DeviceStatus | None
    characteristics: dict
    unit_cost: Decimal | None


@dataclass
class DeviceUpdate:
    device: Device
    electronic_id: str | None = None
    characteristics: dict | None = None
    status: DeviceStatus | None = None
    changes: set = field(default_factory=set)


class DeviceImporter(RowImporter):
    label = "Devices (serials with product, state, owner, place, characteristics)"
    permissions = ("warehouse.book_stock", "devices.change_device")
    extra_prefix = "char:"
    columns = (
        Column("serial", required=True, aliases=("serial_number",)),
        Column("sku", required=True),
        Column("state", required=True),
        Column("owner"),
        Column("holder"),
        Column("warehouse", aliases=("warehouse_code",)),
        Column("location", aliases=("location_code",)),
        Column("electronic_id"),
        Column("status"),
        Column("unit_cost"),
    )
    export_only = ("spot", "reserved_by", "updated_at")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.batch = uuid.uuid4()

    # ------------------------------------------------------------------ one row

    def row_clean(self, row, cells, problems):
        before = len(problems)
        c = self.cell
        states = [(s.value, s.label) for s in READ_STATES]
        values = {
            "serial": c(cells, "serial", problems, row, _identity(128), required=True),
            "sku": c(cells, "sku", problems, row, _identity(64), required=True),
            "state": c(
                cells, "state", problems, row, lambda v: choice_value(v, states), required=True
            ),
            "owner": c(cells, "owner", problems, row, _text(200)),
            "holder": c(cells, "holder", problems, row, _text(200)),
            "warehouse": c(cells, "warehouse", problems, row, _text(16)),
            "location": c(cells, "location", problems, row, _text(32)),
            "electronic_id": c(cells, "electronic_id", problems, row, _identity(64)),
            "status": c(cells, "status", problems, row, _text(80)),
            "unit_cost": c(cells, "unit_cost", problems, row, _cost),
        }
        state = values["state"]
        if state is not None:
            self._place_check(row, state, values, problems)
        if len(problems) > before:
            return None
        extra = {
            name[len(self.extra_prefix) :]: value.strip()
            for name, value in cells.items()
            if name.startswith(self.extra_prefix) and value.strip()
        }
        return Record(row, values, extra)

    @staticmethod
    def _place_check(row, state, values, problems):
        """Where a device of each state is, and who owns or holds it."""
        label = _A_DEVICE[state]
        needed, empty = [], []
        if state in IN_HOUSE:
            needed, empty = ["warehouse", "location"], ["owner", "holder"]
        elif state in HELD:
            needed, empty = ["warehouse", "holder"], ["owner", "location"]
        elif state == State.SOLD:
            needed, empty = ["owner", "warehouse"], ["holder", "location"]
        elif state == State.WRITTEN_OFF:
            needed, empty = ["warehouse"], ["owner", "holder", "location"]
        elif state == State.OWN:
            needed, empty = ["owner"], ["holder", "warehouse", "location", "unit_cost"]
        why = {
            "warehouse": f"{label} is booked in a warehouse.",
            "location": f"{label} is on a shelf: give its location.",
            "holder": f"{label} is held by a party: give its name.",
            "owner": f"{label} belongs to a party: give its name.",
        }
        for name in needed:
            if values[name] is None:
                problems.add(row, name, f"required: {why[name]}")
        leave = {
            "owner": "the business owns it",
            "holder": "only dispatched and rented devices have a holder",
            "location": "it is not on a shelf of ours",
            "warehouse": "an own device never enters the warehouse",
            "unit_cost": "an own device never enters the warehouse",
        }
        for name in empty:
            if values[name] is not None:
                problems.add(row, name, f"leave it empty for {label}: {leave[name]}.")

    def row_keys(self, row, cells):
        # Compared by key (warehouse.identity): `ab-1` and `AB-1 ` are one serial.
        sku, serial = identity_clean(cells["sku"]), identity_clean(cells["serial"])
        if sku and serial:
            key = f"{identity_key(sku)}\x1f{identity_key(serial)}"
            yield (row, "serial", key, f"{sku} #{serial}")
        electronic_id = identity_clean(cells.get("electronic_id", ""))
        if electronic_id:
            yield (row, "electronic_id", identity_key(electronic_id), electronic_id)

    # ------------------------------------------------------------------ a batch

    def batch_plan(self, records, problems):
        refs = _References(records)
        plan = Plan(extra={"virtual": refs.virtual})
        for record in records:
            v = record.values
            product = refs.products.get(identity_key(v["sku"]))
            if product is None:
                problems.add(record.row, "sku", f"no product with SKU “{v['sku']}”.")
                continue
            if not product.traceable:
                problems.add(
                    record.row,
                    "sku",
                    f"{product.sku} is not traceable: it has no devices (use the opening stock"
                    " import).",
                )
                continue
            state = v["state"]
            if not product.active and state != State.OWN:
                problems.add(
                    record.row, "sku", f"{product.sku} is inactive: it cannot be booked in."
                )
            location = self._place(record, state, refs, problems)
            owner = refs.party(record, "owner", problems)
            holder = refs.party(record, "holder", problems)
            if state == State.OWN and owner is not None and owner.kind != Party.Kind.CONTACT:
                problems.add(
                    record.row,
                    "owner",
                    f"Only a contact registers an own device; {owner} is a merchant.",
                )
            status = None
            if v["status"] is not None:
                status = refs.statuses.get((state, v["status"]))
                if status is None:
                    problems.add(
                        record.row,
                        "status",
                        f"no status “{v['status']}” for {State(state).label} devices.",
                    )
            # Checked when the row gives any (stock-in creates devices without them too).
            characteristics = (
                self._characteristics(record, product, refs, problems) if record.extra else {}
            )
            serial_key = identity_key(v["serial"])
            existing = refs.devices.get((product.pk, serial_key))
            eid = v["electronic_id"]
            taken = refs.electronic_ids.get(identity_key(eid)) if eid else None
            if taken is not None and taken[:2] != (product.pk, serial_key):
                problems.add(
                    record.row,
                    "electronic_id",
                    f"{eid} is the electronic id of another device: {taken[2]}.",
                )
            if existing is None and state == State.WRITTEN_OFF:
                problems.add(
                    record.row,
                    "state",
                    f"no device {product.sku} #{v['serial']} to leave written off: an import "
                    "creates new, used, blocked, dispatched, rented, sold or own devices.",
                )
                continue
            if existing is None:
                plan.create.append(
                    NewDevice(
                        record=record,
                        product=product,
                        state=state,
                        location=location,
                        owner=owner,
                        holder=holder,
                        status=status,
                        characteristics=characteristics or {},
                        unit_cost=v["unit_cost"],
                    )
                )
                continue
            update = self._compare(record, existing, location, owner, holder, problems)
            if update is None:
                continue
            if eid and identity_key(eid) != identity_key(existing.electronic_id):
                update.electronic_id = eid
                update.changes.add("electronic_id")
            if record.extra and characteristics != existing.characteristics:
                update.characteristics = characteristics
                update.changes.add("characteristics")
            if status is not None and status.pk != existing.status_id:
                update.status = status
                update.changes.add("status")
            if update.changes:
                plan.update.append(update)
            else:
                plan.unchanged += 1
        return plan

    def _place(self, record, state, refs, problems) -> Location | None:
        v = record.values
        if state == State.OWN:
            return None
        warehouse = refs.warehouses.get(v["warehouse"])
        if warehouse is None:
            problems.add(record.row, "warehouse", f"no warehouse with code “{v['warehouse']}”.")
            return None
        if state in VIRTUAL_PLACE:
            return refs.virtual[warehouse.pk][VIRTUAL_PLACE[state]]
        location = refs.locations.get((warehouse.pk, v["location"]))
        if location is None:
            problems.add(
                record.row,
                "location",
                f"no location “{v['location']}” in warehouse {warehouse.code}.",
            )
        elif location.kind == Kind.INCOMING:
            problems.add(
                record.row,
                "location",
                f"{location} is an incoming location: import devices into storage or quarantine.",
            )
        elif not location.is_real:
            problems.add(record.row, "location", f"{location} is a virtual location.")
        else:
            return location
        return None

    def _characteristics(self, record, product, refs, problems) -> dict | None:
        try:
            return services.characteristics_validate(
                product=product,
                values=record.extra,
                definitions=refs.characteristics.get(product.pk, {}),
            )
        except InvalidCharacteristics as exc:
            for name, message in exc.errors.items():
                problems.add(record.row, f"{self.extra_prefix}{name}", message)
            return None

    @staticmethod
    def _compare(record, device, location, owner, holder, problems) -> DeviceUpdate | None:
        """An existing serial: the same state, place and owner, or a problem."""
        state = record.values["state"]
        same = (
            device.state == state
            and device.location_id == (location.pk if location else None)
            and device.owner_id == (owner.pk if owner else None)
            and device.holder_id == (holder.pk if holder else None)
        )
        if same:
            return DeviceUpdate(device=device)
        where = f" in {device.location}" if device.location_id else ""
        whose = f", owned by {device.owner}" if device.owner_id else ""
        held = f", held by {device.holder}" if device.holder_id else ""
        problems.add(
            record.row,
            "state",
            f"{device} exists already: {device.get_state_display()}{where}{whose}{held}. "
            "An import does not move existing devices: use the device's page.",
        )
        return None

    # ------------------------------------------------------------------ writing

    def plan_write(self, plan, records):
        now, reference = self.now, Path(self.file).name[:64]
        virtual = plan.extra["virtual"]
        booked = sorted(
            (d for d in plan.create if d.location is not None),
            # Units of one product, warehouse and cost in a row share one FIFO layer.
            key=lambda d: (
                d.product.pk,
                d.location.warehouse_id,
                d.unit_cost is not None,
                d.unit_cost or 0,
                d.record.row,
            ),
        )
        specs = [
            stock.MovementSpec(
                product=d.product,
                source=virtual[d.location.warehouse_id][Kind.SUPPLIER],
                destination=d.location,
                quantity=Decimal(1),
                action=Movement.Action.ADD,
                unit_cost=d.unit_cost,
                serial=d.record.values["serial"],
                reason=REASON,
                reference=reference,
            )
            for d in booked
        ]
        movements = stock.movements_book(specs=specs, actor=self.actor, now=now, batch=self.batch)
        moved = {(m.product_id, m.serial): m for m in movements}
        blocked = Counter(
            (d.product, d.location.warehouse_id)
            for d in booked
            if d.state == State.BLOCKED and d.location.kind == Kind.STORAGE
        )
        for (product, warehouse_id), count in sorted(blocked.items(), key=lambda i: i[0][0].pk):
            stock.stock_blocked_change(product=product, warehouse_id=warehouse_id, delta=count)
        devices = [
            Device(
                product=d.product,
                serial=d.record.values["serial"],
                electronic_id=d.record.values["electronic_id"] or "",
                state=d.state,
                status=d.status,
                owner=d.owner if d.state in (State.SOLD, State.OWN) else None,
                holder=d.holder if d.state in HELD else None,
                location=d.location,
                location_kind=d.location.kind if d.location else "",
                characteristics=d.characteristics,
                created_at=now,
                updated_at=now,
            )
            for d in plan.create
        ]
        Device.objects.bulk_create(devices)
        history_write(
            [
                DeviceEvent(
                    device=device,
                    kind=DeviceEvent.Kind.TRANSITION,
                    action="import",
                    to_state=device.state,
                    to_location=device.location,
                    to_owner=device.owner,
                    movement=moved.get((device.product_id, device.serial)),
                    reason=REASON,
                    reference=reference,
                    actor=self.actor,
                    created_at=now,
                )
                for device in devices
            ]
        )
        for update in plan.update:
            device = update.device
            if update.changes & {"electronic_id", "characteristics"}:
                device = services.device_details_set(
                    device=device,
                    actor=self.actor,
                    electronic_id=update.electronic_id,
                    characteristics=update.characteristics,
                    reason=REASON,
                    now=now,
                )
            if update.status is not None:
                services.device_status_set(
                    device=device, status=update.status, actor=self.actor, reason=REASON, now=now
                )


class _References:
    """What a batch of rows refers to, fetched in a few queries."""

    def __init__(self, records: list[Record]):
        values = [r.values for r in records]
        # SKUs, serials and electronic ids by key (warehouse.identity), through their indexes.
        self.products = {
            identity_key(p.sku): p
            for p in Product.objects.filter(sku__identity__in={v["sku"] for v in values})
        }
        self.warehouses = Warehouse.objects.in_bulk(
            {v["warehouse"] for v in values if v["warehouse"]}, field_name="code"
        )
        # Created if missing (old warehouses): inside the import's transaction.
        self.virtual = {
            w.pk: stock.virtual_locations_ensure(warehouse=w) for w in self.warehouses.values()
        }
        wanted = {v["location"] for v in values if v["location"]}
        self.locations = {
            (loc.warehouse_id, loc.code): loc
            for loc in Location.objects.filter(
                warehouse__in=list(self.warehouses.values()), code__in=wanted
            ).select_related("warehouse")
        }
        names = {v[k] for v in values for k in ("owner", "holder") if v[k]}
        self.parties: dict[str, list[Party]] = defaultdict(list)
        for party in Party.objects.filter(name__in=names):
            self.parties[party.name].append(party)
        self.statuses = {
            (s.state, s.name): s
            for s in DeviceStatus.objects.filter(
                name__in={v["status"] for v in values if v["status"]}, active=True
            )
        }
        self.characteristics: dict[int, dict[str, Characteristic]] = defaultdict(dict)
        for definition in Characteristic.objects.filter(product__in=list(self.products.values())):
            self.characteristics[definition.product_id][definition.name] = definition
        self.devices = {
            (d.product_id, identity_key(d.serial)): d
            for d in Device.objects.filter(
                product__in=list(self.products.values()),
                serial__identity__in={v["serial"] for v in values},
            ).select_related("product", "location__warehouse", "owner", "holder", "status")
        }
        eids = {v["electronic_id"] for v in values if v["electronic_id"]}
        self.electronic_ids = {
            identity_key(eid): (product_id, identity_key(serial), f"{sku} #{serial}")
            for eid, product_id, serial, sku in Device.objects.filter(
                electronic_id__identity__in=eids
            ).values_list("electronic_id", "product_id", "serial", "product__sku")
        }

    def party(self, record: Record, column: str, problems) -> Party | None:
        name = record.values[column]
        if not name:
            return None
        found = self.parties.get(name, [])
        if not found:
            problems.add(record.row, column, f"no party named “{name}”.")
            return None
        if len(found) > 1:
            problems.add(
                record.row,
                column,
                f"{len(found)} parties are named “{name}”: the import cannot tell them apart.",
            )
            return None
        return found[0]


def _text(max_length: int):
    return lambda raw: text_value(raw, max_length=max_length)


def _identity(max_length: int):
    return lambda raw: identity_value(raw, max_length=max_length)


def _cost(raw: str) -> Decimal:
    return decimal_value(raw, places=4)
