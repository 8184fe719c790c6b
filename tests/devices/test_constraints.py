"""PostgreSQL is the backstop: writes that bypass the services are refused by the database.

Each test starts from devices made by the services, then changes a row with
raw SQL the way a careless script or a bug would, and expects an
IntegrityError naming the guard that refused it.
"""

import pytest
from django.db import IntegrityError, connection, transaction

from devices.models import Device, DeviceEvent, State
from tests.devices.factories import (
    DeviceStatusFactory,
    World,
    device_in_state,
    transition,
    world_create,
)
from tests.warehouse.factories import ProductFactory
from warehouse.models import Location

pytestmark = pytest.mark.django_db

Kind = Location.Kind
S = State


@pytest.fixture
def w() -> World:
    return world_create()


@pytest.fixture
def new(w) -> Device:
    """A New device in main/STOCK."""
    return device_in_state(w, S.NEW, "NEW-1")


def sql(statement: str, *params):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def set_device(device, **values):
    assignments = ", ".join(f"{column} = %s" for column in values)
    return sql(
        f"UPDATE devices_device SET {assignments} WHERE id = %s", *values.values(), device.pk
    )


def copy_device(device, **values):
    """INSERT a copy of a device's row with some columns replaced."""
    columns = [f.column for f in Device._meta.concrete_fields if not f.primary_key]
    selected = [("%s" if c in values else c) for c in columns]
    return sql(
        f"INSERT INTO devices_device ({', '.join(columns)}) "
        f"SELECT {', '.join(selected)} FROM devices_device WHERE id = %s",
        *[values[c] for c in columns if c in values],
        device.pk,
    )


def refused(guard: str):
    """The database must refuse the statements of the block, naming `guard`."""
    return pytest.raises(IntegrityError, match=guard)


# --------------------------------------------------------------------------- place and state


def test_a_sold_device_is_never_on_a_shelf(w, new):
    with refused("device_place_agrees_with_state"), transaction.atomic():
        set_device(new, state=S.SOLD, owner_id=w.acme.pk)


def test_a_new_device_is_never_in_the_sold_location(w, new):
    sold = w.virtual(Kind.SOLD)
    with refused("device_place_agrees_with_state"), transaction.atomic():
        set_device(new, location_id=sold.pk, location_kind=sold.kind)


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        (S.DISPATCHED, Kind.STORAGE),
        (S.RENTED, Kind.DISPATCHED),
        (S.WRITTEN_OFF, Kind.STORAGE),
        (S.BLOCKED, Kind.SOLD),
        (S.USED, Kind.RENTED),
    ],
)
def test_each_state_has_its_own_places(w, new, state, kind):
    """Dispatched devices are in the dispatched location, written-off ones in adjustment,
    the ones in hand in a real location: any other pairing is refused."""
    location = w.stock if kind == Kind.STORAGE else w.virtual(kind)
    # Out at a party (dispatched, rented) a device has a holder: give one, so only
    # the place is wrong.
    holder = {"holder_id": w.acme.pk} if state in (S.DISPATCHED, S.RENTED) else {}
    with refused("device_place_agrees_with_state"), transaction.atomic():
        set_device(new, state=state, location_id=location.pk, location_kind=kind, **holder)


def test_an_own_device_never_enters_the_warehouse(w):
    own = device_in_state(w, S.OWN, "OWN-1")
    with refused("device_place_agrees_with_state"), transaction.atomic():
        set_device(own, location_id=w.stock.pk, location_kind=Kind.STORAGE)


def test_a_device_in_hand_always_has_a_location(new):
    with refused("device_place_agrees_with_state"), transaction.atomic():
        set_device(new, location_id=None)


def test_the_copied_location_kind_must_be_the_locations(w, new):
    """A device claiming its storage location is a quarantine is refused by the composite
    foreign key (location, kind)."""
    with refused("device_location_kind_fk"), transaction.atomic():
        set_device(new, location_kind=Kind.QUARANTINE)


def test_a_location_holding_devices_cannot_change_its_kind(w, new):
    """Turning main/STOCK into a quarantine under its devices (and positions) is refused."""
    with refused("_location_kind_fk"), transaction.atomic():
        sql("UPDATE warehouse_location SET kind = 'quarantine' WHERE id = %s", w.stock.pk)


