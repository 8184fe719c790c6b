"""The device services: stock-in of serials, device-aware stock pages, statuses,
characteristics, parts, blocking and the history every change leaves.

A refused action raises a DeviceError (or a WarehouseError) and changes
nothing: devices, history, ledger and balances are as before.
"""

import datetime as dt
from decimal import Decimal

import pytest

from devices import services, stock_booking
from devices.exceptions import (
    DeviceError,
    DuplicateElectronicId,
    DuplicateSerial,
    IllegalTransition,
    InvalidCharacteristics,
    InvalidDeviceLocation,
    InvalidStatus,
)
from devices.models import Characteristic, Device, DeviceEvent, InstalledPart, State
from tests.devices.factories import (
    CharacteristicFactory,
    DeviceStatusFactory,
    World,
    balance,
    device_in_state,
    device_snapshot,
    devices_in,
    reserve,
    transition,
    world_create,
)
from tests.warehouse.factories import (
    LocationFactory,
    ProductFactory,
    WarehouseFactory,
    book_in,
    ledger_balances,
    ledger_snapshot,
    position_of,
    storage_of,
)
from warehouse.exceptions import (
    InsufficientStock,
    InvalidDestination,
    InvalidLocation,
    InvalidSerials,
    WarehouseError,
)
from warehouse.models import Location, Movement, StockPosition
from warehouse.services import StockInLine, virtual_location

pytestmark = pytest.mark.django_db

D = Decimal
S = State
Kind = Location.Kind
Action = Movement.Action
NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def w() -> World:
    return world_create()


@pytest.fixture
def unchanged():
    """Asserts, at the end of the test, that devices, history and ledger are as they were
    when the test called it."""
    snapshots = []

    def take():
        snapshots.append(_everything())

    yield take
    for snapshot in snapshots:
        assert _everything() == snapshot


def _everything():
    return (
        ledger_snapshot(),
        list(Device.objects.order_by("pk").values()),
        DeviceEvent.objects.count(),
        list(InstalledPart.objects.order_by("pk").values()),
    )


def serials_in(location, product) -> list[str]:
    return sorted(
        Device.objects.filter(product=product, location=location).values_list("serial", flat=True)
    )


# --------------------------------------------------------------------------- stock-in


def test_stock_in_creates_one_new_device_per_serial_with_its_history(w):
    """Three serials booked in: three New devices in the location, each with one event
    that points at the ledger line that brought it."""
    stock_booking.stock_in(
        actor=w.actor,
        location=w.stock,
        lines=[
            StockInLine(product=w.modem, quantity=D(3), unit_cost=D("40"), serials=("A", "B", "C"))
        ],
        supplier="Modems Ltd",
        reference="PO-7",
        now=NOW,
    )

    devices = list(Device.objects.order_by("serial"))
    assert [(d.serial, d.state, d.location, d.owner) for d in devices] == [
        (s, S.NEW, w.stock, None) for s in "ABC"
    ]
    for device in devices:
        event = device.events.get()
        assert (event.kind, event.action, event.to_state, event.to_location) == (
            DeviceEvent.Kind.TRANSITION,
            "stock_in",
            S.NEW,
            w.stock,
        )
        assert (event.actor, event.reference, event.created_at) == (w.actor, "PO-7", NOW)
        movement = event.movement
        assert (movement.serial, movement.action, movement.destination, movement.quantity) == (
            device.serial,
            Action.ADD,
            w.stock,
            1,
        )
        assert movement.source == w.virtual(Kind.SUPPLIER)
    assert position_of(w.modem, w.stock) == 3
    assert balance(w.modem, w.warehouse).average_cost == D("40")


def test_counted_lines_booked_with_devices_create_no_devices(w):
    """A booking mixing cables and modems makes devices of the modems only."""
    cable = ProductFactory(sku="CAB-1")
    stock_booking.stock_in(
        actor=w.actor,
        location=w.stock,
        lines=[
            StockInLine(product=cable, quantity=D(50), unit_cost=D("1")),
            StockInLine(product=w.modem, quantity=D(1), unit_cost=D("40"), serials=("A",)),
        ],
    )

    assert list(Device.objects.values_list("product__sku", "serial")) == [("MOD-1", "A")]
    assert position_of(cable, w.stock) == 50


def test_stock_in_of_a_known_serial_books_nothing(w, unchanged):
    """One serial already in stock refuses the whole booking, naming it and its state."""
    devices_in(w.stock, w.modem, "A", "B")
    unchanged()

    with pytest.raises(DuplicateSerial, match=r"MOD-1 already has these serial numbers: B \(New\)"):
        devices_in(w.incoming, w.modem, "C", "B", "D")


def test_a_serial_given_twice_in_one_booking_is_refused(w, unchanged):
    """The same serial on one line, or on two lines of one booking, is refused naming it."""
    unchanged()
    with pytest.raises(InvalidSerials, match="given twice: A"):
        devices_in(w.stock, w.modem, "A", "A")
    with pytest.raises(InvalidSerials, match="given twice: A"):
        stock_booking.stock_in(
            actor=w.actor,
            location=w.stock,
            lines=[
                StockInLine(product=w.modem, quantity=D(1), unit_cost=D("1"), serials=("A",)),
                StockInLine(product=w.modem, quantity=D(2), unit_cost=D("1"), serials=("B", "A")),
            ],
        )


