"""The database itself refuses what the services would never write.

Each test bypasses the services with raw SQL and expects PostgreSQL to raise
an IntegrityError naming the guard. The savepoint (`transaction.atomic()`)
inside `pytest.raises` rolls the refused statement back and keeps the test's
transaction usable afterwards.
"""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from tests.warehouse.factories import (
    LocationFactory,
    ProductFactory,
    WarehouseFactory,
    book_in,
    storage_of,
)
from warehouse import services
from warehouse.models import Location, Movement, StockPosition, WarehouseStock

pytestmark = pytest.mark.django_db

Kind = Location.Kind


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="main")


@pytest.fixture
def stock(warehouse):
    return storage_of(warehouse)


@pytest.fixture
def product():
    return ProductFactory(sku="BOLT-8")


@pytest.fixture
def booked(stock, product):
    """10 units booked into main/STOCK through the service: one movement."""
    [movement] = book_in(stock, product, 10, "2.00")
    return movement


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def insert_movement(*, product, source, destination, quantity, unit_cost="1.00"):
    return sql(
        """
        INSERT INTO warehouse_movement
            (product_id, quantity, source_id, destination_id, action, unit_cost,
             serial, supplier, reason, reference, created_at)
        VALUES (%s, %s, %s, %s, 'move', %s, '', '', '', '', now())
        """,
        [product.pk, Decimal(quantity), source.pk, destination.pk, Decimal(unit_cost)],
    )


# --------------------------------------------------------------------------- the ledger


def test_ledger_line_cannot_be_updated(booked):
    """A booked movement cannot be changed, not even its reason."""
    with pytest.raises(IntegrityError, match="append-only: UPDATE refused"), transaction.atomic():
        sql("UPDATE warehouse_movement SET reason = 'oops' WHERE id = %s", [booked.pk])

    booked.refresh_from_db()
    assert booked.reason == ""


def test_ledger_line_cannot_be_deleted(booked):
    """A booked movement cannot be deleted: a mistake is corrected by a new one."""
    with pytest.raises(IntegrityError, match="append-only: DELETE refused"), transaction.atomic():
        sql("DELETE FROM warehouse_movement WHERE id = %s", [booked.pk])

    assert Movement.objects.filter(pk=booked.pk).exists()


def test_ledger_cannot_be_changed_through_the_orm_either(booked):
    """The guard is in the database, so Django's queryset update is refused too."""
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Movement.objects.filter(pk=booked.pk).update(quantity=Decimal("1"))


def test_new_ledger_lines_are_still_accepted(warehouse, stock, product):
    """Appending a well-formed movement is allowed: the guard refuses changes only."""
    shelf = LocationFactory(warehouse=warehouse, code="SHELF")

    assert insert_movement(product=product, source=stock, destination=shelf, quantity="1") == 1


@pytest.mark.parametrize("quantity", ["0", "-1", "-0.001"])
def test_movement_of_no_or_negative_quantity_is_refused(stock, product, warehouse, quantity):
    """A movement always carries a positive quantity."""
    shelf = LocationFactory(warehouse=warehouse, code="SHELF")

    with pytest.raises(IntegrityError, match="movement_quantity_positive"), transaction.atomic():
        insert_movement(product=product, source=stock, destination=shelf, quantity=quantity)


def test_movement_from_a_location_to_itself_is_refused(stock, product):
    """A movement goes from one location to another."""
    with pytest.raises(IntegrityError, match="movement_distinct_locations"), transaction.atomic():
        insert_movement(product=product, source=stock, destination=stock, quantity="1")


def test_movement_at_a_negative_cost_is_refused(warehouse, stock, product):
    """No movement is valued below zero."""
    shelf = LocationFactory(warehouse=warehouse, code="SHELF")

    with (
        pytest.raises(IntegrityError, match="movement_unit_cost_not_negative"),
        transaction.atomic(),
    ):
        insert_movement(
            product=product, source=stock, destination=shelf, quantity="1", unit_cost="-1"
        )


# --------------------------------------------------------------------------- positions


