"""Every line of a device's history writes one `device.<what happened>` event in its own
transaction, naming the device by serial and product; the books audit checks one each."""

from decimal import Decimal

import pytest

from devices import services
from devices.exceptions import IllegalTransition
from devices.models import DeviceEvent, State
from tests.corruption import violations
from tests.devices.factories import (
    DeviceStatusFactory,
    device_in_state,
    devices_in,
    transition,
    world_create,
)
from tests.warehouse.factories import ProductFactory, book_in
from warehouse.models import Event

pytestmark = pytest.mark.django_db

ONE_EACH = "every device history line has one device event"


@pytest.fixture
def w():
    return world_create()


def _last_device_event() -> Event:
    return Event.objects.filter(kind__startswith="device.").order_by("id").last()


def _assert_one_event_per_history_line():
    assert violations(ONE_EACH) == []
    assert Event.objects.filter(kind__startswith="device.").count() == DeviceEvent.objects.count()


def test_a_stock_in_writes_a_device_event_per_unit_tied_to_its_ledger_line(w):
    devices_in(w.stock, w.modem, "SN-1", "SN-2", actor=w.actor)

    events = list(Event.objects.filter(kind=Event.Kind.DEVICE_STOCKED_IN).order_by("id"))
    history = list(DeviceEvent.objects.order_by("id"))
    assert [e.subject for e in events] == [
        {"type": "device", "serial": "SN-1", "product": "MOD-1"},
        {"type": "device", "serial": "SN-2", "product": "MOD-1"},
    ]
    assert [e.data["history"] for e in events] == [h.pk for h in history]
    assert [e.movement_id for e in events] == [h.movement_id for h in history]
    assert events[0].data["to_state"] == State.NEW
    assert events[0].actor == w.actor
    _assert_one_event_per_history_line()


@pytest.mark.parametrize(
    ("state", "action", "kwargs", "kind"),
    [
        (State.NEW, "block", {}, Event.Kind.DEVICE_BLOCKED),
        (State.BLOCKED, "unblock", {}, Event.Kind.DEVICE_UNBLOCKED),
        (State.NEW, "dispatch", {"party": "bob"}, Event.Kind.DEVICE_DISPATCHED),
        (State.DISPATCHED, "undispatch", {}, Event.Kind.DEVICE_UNDISPATCHED),
        (State.NEW, "sell", {"party": "acme"}, Event.Kind.DEVICE_SOLD),
        (State.NEW, "rent", {"party": "alice"}, Event.Kind.DEVICE_RENTED),
        (State.RENTED, "return_rental", {"location": "stock"}, Event.Kind.DEVICE_RENTAL_RETURNED),
        (State.SOLD, "return", {"location": "stock"}, Event.Kind.DEVICE_RETURNED),
        (State.SOLD, "transfer", {"party": "alice"}, Event.Kind.DEVICE_TRANSFERRED),
        (State.NEW, "write_off", {"reason": "lost"}, Event.Kind.DEVICE_WRITTEN_OFF),
        (State.WRITTEN_OFF, "found", {"location": "stock"}, Event.Kind.DEVICE_FOUND),
        (State.NEW, "move", {"location": "shelf"}, Event.Kind.DEVICE_MOVED),
    ],
)
def test_each_transition_writes_its_device_event(w, state, action, kwargs, kind):
    device = device_in_state(w, state)
    kwargs = {k: getattr(w, v) if k in ("party", "location") else v for k, v in kwargs.items()}

    after = transition(device, action, actor=w.actor, **kwargs)

    event = _last_device_event()
    line = DeviceEvent.objects.order_by("id").last()
    assert event.kind == kind
    assert event.data["history"] == line.pk
    assert (event.data["from_state"], event.data["to_state"]) == (state, after.state)
    assert event.movement_id == line.movement_id
    _assert_one_event_per_history_line()


def test_registering_an_own_device_and_registering_it_again_write_two_events(w):
    device = services.device_register_own(
        actor=w.actor, product=w.modem, serial="OWN-1", party=w.alice
    )
    services.device_register_own(actor=w.actor, product=w.modem, serial="OWN-1", party=w.bob)

    events = list(Event.objects.filter(kind=Event.Kind.DEVICE_REGISTERED).order_by("id"))
    assert [(e.data["from_owner"], e.data["to_owner"]) for e in events] == [
        (None, w.alice.pk),
        (w.alice.pk, w.bob.pk),
    ]
    assert events[0].subject["serial"] == device.serial
    _assert_one_event_per_history_line()


def test_a_status_and_a_characteristics_edit_write_their_events(w):
    device = device_in_state(w, State.NEW)
    status = DeviceStatusFactory(state=State.NEW, name="awaiting test")

    device = services.device_status_set(device=device, status=status, actor=w.actor)
    assert _last_device_event().kind == Event.Kind.DEVICE_STATUS_SET
    assert _last_device_event().data["status"] == "awaiting test"

    services.device_details_set(device=device, actor=w.actor, spot="rack 4")
    event = _last_device_event()
    assert event.kind == Event.Kind.DEVICE_DETAILS_SET
    assert event.data["changes"] == {"spot": ["", "rack 4"]}
    _assert_one_event_per_history_line()


def test_installing_and_removing_a_part_write_their_events(w):
    device = device_in_state(w, State.NEW)
    screw = ProductFactory(sku="SCREW")
    book_in(w.stock, screw, 10)

    services.device_assemble(
        device=device, part=screw, quantity=Decimal(3), source=w.stock, actor=w.actor
    )
    services.device_disassemble(
        device=device, part=screw, quantity=Decimal(1), destination=w.stock, actor=w.actor
    )

    kinds = list(Event.objects.filter(kind__startswith="device.").values_list("kind", flat=True))
    assert kinds[-2:] == [Event.Kind.DEVICE_ASSEMBLED, Event.Kind.DEVICE_DISASSEMBLED]
    assert _last_device_event().data["changes"] == {"part": "SCREW", "quantity": "1"}
    _assert_one_event_per_history_line()


def test_reserving_and_releasing_a_device_write_their_events(w):
    device = device_in_state(w, State.NEW)

    services.device_reserve(device=device, document="ORD-000001", warehouse_id=w.warehouse.pk)
    services.devices_release(document="ORD-000001")

    kinds = list(Event.objects.filter(kind__startswith="device.").values_list("kind", flat=True))
    assert kinds[-2:] == [Event.Kind.DEVICE_RESERVED, Event.Kind.DEVICE_RELEASED]
    assert _last_device_event().data["reference"] == "ORD-000001"
    _assert_one_event_per_history_line()


def test_a_refused_transition_writes_no_event(w):
    device = device_in_state(w, State.NEW)
    before = Event.objects.count()

    with pytest.raises(IllegalTransition):
        transition(device, "unblock", actor=w.actor)

    assert Event.objects.count() == before