def test_a_serial_written_off_cannot_come_back_by_stock_in(w, unchanged):
    """A written-off device keeps its serial: booking it in again is refused."""
    device_in_state(w, S.WRITTEN_OFF, "A")
    unchanged()

    with pytest.raises(DuplicateSerial, match=r"A \(Written off\)"):
        devices_in(w.stock, w.modem, "A")


# --------------------------------------------------------------------------- adjustment up


def test_devices_found_at_a_count_are_created_new(w):
    """An adjustment up with serials creates New devices booked from the adjustment location."""
    devices = stock_booking.device_adjust_in(
        actor=w.actor,
        product=w.modem,
        location=w.quarantine,
        serials=[" F1 ", "F2", ""],
        reason="found in the back",
        unit_cost=D("12"),
    )

    assert sorted(d.serial for d in devices) == ["F1", "F2"]
    for device in Device.objects.all():
        assert (device.state, device.location) == (S.NEW, w.quarantine)
        event = device.events.get()
        assert (event.action, event.reason, event.movement.action) == (
            "adjust_in",
            "found in the back",
            Action.ADJUST_UP,
        )
        assert event.movement.source == w.virtual(Kind.ADJUSTMENT)
    assert balance(w.modem, w.warehouse).in_hand == 2


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"product": "cable"}, InvalidSerials, "CAB-1 is not traceable"),
        ({"location": "adjustment"}, InvalidDeviceLocation, "real location"),
        ({"reason": "  "}, WarehouseError, "Say why"),
        ({"serials": [" "]}, InvalidSerials, "Give the serial numbers"),
        ({"serials": ["A"]}, DuplicateSerial, r"MOD-1 already has these serial numbers: A \(New\)"),
    ],
)
def test_an_adjustment_up_of_devices_is_refused_when_it_cannot_be_right(
    w, unchanged, change, error, message
):
    """Found devices need a traceable product, a real location, a reason and new serials."""
    devices_in(w.stock, w.modem, "A")
    kwargs = {"product": w.modem, "location": w.stock, "serials": ["B"], "reason": "found"}
    kwargs.update(change)
    if kwargs["product"] == "cable":
        kwargs["product"] = ProductFactory(sku="CAB-1")
    if kwargs["location"] == "adjustment":
        kwargs["location"] = w.virtual(Kind.ADJUSTMENT)
    unchanged()

    with pytest.raises(error, match=message):
        stock_booking.device_adjust_in(actor=w.actor, **kwargs)


# --------------------------------------------------------------------------- stock pages


def test_moving_devices_moves_exactly_the_named_ones(w):
    """A move of two serials books two movements and moves those two devices only."""
    devices_in(w.stock, w.modem, "A", "B", "C")

    movements = stock_booking.stock_move(
        actor=w.actor,
        product=w.modem,
        source=w.stock,
        destination=w.shelf,
        serials=["C", "A"],
        quantity=2,
        reason="reshelving",
    )

    assert [(m.serial, m.action, m.source, m.destination) for m in movements] == [
        ("A", Action.MOVE, w.stock, w.shelf),
        ("C", Action.MOVE, w.stock, w.shelf),
    ]
    assert serials_in(w.shelf, w.modem) == ["A", "C"]
    assert serials_in(w.stock, w.modem) == ["B"]
    event = Device.objects.get(serial="A").events.first()
    assert (event.kind, event.from_location, event.to_location, event.reason) == (
        DeviceEvent.Kind.LOCATION,
        w.stock,
        w.shelf,
        "reshelving",
    )
    assert position_of(w.modem, w.shelf) == 2


def test_devices_move_between_warehouses(w):
    """A device moved to another warehouse's storage counts there, not here."""
    north = WarehouseFactory(code="north")
    devices_in(w.stock, w.modem, "A", "B")

    stock_booking.stock_move(
        actor=w.actor, product=w.modem, source=w.stock, destination=storage_of(north), serials=["A"]
    )

    assert Device.objects.get(serial="A").location == storage_of(north)
    assert (balance(w.modem, w.warehouse).in_storage, balance(w.modem, north).in_storage) == (1, 1)


@pytest.mark.parametrize(
    ("serials", "quantity", "error", "message"),
    [
        (["A", "X"], None, InvalidSerials, "MOD-1 has no device X"),
        (["A", "C"], None, InvalidSerials, "Not in main/STOCK: C"),
        ([], None, InvalidSerials, "give one serial number per unit"),
        (["A", "A"], None, InvalidSerials, "given twice: A"),
        (["A", "B"], 3, InvalidSerials, "3 units of MOD-1 but 2 serial numbers"),
    ],
)
def test_a_device_move_naming_wrong_serials_is_refused(
    w, unchanged, serials, quantity, error, message
):
    """Unknown serials, serials in another location, repeated or miscounted ones: refused,
    nothing moves."""
    devices_in(w.stock, w.modem, "A", "B")
    devices_in(w.shelf, w.modem, "C")
    unchanged()

    with pytest.raises(error, match=message):
        stock_booking.stock_move(
            actor=w.actor,
            product=w.modem,
            source=w.stock,
            destination=w.quarantine,
            serials=serials,
            quantity=quantity,
        )


@pytest.mark.parametrize("kind", [Kind.SOLD, Kind.DISPATCHED, Kind.INCOMING])
def test_devices_are_only_moved_to_storage_or_quarantine(w, unchanged, kind):
    """Moving a device into a virtual location (sold, dispatched ...) or into incoming
    (which receives deliveries only) is refused."""
    devices_in(w.stock, w.modem, "A")
    destination = w.incoming if kind == Kind.INCOMING else w.virtual(kind)
    unchanged()

    with pytest.raises(InvalidDestination, match="can only be moved to storage or quarantine"):
        stock_booking.stock_move(
            actor=w.actor, product=w.modem, source=w.stock, destination=destination, serials=["A"]
        )