@pytest.mark.parametrize("kind", [Kind.STORAGE, Kind.INCOMING, Kind.QUARANTINE])
def test_real_location_never_holds_a_negative_quantity(warehouse, stock, product, kind):
    """Storage, incoming and quarantine positions cannot go below zero."""
    book_in(stock, product, 3)
    location = stock
    if kind == Kind.INCOMING:
        location = LocationFactory(warehouse=warehouse, code="IN", kind=kind)
        book_in(location, product, 3)
    elif kind == Kind.QUARANTINE:
        location = LocationFactory(warehouse=warehouse, code="QUAR", kind=kind)
        services.stock_isolate(
            actor=None,
            product=product,
            location=stock,
            quarantine=location,
            quantity=Decimal(3),
            reason="dented",
        )
    assert StockPosition.objects.get(product=product, location=location).quantity == 3

    with pytest.raises(IntegrityError, match="stockposition_not_negative"), transaction.atomic():
        sql(
            "UPDATE warehouse_stockposition SET quantity = -1 "
            "WHERE product_id = %s AND location_id = %s",
            [product.pk, location.pk],
        )


@pytest.mark.parametrize("kind", [Kind.SUPPLIER, Kind.ADJUSTMENT])
def test_supplier_and_adjustment_positions_may_go_negative(warehouse, stock, product, kind):
    """Goods come from the supplier and the adjustment location without having been there."""
    book_in(stock, product, 10)
    services.stock_adjust(
        actor=None, product=product, location=stock, counted=Decimal(12), reason="found"
    )
    virtual = services.virtual_location(warehouse=warehouse, kind=kind)
    position = StockPosition.objects.get(product=product, location=virtual)
    assert position.quantity < 0

    changed = sql(
        "UPDATE warehouse_stockposition SET quantity = quantity - 5 WHERE id = %s",
        [position.pk],
    )

    assert changed == 1


def test_position_cannot_claim_another_kind_than_its_location(stock, product, booked):
    """A storage position cannot pose as a supplier one to escape the not-negative check."""
    with (
        pytest.raises(IntegrityError, match="stockposition_location_kind_fk"),
        transaction.atomic(),
    ):
        sql(
            "UPDATE warehouse_stockposition SET location_kind = 'supplier' "
            "WHERE product_id = %s AND location_id = %s",
            [product.pk, stock.pk],
        )


def test_new_position_must_copy_its_location_kind(warehouse, stock):
    """A position written with a kind its location does not have is refused."""
    other = ProductFactory(sku="NUT-8")

    with (
        pytest.raises(IntegrityError, match="stockposition_location_kind_fk"),
        transaction.atomic(),
    ):
        sql(
            "INSERT INTO warehouse_stockposition "
            "(product_id, location_id, location_kind, warehouse_id, quantity) "
            "VALUES (%s, %s, 'adjustment', %s, -4)",
            [other.pk, stock.pk, warehouse.pk],
        )


def test_location_holding_stock_cannot_change_kind(stock, booked):
    """Turning a stocked shelf into a quarantine would leave its positions wrong: refused."""
    with (
        pytest.raises(IntegrityError, match="stockposition_location_kind_fk"),
        transaction.atomic(),
    ):
        sql("UPDATE warehouse_location SET kind = 'quarantine' WHERE id = %s", [stock.pk])


def test_location_that_never_held_stock_may_change_kind(warehouse):
    """A shelf without positions can still be turned into a quarantine."""
    shelf = LocationFactory(warehouse=warehouse, code="SHELF")

    assert sql("UPDATE warehouse_location SET kind = 'quarantine' WHERE id = %s", [shelf.pk]) == 1


# --------------------------------------------------------------------------- warehouse balances


def test_reserved_above_storage_stock_is_refused(warehouse, product, booked):
    """No more can be reserved than is in storage (10 here)."""
    with (
        pytest.raises(IntegrityError, match="warehousestock_reserved_within_storage"),
        transaction.atomic(),
    ):
        WarehouseStock.objects.filter(product=product, warehouse=warehouse).update(
            reserved=Decimal(11)
        )


def test_reserved_up_to_storage_stock_is_accepted(warehouse, product, booked):
    """Reserving all 10 in storage is allowed."""
    changed = sql(
        "UPDATE warehouse_warehousestock SET reserved = in_storage "
        "WHERE product_id = %s AND warehouse_id = %s",
        [product.pk, warehouse.pk],
    )

    assert changed == 1


