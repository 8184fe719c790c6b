"""The admin follows the same rules as the pages: a superuser cannot bend the books there.

`admin_client` is pytest-django's logged-in superuser.
"""

from decimal import Decimal

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from tests.warehouse.factories import (
    LocationFactory,
    ProductFactory,
    WarehouseFactory,
    book_in,
    storage_of,
)
from warehouse import services
from warehouse.models import (
    CostLayer,
    IncomingPackage,
    Location,
    Movement,
    StockPosition,
    WarehouseStock,
)

pytestmark = pytest.mark.django_db

Kind = Location.Kind
SAVE = 'name="_save"'


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="main", name="Main warehouse")


@pytest.fixture
def installed(warehouse):
    return Location.objects.get(warehouse=warehouse, kind=Kind.INSTALLED)


@pytest.fixture
def shelf(warehouse):
    return LocationFactory(warehouse=warehouse, code="A-01", name="Shelf A")


def location_post(location, **changes):
    data = {
        "warehouse": location.warehouse_id,
        "code": location.code,
        "name": location.name,
        "kind": location.kind,
        "active": "on",
    }
    return {**data, **changes}


def change_url(obj) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


# --------------------------------------------------------------------------- locations


def test_a_virtual_location_is_shown_in_the_admin_but_cannot_be_changed(admin_client, installed):
    """~INSTALLED turned into storage broke assembling: the admin no longer offers it."""
    page = admin_client.get(change_url(installed))
    assert page.status_code == 200
    assertNotContains(page, SAVE)
    assertNotContains(page, 'name="kind"')

    response = admin_client.post(change_url(installed), location_post(installed, kind="storage"))

    assert response.status_code == 403
    installed.refresh_from_db()
    assert installed.kind == Kind.INSTALLED


def test_a_virtual_location_cannot_be_deleted_in_the_admin(admin_client, installed):
    url = reverse("admin:warehouse_location_delete", args=[installed.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Location.objects.filter(pk=installed.pk).exists()


def test_a_real_location_cannot_become_virtual_in_the_admin(admin_client, shelf):
    response = admin_client.post(change_url(shelf), location_post(shelf, kind="installed"))

    assert response.status_code == 200
    assertContains(response, "Select a valid choice.")
    shelf.refresh_from_db()
    assert shelf.kind == Kind.STORAGE


def test_the_admin_does_not_offer_the_kind_of_a_location_that_held_stock(admin_client, shelf):
    book_in(shelf, ProductFactory(sku="BOLT-1"), 3)

    page = admin_client.get(change_url(shelf))
    assertNotContains(page, 'name="kind"')
    response = admin_client.post(change_url(shelf), location_post(shelf, kind="quarantine"))

    assert response.status_code == 302
    shelf.refresh_from_db()
    assert shelf.kind == Kind.STORAGE


def test_an_empty_real_location_changes_kind_in_the_admin(admin_client, shelf):
    response = admin_client.post(change_url(shelf), location_post(shelf, kind="quarantine"))

    assert response.status_code == 302
    shelf.refresh_from_db()
    assert shelf.kind == Kind.QUARANTINE


def test_the_admin_keeps_tilde_codes_for_virtual_locations(admin_client, warehouse):
    url = reverse("admin:warehouse_location_add")
    response = admin_client.post(
        url, {"warehouse": warehouse.pk, "code": "~SOLD2", "name": "Sneaky", "kind": "storage"}
    )

    assert response.status_code == 200
    assertContains(response, "Codes starting with ~ are kept for virtual locations.")
    assert not Location.objects.filter(code="~SOLD2").exists()


def test_a_warehouse_in_the_admin_lists_and_offers_its_real_locations_only(
    admin_client, warehouse, shelf
):
    page = admin_client.get(change_url(warehouse))

    assert page.status_code == 200
    assertContains(page, 'value="A-01"')
    assertNotContains(page, 'value="~INSTALLED"')
    assertNotContains(page, '<option value="installed"')


# --------------------------------------------------------------------------- what services write


@pytest.fixture
def books(warehouse):
    """One incoming package put away, so every kind of row a service writes exists."""
    stock = storage_of(warehouse)
    dock = LocationFactory(warehouse=warehouse, code="DOCK", kind=Kind.INCOMING)
    product = ProductFactory(sku="BOLT-1")
    services.stock_in(
        actor=None,
        location=dock,
        lines=[
            services.StockInLine(
                product=product,
                quantity=Decimal(4),
                unit_cost=None,
                package_number="P1",
                package_price=Decimal("8.00"),
            )
        ],
    )
    book_in(stock, product, 2)
    return product


@pytest.mark.parametrize(
    "model", [Movement, StockPosition, WarehouseStock, IncomingPackage, CostLayer]
)
def test_what_the_services_write_is_viewed_in_the_admin_never_changed(admin_client, books, model):
    meta = model._meta
    row = model.objects.first()
    changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")

    assert admin_client.get(changelist, {"q": "BOLT"}).status_code == 200
    page = admin_client.get(change_url(row))
    assert page.status_code == 200
    assertNotContains(page, SAVE)
    add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
    assert admin_client.get(add).status_code == 403
    delete = reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[row.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()