def test_a_device_out_of_the_warehouse_is_not_moved(w, unchanged):
    """A dispatched device cannot be moved from the dispatched location back to a shelf."""
    device = device_in_state(w, S.DISPATCHED, "A")
    unchanged()

    with pytest.raises(IllegalTransition, match="MOD-1 #A is Dispatched: “move” is not allowed"):
        stock_booking.stock_move(
            actor=w.actor,
            product=w.modem,
            source=device.location,
            destination=w.shelf,
            serials=["A"],
        )


def test_counted_goods_move_through_the_warehouse_service(w):
    """The device-aware pages still move counted products by quantity."""
    bolt = ProductFactory(sku="BOLT-8")
    book_in(w.stock, bolt, 10)

    stock_booking.stock_move(
        actor=w.actor, product=bolt, source=w.stock, destination=w.shelf, quantity=D(4)
    )
    stock_booking.stock_isolate(
        actor=w.actor,
        product=bolt,
        location=w.stock,
        quarantine=w.quarantine,
        quantity=D(1),
        reason="rusty",
    )
    stock_booking.stock_remove(
        actor=w.actor, product=bolt, location=w.stock, quantity=D(2), reason="lost"
    )

    assert [position_of(bolt, loc) for loc in (w.stock, w.shelf, w.quarantine)] == [3, 4, 1]


def test_isolating_devices_puts_them_in_quarantine(w):
    """Isolated devices keep their state and sit in quarantine, booked as an isolation."""
    devices_in(w.stock, w.modem, "A", "B")

    (movement,) = stock_booking.stock_isolate(
        actor=w.actor,
        product=w.modem,
        location=w.stock,
        quarantine=w.quarantine,
        serials=["B"],
        reason="smells of smoke",
    )

    device = Device.objects.get(serial="B")
    assert (device.state, device.location) == (S.NEW, w.quarantine)
    assert (movement.action, movement.reason) == (Action.ISOLATE, "smells of smoke")
    stock = balance(w.modem, w.warehouse)
    assert (stock.in_hand, stock.in_storage, stock.available) == (2, 1, 1)


def test_isolating_devices_needs_storage_a_quarantine_of_its_warehouse_and_a_reason(w, unchanged):
    """Isolation from incoming, into another warehouse's quarantine or without a reason is
    refused."""
    devices_in(w.stock, w.modem, "A")
    devices_in(w.incoming, w.modem, "B")
    far = LocationFactory(warehouse=WarehouseFactory(code="far"), code="Q", kind=Kind.QUARANTINE)
    unchanged()

    def isolate(location, quarantine, serial, reason="damaged"):
        stock_booking.stock_isolate(
            actor=w.actor,
            product=w.modem,
            location=location,
            quarantine=quarantine,
            serials=[serial],
            reason=reason,
        )

    with pytest.raises(InvalidLocation, match="main/IN is not storage"):
        isolate(w.incoming, w.quarantine, "B")
    with pytest.raises(InvalidDestination, match="must be in the same warehouse as the goods"):
        isolate(w.stock, far, "A")
    with pytest.raises(InvalidDestination, match="main/SHELF is not a quarantine location"):
        isolate(w.stock, w.shelf, "A")
    with pytest.raises(WarehouseError, match="Say why"):
        isolate(w.stock, w.quarantine, "A", reason=" ")


def test_removing_devices_writes_them_off(w):
    """Removed devices are Written off, in the adjustment location, booked as removals."""
    devices_in(w.stock, w.modem, "A", "B")

    (movement,) = stock_booking.stock_remove(
        actor=w.actor, product=w.modem, location=w.stock, serials=["A"], reason="dropped"
    )

    device = Device.objects.get(serial="A")
    assert (device.state, device.location, device.owner) == (
        S.WRITTEN_OFF,
        w.virtual(Kind.ADJUSTMENT),
        None,
    )
    assert (movement.action, movement.destination) == (Action.REMOVE, w.virtual(Kind.ADJUSTMENT))
    assert device.events.first().reason == "dropped"
    assert balance(w.modem, w.warehouse).in_hand == 1


def test_a_written_off_device_found_again_comes_back_as_it_was(w):
    """Lost, then found: the device returns to the chosen storage in the state it was
    written off from, owned by the business, booked as an adjustment up at the average cost."""
    devices_in(w.stock, w.modem, "A", "B", unit_cost="12.00")
    stock_booking.stock_remove(
        actor=w.actor, product=w.modem, location=w.stock, serials=["A"], reason="lost"
    )

    found = services.device_transition(
        device=Device.objects.get(serial="A"),
        action="found",
        location=w.shelf,
        reason="behind rack 4",
        actor=None,
    )

    device = found.device
    assert (device.state, device.location, device.owner) == (S.NEW, w.shelf, None)
    movement = found.movement
    assert (movement.action, movement.source, movement.destination, movement.serial) == (
        Action.ADJUST_UP,
        w.virtual(Kind.ADJUSTMENT),
        w.shelf,
        "A",
    )
    assert movement.unit_cost == D("12.00")
    assert device.events.first().reason == "behind rack 4"
    assert balance(w.modem, w.warehouse).in_storage == 2
    ledger = ledger_balances()
    assert ledger[(w.modem.pk, w.shelf.pk)] == position_of(w.modem, w.shelf) == 1
    assert (
        ledger[(w.modem.pk, w.virtual(Kind.ADJUSTMENT).pk)] == 0
    )  # out when lost, back when found


