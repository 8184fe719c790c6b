"""Clerks acting on devices at the same moment: real threads against PostgreSQL.

Each thread has its own connection and transaction. The device services lock
the product × warehouse balance rows first, then the device row, so two
clerks on one device queue (the second sees what the first did) and clerks
on different devices never deadlock. These tests commit for real.
"""

import pytest

from devices import services
from devices.exceptions import IllegalTransition
from devices.models import Device, DeviceEvent, State
from tests.devices.factories import balance, devices_in, reserve, world_create
from tests.race import run_together
from tests.warehouse.factories import (
    PartyFactory,
    WarehouseFactory,
    assert_positions_equal_the_ledger,
    storage_of,
)
from warehouse.exceptions import InsufficientStock
from warehouse.models import Movement

pytestmark = pytest.mark.django_db(transaction=True)


def transition_by_pk(pk, action, **kwargs):
    """A clerk's request: load the device afresh, as a view would, and act on it."""
    return lambda: services.device_transition(
        device=Device.objects.get(pk=pk), action=action, actor=None, **kwargs
    )


def test_one_device_dispatched_by_six_clerks_at_once_goes_to_one_party():
    """Six orders dispatch the same modem at the same moment: one wins; the other five are
    told it is already Dispatched. One history event, one ledger line."""
    w = world_create()
    (device,) = devices_in(w.stock, w.modem, "S1")
    parties = [PartyFactory(name=f"Customer {n}") for n in range(6)]

    outcomes = run_together(
        [
            transition_by_pk(device.pk, "dispatch", party=party, reference=f"ORD-{n}")
            for n, party in enumerate(parties)
        ]
    )

    won = [result for kind, result in outcomes if kind == "ok"]
    refused = [refusal for kind, refusal in outcomes if kind == "refused"]
    assert len(won) == 1
    assert len(refused) == 5
    for refusal in refused:
        assert isinstance(refusal, IllegalTransition)
        assert refusal.message == "MOD-1 #S1 is Dispatched: “dispatch” is not allowed."
    device.refresh_from_db()
    assert (device.state, device.holder) == (State.DISPATCHED, won[0].device.holder)
    assert DeviceEvent.objects.filter(device=device, action="dispatch").count() == 1
    assert Movement.objects.filter(action=Movement.Action.DISPATCH).count() == 1
    stock = balance(w.modem, w.warehouse)
    assert (stock.in_storage, stock.dispatched) == (0, 1)
    assert_positions_equal_the_ledger()


def test_six_clerks_blocking_devices_never_block_reserved_units():
    """Six modems in storage, three of them held by orders: six clerks each block a
    different modem at once. Exactly three are blocked, the others are refused as not
    available, and nothing deadlocks."""
    w = world_create()
    devices = devices_in(w.stock, w.modem, *[f"S{n}" for n in range(6)])
    reserve(w.modem, w.warehouse, 3)

    outcomes = run_together([transition_by_pk(d.pk, "block", reason="suspect") for d in devices])

    assert sorted(kind for kind, _ in outcomes) == ["ok"] * 3 + ["refused"] * 3
    assert all(isinstance(r, InsufficientStock) for kind, r in outcomes if kind == "refused")
    stock = balance(w.modem, w.warehouse)
    assert (stock.in_storage, stock.reserved, stock.blocked, stock.available) == (6, 3, 3, 0)
    assert Device.objects.filter(state=State.BLOCKED).count() == 3
    assert DeviceEvent.objects.filter(action="block").count() == 3


def test_clerks_moving_devices_between_two_warehouses_both_ways_do_not_deadlock():
    """Three clerks move modems main → north while three move others north → main: all
    six moves are booked, each warehouse counts its modems."""
    w = world_create()
    north = WarehouseFactory(code="north")
    southbound = devices_in(storage_of(north), w.modem, "N0", "N1", "N2")
    northbound = devices_in(w.stock, w.modem, "M0", "M1", "M2")

    outcomes = run_together(
        [transition_by_pk(d.pk, "move", location=storage_of(north)) for d in northbound]
        + [transition_by_pk(d.pk, "move", location=w.stock) for d in southbound]
    )

    assert [kind for kind, _ in outcomes] == ["ok"] * 6
    assert sorted(Device.objects.filter(location=w.stock).values_list("serial", flat=True)) == [
        "N0",
        "N1",
        "N2",
    ]
    assert (balance(w.modem, w.warehouse).in_storage, balance(w.modem, north).in_storage) == (3, 3)
    assert_positions_equal_the_ledger()


def test_one_serial_booked_in_two_cases_at_once_makes_one_device():
    """Two clerks book `abc1` and `ABC1` at the same moment: one device; the other clerk is
    told someone booked it meanwhile, and their booking leaves nothing behind."""
    w = world_create()

    outcomes = run_together([lambda s=s: devices_in(w.stock, w.modem, s) for s in ("abc1", "ABC1")])

    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["ok", "refused"]
    refusal = next(result for kind, result in outcomes if kind == "refused")
    assert "booked by someone else meanwhile" in refusal.message or "already has" in refusal.message
    assert Device.objects.filter(serial__identity="abc1").count() == 1
    assert Movement.objects.filter(product=w.modem).count() == 1
    assert_positions_equal_the_ledger()