def test_negative_reservation_is_refused(warehouse, product, booked):
    """A reservation is never below zero."""
    with (
        pytest.raises(IntegrityError, match="warehousestock_reserved_within_storage"),
        transaction.atomic(),
    ):
        sql(
            "UPDATE warehouse_warehousestock SET reserved = -1 WHERE product_id = %s",
            [product.pk],
        )


def test_storage_stock_above_stock_in_hand_is_refused(warehouse, product, booked):
    """Storage is part of what is in hand, never more."""
    with (
        pytest.raises(IntegrityError, match="warehousestock_in_hand_not_negative"),
        transaction.atomic(),
    ):
        sql(
            "UPDATE warehouse_warehousestock SET in_storage = in_hand + 1 "
            "WHERE product_id = %s AND warehouse_id = %s",
            [product.pk, warehouse.pk],
        )


def test_negative_storage_stock_is_refused(warehouse, product, booked):
    """A warehouse never holds a negative quantity in storage."""
    with (
        pytest.raises(IntegrityError, match="warehousestock_in_hand_not_negative"),
        transaction.atomic(),
    ):
        sql(
            "UPDATE warehouse_warehousestock SET in_storage = -1, in_hand = -1 "
            "WHERE product_id = %s",
            [product.pk],
        )


@pytest.mark.parametrize("column", ["dispatched", "rented"])
def test_negative_dispatched_or_rented_is_refused(warehouse, product, booked, column):
    """Goods at a party are never below zero."""
    with (
        pytest.raises(IntegrityError, match="warehousestock_out_not_negative"),
        transaction.atomic(),
    ):
        sql(
            f"UPDATE warehouse_warehousestock SET {column} = -1 WHERE product_id = %s",
            [product.pk],
        )


def test_negative_average_cost_is_refused(warehouse, product, booked):
    """The average cost is never below zero."""
    with (
        pytest.raises(IntegrityError, match="warehousestock_average_cost_not_negative"),
        transaction.atomic(),
    ):
        sql(
            "UPDATE warehouse_warehousestock SET average_cost = -0.0001 WHERE product_id = %s",
            [product.pk],
        )


# --------------------------------------------------------------------------- products


def test_traceable_product_is_counted_in_pieces():
    """A traceable product cannot be sold by the metre."""
    product = ProductFactory(sku="MOD-1", traceable=True)

    with (
        pytest.raises(IntegrityError, match="product_traceable_counted_in_pieces"),
        transaction.atomic(),
    ):
        sql("UPDATE warehouse_product SET unit = 'm' WHERE id = %s", [product.pk])


# --------------------------------------------------------------------------- locations


def test_a_virtual_location_keeps_its_kind(warehouse):
    """~INSTALLED turned into storage made assembling fail: the database refuses it."""
    installed = Location.objects.get(warehouse=warehouse, kind=Kind.INSTALLED)
    update = "UPDATE warehouse_location SET kind = %s WHERE id = %s"

    for kind in ("storage", "sold"):
        with pytest.raises(IntegrityError, match="location_kind_guard"), transaction.atomic():
            sql(update, [kind, installed.pk])
    # Its name is no rule of the books.
    assert sql("UPDATE warehouse_location SET name = 'Inside' WHERE id = %s", [installed.pk]) == 1
    installed.refresh_from_db()
    assert installed.kind == Kind.INSTALLED


def test_a_real_location_never_becomes_virtual(warehouse):
    shelf = LocationFactory(warehouse=warehouse, code="A-01")
    update = "UPDATE warehouse_location SET kind = %s WHERE id = %s"

    with pytest.raises(IntegrityError, match="location_kind_guard"), transaction.atomic():
        sql(update, ["dispatched", shelf.pk])
    # Empty, it may still become another real kind.
    assert sql(update, ["quarantine", shelf.pk]) == 1


def test_a_location_that_held_stock_keeps_its_kind(stock, booked):
    with (
        pytest.raises(IntegrityError, match="stockposition_location_kind_fk"),
        transaction.atomic(),
    ):
        sql("UPDATE warehouse_location SET kind = 'quarantine' WHERE id = %s", [stock.pk])