def test_a_device_written_off_while_blocked_is_found_blocked(w):
    """Found again restores the state before the write-off: a blocked device stays blocked,
    and counts as blocked in its warehouse again."""
    device = transition(device_in_state(w, S.NEW), "block", reason="dent")
    transition(device, "write_off", reason="lost in transit")

    device = transition(device, "found", location=w.stock, reason="returned by courier")

    assert device.state == S.BLOCKED
    row = balance(w.modem, w.warehouse)
    assert (row.in_storage, row.blocked, row.available) == (1, 1, 0)


def test_a_device_found_in_another_warehouse_comes_from_that_warehouse_s_losses(w):
    """A device written off in one warehouse and found in another enters the second one's
    stock, from its own adjustment location."""
    north = WarehouseFactory(code="north")
    device = transition(device_in_state(w, S.NEW), "write_off", reason="lost")

    found = services.device_transition(
        device=device,
        action="found",
        location=storage_of(north),
        reason="turned up north",
        actor=None,
    )

    assert found.device.location == storage_of(north)
    assert found.movement.source == virtual_location(warehouse=north.pk, kind=Kind.ADJUSTMENT)
    assert (balance(w.modem, w.warehouse).in_hand, balance(w.modem, north).in_hand) == (0, 1)


@pytest.mark.parametrize("where", ["incoming", "none"])
def test_a_found_device_goes_to_storage_or_quarantine_only(w, unchanged, where):
    """Found again needs a storage or quarantine to put the device in; nothing changes else."""
    device = transition(device_in_state(w, S.NEW), "write_off", reason="lost")
    unchanged()
    location = w.incoming if where == "incoming" else None

    with pytest.raises(InvalidDeviceLocation, match="Choose the storage or quarantine"):
        transition(device, "found", location=location, reason="found")


def test_only_a_written_off_device_can_be_found_again(w):
    device = device_in_state(w, S.NEW)

    with pytest.raises(IllegalTransition, match="is New: “found again” is not allowed"):
        transition(device, "found", location=w.shelf, reason="found")


def test_stock_in_of_a_written_off_serial_points_to_found_again(w):
    """A written-off serial cannot be booked in as new stock; the refusal says how it comes back."""
    device_in_state(w, S.NEW, serial="A")
    transition(Device.objects.get(serial="A"), "write_off", reason="lost")

    with pytest.raises(DuplicateSerial, match="A \\(Written off\\).*“Found again” on its page"):
        devices_in(w.stock, w.modem, "A")


@pytest.mark.parametrize(
    ("serials", "reason", "error", "message"),
    [
        (["X"], "lost", InvalidSerials, "MOD-1 has no device X"),
        (["C"], "lost", InvalidSerials, "Not in main/STOCK: C"),
        (["A"], "", WarehouseError, "Say why"),
    ],
)
def test_removing_devices_is_refused_for_wrong_serials_or_no_reason(
    w, unchanged, serials, reason, error, message
):
    """Only named devices that are in the location are written off, and only with a reason."""
    devices_in(w.stock, w.modem, "A")
    devices_in(w.shelf, w.modem, "C")
    unchanged()

    with pytest.raises(error, match=message):
        stock_booking.stock_remove(
            actor=w.actor, product=w.modem, location=w.stock, serials=serials, reason=reason
        )


@pytest.mark.parametrize("action", ["dispatch", "sell", "rent"])
@pytest.mark.parametrize("where", ["quarantine", "incoming"])
def test_quarantined_or_incoming_devices_are_not_for_sale_or_rent(w, unchanged, action, where):
    """Only devices in storage leave for a party: quarantined or incoming ones are refused."""
    (device,) = devices_in(w.stock, w.modem, "A")
    if where == "quarantine":
        transition(device, "move", location=w.quarantine)
    else:
        (device,) = devices_in(w.incoming, w.modem, "B")
    unchanged()

    with pytest.raises(
        InvalidDeviceLocation, match=f"is in main/{'QUAR' if where == 'quarantine' else 'IN'}"
    ):
        transition(device, action, party=w.alice)


# --------------------------------------------------------------------------- statuses


def test_a_device_gets_a_status_of_its_state(w):
    """A Used device can be marked "awaiting test"; the history says from what to what."""
    device = device_in_state(w, S.USED)
    awaiting = DeviceStatusFactory(state=S.USED, name="awaiting test")

    services.device_status_set(device=device, status=awaiting, actor=w.actor, reason="returned")

    device.refresh_from_db()
    assert device.status == awaiting
    event = device.events.first()
    assert (event.kind, event.changes, event.reason, event.actor) == (
        DeviceEvent.Kind.STATUS,
        {"status": ["", "awaiting test"]},
        "returned",
        w.actor,
    )


def test_a_status_of_another_state_is_refused(w, unchanged):
    """A New device cannot carry a status of Used devices; the message names both states."""
    device = device_in_state(w, S.NEW)
    awaiting = DeviceStatusFactory(state=S.USED, name="awaiting test")
    unchanged()

    with pytest.raises(
        InvalidStatus, match="“awaiting test” is a status of Used devices, not of New"
    ):
        services.device_status_set(device=device, status=awaiting, actor=w.actor)


