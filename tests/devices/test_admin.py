"""Devices in the admin: descriptive fields through the services; state, place and owner never.

`device_transition` owns a device's state, place, owner and holder: the
admin shows them and offers no field for them. `admin_client` is
pytest-django's logged-in superuser.
"""

from decimal import Decimal

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from devices import services
from devices.models import Device, DeviceEvent, InstalledPart, State
from tests.devices.factories import device_in_state, world_create
from tests.warehouse.factories import ProductFactory, book_in

pytestmark = pytest.mark.django_db

SAVE = 'name="_save"'
OWNED_BY_SERVICES = ["product", "serial", "state", "owner", "holder", "location", "reserved_by"]


@pytest.fixture
def w():
    return world_create()


def url(obj, view="change") -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])


def admin_post(device, **changes) -> dict:
    data = {
        "electronic_id": device.electronic_id,
        "status": "",
        "spot": device.spot,
        "latitude": "",
        "longitude": "",
        "characteristics": "{}",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
        "parts-TOTAL_FORMS": "0",
        "parts-INITIAL_FORMS": "0",
    }
    return {**data, **changes}


@pytest.mark.parametrize("state", [State.NEW, State.SOLD, State.RENTED])
def test_the_admin_offers_no_field_for_a_devices_state_place_owner_or_holder(
    admin_client, w, state
):
    device = device_in_state(w, state)

    page = admin_client.get(url(device))

    assert page.status_code == 200
    assertContains(page, 'name="spot"')
    for name in OWNED_BY_SERVICES:
        assertNotContains(page, f'name="{name}"')


def test_a_device_posted_with_another_place_and_owner_keeps_them(admin_client, w):
    device = device_in_state(w, State.SOLD)
    before = Device.objects.filter(pk=device.pk).values(*OWNED_BY_SERVICES, "location_kind").get()

    response = admin_client.post(
        url(device),
        admin_post(
            device,
            spot="Counter",
            state="new",
            owner=w.bob.pk,
            holder=w.alice.pk,
            location=w.stock.pk,
            product=ProductFactory(sku="PHN-1", traceable=True).pk,
            reserved_by="ORD-1",
        ),
    )

    assert response.status_code == 302
    after = Device.objects.filter(pk=device.pk).values(*OWNED_BY_SERVICES, "location_kind").get()
    assert after == before
    assert Device.objects.get(pk=device.pk).spot == "Counter"


def test_devices_are_not_deleted_in_the_admin(admin_client, w):
    device = device_in_state(w, State.NEW)
    assert admin_client.post(url(device, "delete"), {"post": "yes"}).status_code == 403
    assert Device.objects.filter(pk=device.pk).exists()


def test_a_devices_history_and_parts_are_shown_never_changed(admin_client, w):
    device = device_in_state(w, State.NEW)
    cable = ProductFactory(sku="CAB-1")
    book_in(w.stock, cable, 5)
    services.device_assemble(
        device=device, part=cable, quantity=Decimal(2), source=w.stock, actor=None
    )
    event = DeviceEvent.objects.filter(device=device).first()
    part = InstalledPart.objects.get(device=device)

    for row in (event, part):
        page = admin_client.get(url(row))
        assert page.status_code == 200
        assertNotContains(page, SAVE)
        assert admin_client.post(url(row), {"reason": "edited"}).status_code == 403
        assert admin_client.post(url(row, "delete"), {"post": "yes"}).status_code == 403
    assert DeviceEvent.objects.filter(pk=event.pk, reason=event.reason).exists()
    assert InstalledPart.objects.get(pk=part.pk).quantity == 2