# --------------------------------------------------------------------------- status


def test_a_status_belongs_to_the_devices_state(new):
    awaiting = DeviceStatusFactory(state=S.USED, name="awaiting test")
    with refused("device_status_of_state_fk"), transaction.atomic():
        set_device(new, status_id=awaiting.pk)


def test_a_state_change_that_keeps_a_foreign_status_is_refused(w):
    """A Used "awaiting test" device turned Blocked behind the services' back, its status
    kept, is refused."""
    used = device_in_state(w, S.USED)
    awaiting = DeviceStatusFactory(state=S.USED, name="awaiting test")
    set_device(used, status_id=awaiting.pk)  # a status of its state: accepted

    with refused("device_status_of_state_fk"), transaction.atomic():
        set_device(used, state=S.BLOCKED)


# ------------------------------------------------------------------ owner, holder, reservation


def test_a_sold_device_has_an_owner(w):
    sold = device_in_state(w, S.SOLD)
    with refused("device_owner_agrees_with_state"), transaction.atomic():
        set_device(sold, owner_id=None)


def test_an_own_device_has_an_owner(w):
    own = device_in_state(w, S.OWN)
    with refused("device_owner_agrees_with_state"), transaction.atomic():
        set_device(own, owner_id=None)


def test_a_device_of_the_business_has_no_owner(w, new):
    with refused("device_owner_agrees_with_state"), transaction.atomic():
        set_device(new, owner_id=w.alice.pk)


def test_only_a_device_out_at_a_party_has_a_holder(w, new):
    with refused("device_holder_only_when_out"), transaction.atomic():
        set_device(new, holder_id=w.alice.pk)


def test_only_an_available_device_is_reserved(w):
    sold = device_in_state(w, S.SOLD)
    with refused("device_reserved_only_when_available"), transaction.atomic():
        set_device(sold, reserved_by="ORD-000001")


# --------------------------------------------------------------------------- identity


def test_a_serial_is_unique_within_its_product(w, new):
    with refused("device_serial_key_unique"), transaction.atomic():
        copy_device(new)


@pytest.mark.parametrize("twin", ["new-1", "NEW-1 ", "\uff2eEW-1", "NEW\u200b-1"])
def test_a_serial_in_another_case_or_form_is_the_same_serial(w, new, twin):
    assert new.serial == "NEW-1"
    with refused("device_serial_key_unique"), transaction.atomic():
        copy_device(new, serial=twin)


def test_the_same_serial_is_allowed_for_another_product(w, new):
    router = ProductFactory(sku="RTR-1", traceable=True)
    assert copy_device(new, product_id=router.pk) == 1


def test_an_electronic_id_is_unique_when_given(w, new):
    set_device(new, electronic_id="00:11:22:33:44:55")
    with refused("device_electronic_id_key_unique"), transaction.atomic():
        copy_device(new, serial="NEW-2")


def test_an_electronic_id_in_another_case_is_the_same_electronic_id(w, new):
    set_device(new, electronic_id="EID-DUP-1")
    with refused("device_electronic_id_key_unique"), transaction.atomic():
        copy_device(new, serial="NEW-2", electronic_id="eid-dup-1")


def test_many_devices_may_have_no_electronic_id(w, new):
    assert copy_device(new, serial="NEW-2") == 1
    assert copy_device(new, serial="NEW-3") == 1
    assert Device.objects.filter(electronic_id="").count() == 3


# --------------------------------------------------------------------------- history


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE devices_deviceevent SET reason = 'rewritten' WHERE id = %s",
        "DELETE FROM devices_deviceevent WHERE id = %s",
    ],
)
def test_device_history_is_append_only(w, new, statement):
    """No line of a device's history is ever changed or deleted."""
    transition(new, "block", reason="suspect")
    event = new.events.first()

    with refused("device history is append-only"), transaction.atomic():
        sql(statement, event.pk)

    assert DeviceEvent.objects.get(pk=event.pk).reason == "suspect"


def test_a_device_with_history_cannot_be_deleted(new):
    """Deleting a device would orphan its history and ledger lines: refused."""
    # Django's foreign keys are checked at commit: have them checked at once.
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    with refused("devices_deviceevent_device_id"), transaction.atomic():
        sql("DELETE FROM devices_device WHERE id = %s", new.pk)