def test_a_status_no_longer_in_use_is_refused(w, unchanged):
    """Inactive statuses cannot be given any more."""
    device = device_in_state(w, S.USED)
    old = DeviceStatusFactory(state=S.USED, name="old habit", active=False)
    unchanged()

    with pytest.raises(InvalidStatus, match="“old habit” is no longer in use"):
        services.device_status_set(device=device, status=old, actor=w.actor)


def test_setting_the_same_status_again_changes_nothing(w):
    """Giving a device the status it has writes no history."""
    device = device_in_state(w, S.USED)
    awaiting = DeviceStatusFactory(state=S.USED, name="awaiting test")
    services.device_status_set(device=device, status=awaiting, actor=w.actor)
    events = device.events.count()

    services.device_status_set(device=device, status=awaiting, actor=w.actor)

    assert device.events.count() == events


def test_clearing_a_status_is_recorded(w):
    """Taking a status away leaves an event from the status to none."""
    device = device_in_state(w, S.USED)
    services.device_status_set(
        device=device, status=DeviceStatusFactory(state=S.USED, name="dusty"), actor=w.actor
    )

    services.device_status_set(device=device, status=None, actor=w.actor)

    device.refresh_from_db()
    assert device.status is None
    assert device.events.first().changes == {"status": ["dusty", ""]}


def test_a_transition_clears_the_status_and_a_move_keeps_it(w):
    """A status belongs to a state: blocking a Used "awaiting test" device clears it;
    moving it does not."""
    device = device_in_state(w, S.USED)
    services.device_status_set(
        device=device, status=DeviceStatusFactory(state=S.USED, name="awaiting test"), actor=None
    )

    moved = transition(device, "move", location=w.shelf)
    assert moved.status.name == "awaiting test"

    blocked = transition(device, "block")
    assert blocked.status is None
    assert blocked.events.first().changes == {"status": ["awaiting test", ""]}


def test_a_transition_may_set_a_status_of_the_new_state(w):
    """Blocking with the status "broken screen" (a Blocked status) sets it; a status of
    another state is refused and the device stays as it was."""
    device = device_in_state(w, S.NEW)
    broken = DeviceStatusFactory(state=S.BLOCKED, name="broken screen")
    awaiting = DeviceStatusFactory(state=S.USED, name="awaiting test")
    before = device_snapshot(device)

    with pytest.raises(InvalidStatus):
        transition(device, "block", status=awaiting)
    assert device_snapshot(device) == before

    blocked = transition(device, "block", status=broken)
    assert (blocked.state, blocked.status) == (S.BLOCKED, broken)


# --------------------------------------------------------------------------- characteristics


@pytest.fixture
def modem_characteristics(w):
    make = CharacteristicFactory
    make(product=w.modem, name="RAM (GB)", type=Characteristic.Type.NUMBER, required=True)
    make(product=w.modem, name="Wi-Fi", type=Characteristic.Type.BOOLEAN)
    make(product=w.modem, name="Made", type=Characteristic.Type.DATE)
    make(product=w.modem, name="Colour", type=Characteristic.Type.CHOICE, choices="black, white")
    make(product=w.modem, name="Note", type=Characteristic.Type.TEXT)


def test_characteristics_are_checked_and_converted(w, modem_characteristics):
    """Typed values become plain JSON: numbers as text, yes/no as booleans, ISO dates."""
    cleaned = services.characteristics_validate(
        product=w.modem,
        values={
            "RAM (GB)": " 8.50 ",
            "Wi-Fi": "yes",
            "Made": "2024-05-01",
            "Colour": "white",
            "Note": "  spare  ",
        },
    )

    assert cleaned == {
        "RAM (GB)": "8.5",
        "Wi-Fi": True,
        "Made": "2024-05-01",
        "Colour": "white",
        "Note": "spare",
    }
    assert services.characteristics_validate(
        product=w.modem, values={"RAM (GB)": "16", "Wi-Fi": "off", "Colour": ""}
    ) == {"RAM (GB)": "16", "Wi-Fi": False}


def test_each_bad_characteristic_is_named(w, modem_characteristics):
    """Every wrong value is reported under its characteristic's name, all at once."""
    with pytest.raises(InvalidCharacteristics) as refused:
        services.characteristics_validate(
            product=w.modem,
            values={
                "RAM (GB)": "lots",
                "Wi-Fi": "maybe",
                "Made": "yesterday",
                "Colour": "red",
                "Weight": "3",
            },
        )

    assert refused.value.errors == {
        "RAM (GB)": "“lots” is not a number.",
        "Wi-Fi": "“maybe” is not yes or no.",
        "Made": "“yesterday” is not a date (YYYY-MM-DD).",
        "Colour": "“red” is not one of black, white.",
        "Weight": "MOD-1 has no characteristic “Weight”.",
    }
    assert "RAM (GB): “lots” is not a number." in refused.value.message


@pytest.mark.parametrize("value", ["", "   ", None])
def test_a_required_characteristic_must_be_given(w, modem_characteristics, value):
    """Leaving a required characteristic empty is refused as required."""
    with pytest.raises(InvalidCharacteristics) as refused:
        services.characteristics_validate(product=w.modem, values={"RAM (GB)": value})

    assert refused.value.errors == {"RAM (GB)": "required."}


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1,5"])
def test_a_number_characteristic_refuses_what_is_not_a_finite_number(
    w, modem_characteristics, value
):
    with pytest.raises(InvalidCharacteristics, match="is not a number"):
        services.characteristics_validate(product=w.modem, values={"RAM (GB)": value})


