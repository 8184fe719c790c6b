"""Minimum and maximum per product and warehouse: the maximum guards bookings, the minimum warns."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from devices import stock_booking
from tests.warehouse.factories import (
    LocationFactory,
    ProductFactory,
    WarehouseFactory,
    book_in,
    ledger_snapshot,
    storage_of,
)
from warehouse import selectors, services
from warehouse.exceptions import AboveMaximum, InvalidQuantity, WarehouseError
from warehouse.models import CostLayer, Location, StockConstraint

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="main", name="Main warehouse")


@pytest.fixture
def stock(warehouse):
    return storage_of(warehouse)


@pytest.fixture
def north():
    return WarehouseFactory(code="north", name="North depot")


@pytest.fixture
def bolt():
    return ProductFactory(sku="BOLT-1", name="Bolt")


def levels(product, warehouse, minimum, maximum=None, hard=False):
    return services.constraint_set(
        product=product,
        warehouse=warehouse,
        minimum=D(str(minimum)),
        maximum=None if maximum is None else D(str(maximum)),
        hard=hard,
    )


def snapshot():
    return ledger_snapshot(), list(CostLayer.objects.order_by("id").values())


# --------------------------------------------------------------------------- constraint_set


def test_constraint_set_creates_then_replaces_the_levels(warehouse, bolt):
    levels(bolt, warehouse, 5, 20)
    levels(bolt, warehouse, 2, 8, hard=True)

    constraint = StockConstraint.objects.get(product=bolt, warehouse=warehouse)
    assert (constraint.minimum, constraint.maximum, constraint.hard) == (D(2), D(8), True)


def test_constraint_set_refuses_a_maximum_below_the_minimum(warehouse, bolt):
    with pytest.raises(WarehouseError, match="The maximum cannot be below the minimum."):
        levels(bolt, warehouse, 10, 5)
    assert not StockConstraint.objects.exists()


def test_constraint_set_refuses_a_negative_minimum(warehouse, bolt):
    with pytest.raises(InvalidQuantity, match="The minimum cannot be negative."):
        levels(bolt, warehouse, -1)


def test_a_constraint_without_maximum_has_no_ceiling(warehouse, stock, bolt):
    levels(bolt, warehouse, 5)

    book_in(stock, bolt, 1000)

    assert StockConstraint.objects.get().maximum is None


# --------------------------------------------------------------------------- the maximum


def test_a_stock_in_above_a_soft_maximum_asks_for_confirmation(warehouse, stock, bolt):
    """8 in hand, maximum 10: booking 5 more is refused until allowed, then booked."""
    levels(bolt, warehouse, 0, 10)
    book_in(stock, bolt, 8)
    before = snapshot()

    with pytest.raises(AboveMaximum) as refused:
        book_in(stock, bolt, 5)

    assert refused.value.hard is False
    assert refused.value.message == (
        "BOLT-1 in Main warehouse would hold 13, above its maximum of 10. Confirm to book anyway."
    )
    assert [(p.sku, w.code, m, h) for p, w, m, h in refused.value.excesses] == [
        ("BOLT-1", "main", D(10), D(13))
    ]
    assert snapshot() == before

    book_in(stock, bolt, 5, allow_over_maximum=True)
    assert selectors.stock_balance_list(warehouse=warehouse).get(pk=bolt.pk).in_hand == 13


def test_a_stock_in_above_a_hard_maximum_is_refused_even_when_allowed(warehouse, stock, bolt):
    levels(bolt, warehouse, 0, 10, hard=True)
    book_in(stock, bolt, 8)
    before = snapshot()

    with pytest.raises(AboveMaximum, match="Refused: the maximum is hard.") as refused:
        book_in(stock, bolt, 5, allow_over_maximum=True)

    assert refused.value.hard is True
    assert snapshot() == before


def test_a_stock_in_up_to_the_maximum_is_booked(warehouse, stock, bolt):
    levels(bolt, warehouse, 0, 10, hard=True)

    book_in(stock, bolt, 10)

    assert selectors.stock_balance_list(warehouse=warehouse).get(pk=bolt.pk).in_hand == 10


def test_a_traceable_stock_in_above_the_maximum_creates_no_device(warehouse, stock):
    router = ProductFactory(sku="RTR-1", traceable=True)
    levels(router, warehouse, 0, 1, hard=True)
    before = snapshot()

    with pytest.raises(AboveMaximum):
        stock_booking.stock_in(
            actor=None,
            location=stock,
            lines=[
                services.StockInLine(
                    product=router, quantity=D(2), unit_cost=D(10), serials=("R-1", "R-2")
                )
            ],
        )

    assert snapshot() == before
    assert not router.devices.exists()


def test_a_move_to_another_warehouse_above_its_maximum_is_guarded(warehouse, north, stock, bolt):
    """North allows 5: moving 6 there is refused (soft: until confirmed), nothing moves."""
    book_in(stock, bolt, 20)
    levels(bolt, north, 0, 5)
    before = snapshot()

    def move(**kwargs):
        return stock_booking.stock_move(
            actor=None,
            product=bolt,
            source=stock,
            destination=storage_of(north),
            quantity=D(6),
            **kwargs,
        )

    with pytest.raises(AboveMaximum, match="BOLT-1 in North depot would hold 6"):
        move()
    assert snapshot() == before

    levels(bolt, north, 0, 5, hard=True)
    with pytest.raises(AboveMaximum, match="Refused"):
        move(allow_over_maximum=True)
    assert snapshot() == before

    levels(bolt, north, 0, 5)
    move(allow_over_maximum=True)
    assert selectors.stock_balance_list(warehouse=north).get(pk=bolt.pk).in_hand == 6


def test_a_move_within_a_warehouse_ignores_its_maximum(warehouse, stock, bolt):
    """Stock in hand does not change when goods move from shelf to shelf."""
    book_in(stock, bolt, 20)
    levels(bolt, warehouse, 0, 5, hard=True)
    shelf = LocationFactory(warehouse=warehouse, code="SHELF")

    stock_booking.stock_move(
        actor=None, product=bolt, source=stock, destination=shelf, quantity=D(20)
    )

    assert selectors.stock_balance_list(warehouse=warehouse).get(pk=bolt.pk).in_hand == 20


# --------------------------------------------------------------------------- the minimum


def test_the_low_stock_list_orders_up_to_the_maximum(warehouse, north, stock, bolt):
    """3 in hand, minimum 5, maximum 12: reorder 9. Without a maximum: up to the minimum."""
    nut = ProductFactory(sku="NUT-1")
    washer = ProductFactory(sku="WSH-1")
    book_in(stock, bolt, 3)
    book_in(stock, washer, 7)
    levels(bolt, warehouse, 5, 12)
    levels(nut, warehouse, 4)  # none in hand, no maximum
    levels(washer, warehouse, 5, 10)  # 7 in hand: not low
    levels(bolt, north, 1)  # none in north

    rows = [
        (c.warehouse.code, c.product.sku, c.in_hand, c.minimum, c.maximum, c.reorder)
        for c in selectors.low_stock_list()
    ]

    assert rows == [
        ("main", "BOLT-1", D(3), D(5), D(12), D(9)),
        ("main", "NUT-1", D(0), D(4), None, D(4)),
        ("north", "BOLT-1", D(0), D(1), None, D(1)),
    ]
    assert selectors.low_stock_count() == 3
    assert [c.product.sku for c in selectors.low_stock_list(warehouse=north)] == ["BOLT-1"]


def test_goods_in_incoming_and_quarantine_count_in_hand_against_the_minimum(warehouse, bolt):
    dock = LocationFactory(warehouse=warehouse, code="IN", kind=Location.Kind.INCOMING)
    levels(bolt, warehouse, 5)
    book_in(dock, bolt, 5)

    assert selectors.low_stock_count() == 0


def test_the_balance_marks_products_below_their_minimum(warehouse, north, stock, bolt):
    nut = ProductFactory(sku="NUT-1")
    book_in(stock, bolt, 3)
    book_in(stock, nut, 9)
    levels(bolt, warehouse, 5)
    levels(nut, warehouse, 5)

    main = {p.sku: p.below_minimum for p in selectors.stock_balance_list(warehouse=warehouse)}
    everywhere = {p.sku: p.below_minimum for p in selectors.stock_balance_list()}
    elsewhere = {p.sku: p.below_minimum for p in selectors.stock_balance_list(warehouse=north)}

    assert main == {"BOLT-1": True, "NUT-1": False}
    assert everywhere == {"BOLT-1": True, "NUT-1": False}
    assert elsewhere == {"BOLT-1": False, "NUT-1": False}


# --------------------------------------------------------------------------- the alert on the pages


def test_the_navigation_counts_the_products_below_minimum_in_one_query(
    staff_client, warehouse, stock, bolt
):
    nut = ProductFactory(sku="NUT-1")
    levels(bolt, warehouse, 5)
    levels(nut, warehouse, 5)

    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(reverse("warehouse:product_list"))

    badge = re.search(
        r'<a class="nav-badge" id="low-stock-count" href="([^"]+)"[^>]*>(\d+)</a>',
        response.content.decode(),
    )
    assert badge, "no low-stock badge in the navigation"
    assert badge.groups() == (reverse("warehouse:low_stock"), "2")
    counts = [q["sql"] for q in queries if "warehouse_stockconstraint" in q["sql"]]
    assert len(counts) == 1
    assert counts[0].startswith("SELECT COUNT(")


def test_the_navigation_shows_no_badge_when_nothing_is_low(staff_client, warehouse, stock, bolt):
    book_in(stock, bolt, 9)
    levels(bolt, warehouse, 5)

    response = staff_client.get(reverse("warehouse:product_list"))

    assertNotContains(response, 'id="low-stock-count"')


def test_the_navigation_count_is_not_shown_to_users_who_cannot_read_stock(client, warehouse, bolt):
    """A user without the stock permission gets no count (and no query for it)."""
    from tests.warehouse.factories import UserFactory

    levels(bolt, warehouse, 5)
    client.force_login(UserFactory(username="nobody"))

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("login"))

    assertNotContains(response, "nav-badge")
    assert not [q for q in queries if "warehouse_stockconstraint" in q["sql"]]


def test_the_balance_row_shows_a_below_minimum_badge(staff_client, warehouse, stock, bolt):
    nut = ProductFactory(sku="NUT-1")
    book_in(stock, bolt, 3)
    book_in(stock, nut, 9)
    levels(bolt, warehouse, 5)
    levels(nut, warehouse, 5)

    response = staff_client.get(reverse("warehouse:balance"), {"warehouse": warehouse.pk})

    html = response.content.decode()
    bolt_row = re.search(r'<tr data-sku="BOLT-1"[^>]*>(.*?)</tr>', html, re.S)[1]
    nut_row = re.search(r'<tr data-sku="NUT-1"[^>]*>(.*?)</tr>', html, re.S)[1]
    assert '<span class="badge danger">below minimum</span>' in bolt_row
    assert "below minimum" not in nut_row
    assertContains(response, '<span class="badge danger">below minimum</span>', count=1)
