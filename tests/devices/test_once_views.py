"""Every dialog of the device page, posted twice (a double click, a reload), books once.

The second post answers where the first went with "Already done: …", even
where the device's new state would now refuse the action (a blocked device
cannot be blocked again).
"""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from devices import services
from devices.models import Characteristic, State
from tests.devices.factories import CharacteristicFactory, DeviceStatusFactory
from tests.once import Post, assert_posted_twice_booked_once, world_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(db):
    return world_create()


@pytest.fixture
def boss_client(w):
    client = Client()
    client.force_login(w.boss)
    return client


def _device(w, action, *, state_change=None, **kwargs):
    device = w.modems[0]
    if state_change:
        device = services.device_transition(device=device, actor=w.boss, **state_change).device
    return Post(reverse(f"devices:device_{action}", args=[device.pk]), kwargs)


def _own(w):
    return services.device_register_own(
        actor=w.boss, product=w.modem, serial="OWN-1", party=w.alice
    )


def _with_part(w):
    device = w.modems[0]
    services.device_assemble(
        device=device, part=w.cable, quantity=Decimal(2), source=w.stock, actor=w.boss
    )
    return device


DEVICE_CASES = {
    "block": lambda w: _device(w, "block", status="", reason="test"),
    "unblock": lambda w: _device(w, "unblock", state_change={"action": "block"}, reason="ok"),
    "move": lambda w: _device(w, "move", location=str(w.shelf), reason=""),
    "write off": lambda w: _device(w, "write_off", reason="lost"),
    "found again": lambda w: _device(
        w,
        "found",
        state_change={"action": "write_off", "reason": "lost"},
        location=str(w.stock),
        reason="behind the rack",
    ),
    "set status": lambda w: _device(
        w, "status", status=DeviceStatusFactory(state=State.NEW).pk, reason=""
    ),
    "edit details": lambda w: _device(w, "details", electronic_id="AA:BB:CC", reason=""),
    "assemble": lambda w: _device(
        w, "assemble", part=w.cable.sku, quantity="1", source=str(w.stock), reason=""
    ),
    "disassemble": lambda w: Post(
        reverse("devices:device_disassemble", args=[_with_part(w).pk]),
        {"part": w.cable.pk, "quantity": "1", "destination": str(w.stock), "reason": ""},
    ),
    "transfer": lambda w: Post(
        reverse("devices:device_transfer", args=[_own(w).pk]), {"party": "Bob", "reason": "resold"}
    ),
    "register own device": lambda w: Post(
        reverse("devices:device_register"),
        {"product": w.modem.sku, "serial": "OWN-2", "party": "Alice", "reason": ""},
    ),
    "new status": lambda w: Post(
        reverse("devices:status_create"), {"name": "awaiting test", "state": State.USED}
    ),
    "edit status": lambda w: Post(
        reverse("devices:status_edit", args=[DeviceStatusFactory(state=State.USED).pk]),
        {"name": "renamed", "state": State.USED, "active": "on"},
    ),
    "new characteristic": lambda w: Post(
        reverse("devices:characteristic_create", args=[w.modem.pk]),
        {"name": "colour", "type": Characteristic.Type.TEXT},
    ),
    "edit characteristic": lambda w: Post(
        reverse(
            "devices:characteristic_edit",
            args=[w.modem.pk, CharacteristicFactory(product=w.modem, name="size").pk],
        ),
        {"name": "size", "type": Characteristic.Type.TEXT, "required": "on"},
    ),
}


@pytest.mark.parametrize("case", DEVICE_CASES.values(), ids=DEVICE_CASES.keys())
def test_each_device_page_posted_twice_books_once(boss_client, w, case):
    assert_posted_twice_booked_once(boss_client, w, case)