def test_editing_characteristics_is_recorded_with_old_and_new_values(w, modem_characteristics):
    """Saving characteristics stores the cleaned values and an event with before and after."""
    device = device_in_state(w, S.NEW)

    services.device_details_set(
        device=device,
        actor=w.actor,
        characteristics={"RAM (GB)": "8", "Colour": "black"},
        reason="unpacked",
    )

    device.refresh_from_db()
    assert device.characteristics == {"RAM (GB)": "8", "Colour": "black"}
    event = device.events.first()
    assert (event.kind, event.actor, event.reason) == (
        DeviceEvent.Kind.CHARACTERISTICS,
        w.actor,
        "unpacked",
    )
    assert event.changes == {"characteristics": [{}, {"RAM (GB)": "8", "Colour": "black"}]}


def test_bad_characteristics_save_nothing(w, modem_characteristics, unchanged):
    """One bad value refuses the whole edit: no characteristic, no electronic id is saved."""
    device = device_in_state(w, S.NEW)
    unchanged()

    with pytest.raises(InvalidCharacteristics, match="Wi-Fi"):
        services.device_details_set(
            device=device,
            actor=w.actor,
            electronic_id="00:11:22:33:44:55",
            characteristics={"RAM (GB)": "8", "Wi-Fi": "perhaps"},
        )


def test_an_electronic_id_belongs_to_one_device(w, unchanged):
    """A MAC address already given to another device is refused; many devices may have none."""
    first, second = devices_in(w.stock, w.modem, "A", "B")
    services.device_details_set(device=first, actor=w.actor, electronic_id="00:11:22:33:44:55")
    unchanged()

    with pytest.raises(DuplicateElectronicId, match="00:11:22:33:44:55"):
        services.device_details_set(
            device=second, actor=w.actor, electronic_id=" 00:11:22:33:44:55 "
        )
    with pytest.raises(DuplicateElectronicId, match="00:11:22:33:44:55"):
        services.device_register_own(
            actor=w.actor,
            product=w.modem,
            serial="OWN-1",
            party=w.alice,
            electronic_id="00:11:22:33:44:55",
        )
    assert Device.objects.filter(electronic_id="").count() == 1


def test_editing_details_records_each_change(w):
    """Electronic id, spot and coordinates edited together: one event lists each change."""
    device = device_in_state(w, S.NEW)

    services.device_details_set(
        device=device,
        actor=w.actor,
        electronic_id="AA",
        spot="rack 3",
        latitude=D("52.100000"),
        longitude=D("4.300000"),
    )

    device.refresh_from_db()
    assert (device.electronic_id, device.spot, device.latitude) == ("AA", "rack 3", D("52.1"))
    assert device.events.first().changes == {
        "electronic_id": ["", "AA"],
        "spot": ["", "rack 3"],
        "latitude": [None, "52.100000"],
        "longitude": [None, "4.300000"],
    }


def test_editing_only_the_characteristics_keeps_the_coordinates(w, modem_characteristics):
    """Saving characteristics alone does not wipe where the device was put."""
    device = device_in_state(w, S.NEW)
    services.device_details_set(
        device=device, actor=w.actor, latitude=D("52.1"), longitude=D("4.3")
    )

    services.device_details_set(device=device, actor=w.actor, characteristics={"RAM (GB)": "4"})

    device.refresh_from_db()
    assert (device.latitude, device.longitude) == (D("52.1"), D("4.3"))
    assert set(device.events.first().changes) == {"characteristics"}


def test_saving_unchanged_details_writes_no_history(w):
    device = device_in_state(w, S.NEW)
    services.device_details_set(device=device, actor=w.actor, spot="rack 3")
    events = device.events.count()

    services.device_details_set(device=device, actor=w.actor, spot="rack 3 ")

    assert device.events.count() == events


# --------------------------------------------------------------------------- parts


@pytest.fixture
def screws(w):
    """50 counted screws in main/STOCK."""
    product = ProductFactory(sku="SCR-1", name="Screw")
    book_in(w.stock, product, 50)
    return product


def test_an_installed_part_leaves_storage_for_the_device(w, screws):
    """Assembling 3 screws into a device: storage holds 47, the installed location 3,
    the device shows 3 installed, and its history points at the ledger line."""
    device = device_in_state(w, S.NEW)

    part = services.device_assemble(
        device=device, part=screws, quantity=D(3), source=w.stock, actor=w.actor, reason="fix"
    )

    assert (part.device, part.product, part.quantity) == (device, screws, 3)
    installed = w.virtual(Kind.INSTALLED)
    assert (position_of(screws, w.stock), position_of(screws, installed)) == (47, 3)
    event = device.events.first()
    assert (event.kind, event.action, event.changes) == (
        DeviceEvent.Kind.ASSEMBLY,
        "assemble",
        {"part": "SCR-1", "quantity": "3"},
    )
    assert (event.movement.action, event.movement.destination) == (Action.ASSEMBLE, installed)
    stock = balance(screws, w.warehouse)
    assert (stock.in_hand, stock.in_storage) == (47, 47)
    assert ledger_balances()[(screws.pk, installed.pk)] == 3


def test_assembling_twice_adds_up_and_disassembling_takes_out(w, screws):
    """3 + 2 screws in, 4 out into quarantine: 1 stays installed, 4 sit in quarantine."""
    device = device_in_state(w, S.USED)
    for quantity in (3, 2):
        services.device_assemble(
            device=device, part=screws, quantity=D(quantity), source=w.stock, actor=None
        )

    part = services.device_disassemble(
        device=device, part=screws, quantity=D(4), destination=w.quarantine, actor=w.actor
    )

    assert part.quantity == 1
    assert InstalledPart.objects.get().quantity == 1
    assert position_of(screws, w.quarantine) == 4
    assert position_of(screws, w.virtual(Kind.INSTALLED)) == 1
    assert device.events.first().movement.action == Action.DISASSEMBLE


def test_disassembling_more_than_installed_is_refused(w, screws, unchanged):
    """Taking 3 screws out of a device holding 2 is refused; nothing moves."""
    device = device_in_state(w, S.NEW)
    services.device_assemble(device=device, part=screws, quantity=D(2), source=w.stock, actor=None)
    other = devices_in(w.stock, w.modem, "S2")[0]
    unchanged()

    with pytest.raises(InsufficientStock, match="Not enough SCR-1 .* in MOD-1 #S1: 2 available"):
        services.device_disassemble(
            device=device, part=screws, quantity=D(3), destination=w.stock, actor=None
        )
    with pytest.raises(InsufficientStock, match="in MOD-1 #S2: 0 available"):
        services.device_disassemble(
            device=other, part=screws, quantity=D(1), destination=w.stock, actor=None
        )


def test_parts_are_counted_goods_from_storage_into_a_device_in_hand(w, screws, unchanged):
    """A traceable part, a part from quarantine, more parts than stored, or a sold device
    are refused."""
    device = device_in_state(w, S.NEW)
    sold = device_in_state(w, S.SOLD, "S2")
    book_in(w.stock, ProductFactory(sku="NUT-1"), 1)
    unchanged()

    def assemble(part=screws, quantity=1, source=w.stock, into=device):
        services.device_assemble(
            device=into, part=part, quantity=D(quantity), source=source, actor=None
        )

    with pytest.raises(WarehouseError, match="MOD-1 is traceable"):
        assemble(part=w.modem)
    with pytest.raises(InvalidDeviceLocation, match="from storage"):
        assemble(source=w.quarantine)
    with pytest.raises(InsufficientStock, match="Not enough SCR-1"):
        assemble(quantity=51)
    with pytest.raises(
        IllegalTransition, match="MOD-1 #S2 is Sold: “install parts in” is not allowed"
    ):
        assemble(into=sold)
    with pytest.raises(InvalidDeviceLocation, match="storage or quarantine"):
        services.device_disassemble(
            device=device, part=screws, quantity=D(1), destination=w.incoming, actor=None
        )


def test_a_part_installed_in_one_warehouse_comes_out_in_another(w, screws):
    """A device moved to another warehouse can have its parts taken out there: 2 screws
    put in at main and 1 at north all come out into north's storage."""
    north = WarehouseFactory(code="north")
    device = device_in_state(w, S.NEW)
    services.device_assemble(device=device, part=screws, quantity=D(2), source=w.stock, actor=None)
    transition(device, "move", location=storage_of(north))
    book_in(storage_of(north), screws, 5)
    services.device_assemble(
        device=device, part=screws, quantity=D(1), source=storage_of(north), actor=None
    )

    services.device_disassemble(
        device=device, part=screws, quantity=D(3), destination=storage_of(north), actor=None
    )

    assert position_of(screws, storage_of(north)) == 7
    for warehouse in (w.warehouse, north):
        installed = virtual_location(warehouse=warehouse, kind=Kind.INSTALLED)
        assert position_of(screws, installed) == 0
    assert InstalledPart.objects.get().quantity == 0
    assert balance(screws, w.warehouse).in_hand == 48
    ledger = ledger_balances()
    for position in StockPosition.objects.filter(product=screws):
        assert position.quantity == ledger[(screws.pk, position.location_id)]


# --------------------------------------------------------------------------- blocking


def test_a_blocked_device_in_storage_is_not_available(w):
    """Blocking one of three stored devices leaves two available; it stays in hand."""
    device, *_ = devices_in(w.stock, w.modem, "A", "B", "C")

    transition(device, "block", reason="cracked case")

    stock = balance(w.modem, w.warehouse)
    assert (stock.in_hand, stock.in_storage, stock.blocked, stock.available) == (3, 3, 1, 2)


def test_unblocking_makes_the_device_available_again(w):
    device, *_ = devices_in(w.stock, w.modem, "A", "B")
    transition(device, "block")

    transition(device, "unblock")

    stock = balance(w.modem, w.warehouse)
    assert (stock.blocked, stock.available) == (0, 2)


def test_removing_more_than_the_unreserved_unblocked_devices_is_refused(w, unchanged):
    """Of three stored devices, one blocked and two reserved: writing off an unblocked one
    is refused (none available); writing off the blocked one is allowed."""
    blocked, free, _ = devices_in(w.stock, w.modem, "A", "B", "C")
    transition(blocked, "block")
    reserve(w.modem, w.warehouse, 2)
    before = (ledger_snapshot(), device_snapshot(free))

    with pytest.raises(InsufficientStock, match=r"0 available \(3 more reserved or blocked\)"):
        stock_booking.stock_remove(
            actor=w.actor, product=w.modem, location=w.stock, serials=["B"], reason="lost"
        )
    assert (ledger_snapshot(), device_snapshot(free)) == before

    stock_booking.stock_remove(
        actor=w.actor, product=w.modem, location=w.stock, serials=["A"], reason="scrapped"
    )
    stock = balance(w.modem, w.warehouse)
    assert (stock.in_storage, stock.reserved, stock.blocked, stock.available) == (2, 2, 0, 0)


def test_blocking_needs_an_unreserved_unit(w, unchanged):
    """With every stored unit reserved, blocking one more is refused: blocked and reserved
    together never exceed what is stored."""
    device, _ = devices_in(w.stock, w.modem, "A", "B")
    reserve(w.modem, w.warehouse, 2)
    unchanged()

    with pytest.raises(InsufficientStock, match="Not enough MOD-1"):
        transition(device, "block")


def test_a_device_reserved_by_a_document_cannot_be_blocked(w, unchanged):
    """A device an order holds is refused, naming the order."""
    (device,) = devices_in(w.stock, w.modem, "A")
    Device.objects.filter(pk=device.pk).update(reserved_by="ORD-000042")
    unchanged()

    with pytest.raises(
        IllegalTransition, match="is reserved by ORD-000042: “block” is not allowed"
    ):
        transition(device, "block")


def test_moving_a_blocked_device_to_quarantine_keeps_counts_right(w):
    """A blocked device isolated is no longer counted as blocked storage; moved back to
    storage it is counted again; available never changes for the others."""
    device, _ = devices_in(w.stock, w.modem, "A", "B")
    transition(device, "block")

    stock_booking.stock_isolate(
        actor=w.actor,
        product=w.modem,
        location=w.stock,
        quarantine=w.quarantine,
        serials=["A"],
        reason="inspection",
    )
    stock = balance(w.modem, w.warehouse)
    assert (stock.in_hand, stock.in_storage, stock.blocked, stock.available) == (2, 1, 0, 1)
    assert Device.objects.get(serial="A").state == S.BLOCKED

    transition(device, "move", location=w.shelf)
    stock = balance(w.modem, w.warehouse)
    assert (stock.in_hand, stock.in_storage, stock.blocked, stock.available) == (2, 2, 1, 1)


def test_a_blocked_device_moved_to_another_warehouse_is_blocked_there(w):
    north = WarehouseFactory(code="north")
    device, _ = devices_in(w.stock, w.modem, "A", "B")
    transition(device, "block")

    transition(device, "move", location=storage_of(north))

    assert (balance(w.modem, w.warehouse).blocked, balance(w.modem, north).blocked) == (0, 1)
    assert (balance(w.modem, w.warehouse).available, balance(w.modem, north).available) == (1, 0)


def test_writing_off_a_blocked_device_releases_its_block(w):
    device, _ = devices_in(w.stock, w.modem, "A", "B")
    transition(device, "block")

    transition(device, "write_off", reason="beyond repair")

    stock = balance(w.modem, w.warehouse)
    assert (stock.in_storage, stock.blocked, stock.available) == (1, 0, 1)


def test_blocking_an_incoming_device_does_not_touch_availability(w):
    """Incoming goods are not available anyway: blocking one there counts nothing."""
    (device,) = devices_in(w.incoming, w.modem, "A")

    transition(device, "block")

    stock = balance(w.modem, w.warehouse)
    assert (stock.in_hand, stock.blocked, stock.available) == (1, 0, 0)


# --------------------------------------------------------------------------- history


def test_every_change_of_a_device_is_in_its_history(w, modem_characteristics):
    """Stock-in, a move, a status, a characteristic edit, a sale and a transfer: six events,
    newest first, each saying who, from what, to what and why."""
    (device,) = devices_in(w.stock, w.modem, "A", actor=w.actor, reason="delivery")
    stock_booking.stock_move(
        actor=w.actor,
        product=w.modem,
        source=w.stock,
        destination=w.shelf,
        serials=["A"],
        reason="put away",
    )
    services.device_status_set(
        device=device,
        status=DeviceStatusFactory(state=S.NEW, name="boxed"),
        actor=w.actor,
        reason="still sealed",
    )
    services.device_details_set(
        device=device, actor=w.actor, characteristics={"RAM (GB)": "4"}, reason="label read"
    )
    transition(device, "sell", actor=w.actor, party=w.alice, reason="walk-in", reference="INV-1")
    transition(device, "transfer", actor=w.actor, party=w.bob, reason="gift")

    rows = [
        (e.kind, e.action, e.from_state, e.to_state, e.from_location, e.to_location,
         e.from_owner, e.to_owner, e.reason)
        for e in DeviceEvent.objects.filter(device=device)
    ]  # fmt: skip
    sold = w.virtual(Kind.SOLD)
    T = DeviceEvent.Kind
    assert rows == [
        (T.OWNER, "transfer", S.SOLD, S.SOLD, sold, sold, w.alice, w.bob, "gift"),
        (T.TRANSITION, "sell", S.NEW, S.SOLD, w.shelf, sold, None, w.alice, "walk-in"),
        (T.CHARACTERISTICS, "details", S.NEW, S.NEW, w.shelf, w.shelf, None, None, "label read"),
        (T.STATUS, "status", S.NEW, S.NEW, w.shelf, w.shelf, None, None, "still sealed"),
        (T.LOCATION, "move", S.NEW, S.NEW, w.stock, w.shelf, None, None, "put away"),
        (T.TRANSITION, "stock_in", "", S.NEW, None, w.stock, None, None, "delivery"),
    ]
    assert all(e.actor == w.actor for e in DeviceEvent.objects.filter(device=device))
    assert DeviceEvent.objects.get(action="sell").reference == "INV-1"


def test_a_refused_action_leaves_no_trace(w, unchanged):
    """Selling a written-off device fails and neither history nor ledger grows."""
    device = device_in_state(w, S.WRITTEN_OFF)
    unchanged()

    with pytest.raises(DeviceError):
        transition(device, "sell", party=w.alice)
