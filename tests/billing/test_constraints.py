"""PostgreSQL itself refuses billing rows the services would never write.

Documents are made through the services; each test then bypasses them with
raw SQL and expects an IntegrityError naming the guard. The savepoint
(`transaction.atomic()`) inside `pytest.raises` rolls the refused statement
back and keeps the test's transaction usable, so each test also shows the
row the guard does allow.
"""

import importlib
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from billing import services
from billing.models import Order, OrderLine, Rental
from devices import services as device_services
from tests.billing.factories import (
    devices_in,
    goods_in,
    invoice_create,
    order_create,
    rental,
    sale,
    shop_create,
)
from tests.warehouse.factories import ProductFactory
from warehouse.models import Reservation, WarehouseStock

pytestmark = pytest.mark.django_db


def sql(statement, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


@pytest.fixture
def shop():
    shop = shop_create()
    goods_in(shop.stock, shop.cable, 10)
    shop.m1, shop.m2 = devices_in(shop.stock, shop.modem, "M1", "M2")
    return shop


@pytest.fixture
def order(shop) -> Order:
    """Draft order: 5 m of cable (line 1), modem M1 named (line 2)."""
    return order_create(shop, sale(shop.cable, 5), sale(shop.modem, 1, device=shop.m1))


def line_of(order, position) -> OrderLine:
    return order.lines.get(position=position)


def line_in(shop, table, line):
    """The one line of a new draft order (billing_orderline) or invoice (billing_invoiceline)."""
    create = invoice_create if table == "billing_invoiceline" else order_create
    return create(shop, line).lines.get()


@pytest.mark.parametrize("table", ["billing_orderline", "billing_invoiceline"])
def test_a_document_line_of_no_quantity_is_refused(shop, table):
    line_id = line_in(shop, table, sale(shop.cable, 5)).pk
    guard = table.removeprefix("billing_")

    for quantity in ("0", "-1"):
        with (
            pytest.raises(IntegrityError, match=f"{guard}_quantity_positive"),
            transaction.atomic(),
        ):
            sql(f"UPDATE {table} SET quantity = %s WHERE id = %s", [quantity, line_id])
    assert sql(f"UPDATE {table} SET quantity = 0.001 WHERE id = %s", [line_id]) == 1


@pytest.mark.parametrize("table", ["billing_orderline", "billing_invoiceline"])
def test_a_negative_price_is_refused(shop, table):
    line_id = line_in(shop, table, sale(shop.cable, 5)).pk
    guard = table.removeprefix("billing_")

    with pytest.raises(IntegrityError, match=f"{guard}_price_not_negative"), transaction.atomic():
        sql(f"UPDATE {table} SET unit_price = -0.01 WHERE id = %s", [line_id])
    assert sql(f"UPDATE {table} SET unit_price = 0 WHERE id = %s", [line_id]) == 1  # a gift


@pytest.mark.parametrize("table", ["billing_orderline", "billing_invoiceline"])
def test_a_line_naming_a_device_is_for_one_unit(shop, table):
    line_id = line_in(shop, table, sale(shop.modem, 1, device=shop.m1)).pk
    guard = table.removeprefix("billing_")

    with pytest.raises(IntegrityError, match=f"{guard}_device_is_one_unit"), transaction.atomic():
        sql(f"UPDATE {table} SET quantity = 2 WHERE id = %s", [line_id])
    # Without a named device, two units is an any-device line.
    assert sql(f"UPDATE {table} SET quantity = 2, device_id = NULL WHERE id = %s", [line_id]) == 1


def test_a_credit_note_line_of_no_quantity_or_two_units_of_one_device_is_refused(shop):
    invoice = invoice_create(shop, sale(shop.cable, 5), sale(shop.modem, 1, device=shop.m1))
    services.invoice_post(invoice=invoice, actor=shop.clerk)
    lines = {line.product_id: line for line in invoice.lines.all()}
    note = services.creditnote_create(
        actor=shop.clerk,
        invoice=invoice,
        return_location=shop.stock,
        lines=[
            services.CreditLineInput(lines[shop.cable.pk], Decimal(2)),
            services.CreditLineInput(lines[shop.modem.pk], Decimal(1), shop.m1),
        ],
    )
    counted, device = note.lines.order_by("id")

    with (
        pytest.raises(IntegrityError, match="creditnoteline_quantity_positive"),
        transaction.atomic(),
    ):
        sql("UPDATE billing_creditnoteline SET quantity = 0 WHERE id = %s", [counted.pk])
    with (
        pytest.raises(IntegrityError, match="creditnoteline_device_is_one_unit"),
        transaction.atomic(),
    ):
        sql("UPDATE billing_creditnoteline SET quantity = 2 WHERE id = %s", [device.pk])


def test_a_device_is_rented_once_at_a_time(shop):
    order = order_create(shop, rental(shop.modem, device=shop.m1), rental(shop.modem))
    services.order_confirm(order=order, actor=shop.clerk)
    services.order_complete(order=order, actor=shop.clerk)
    first = Rental.objects.get(device=shop.m1)
    insert = """
        INSERT INTO billing_rental (started_at, device_id, order_line_id, party_id)
        VALUES (now(), %s, %s, %s)
    """

    with pytest.raises(IntegrityError, match="rental_one_open_per_device"), transaction.atomic():
        sql(insert, [shop.m1.pk, first.order_line_id, shop.alice.pk])

    services.rental_return(rental=first, location=shop.stock, actor=shop.clerk)
    # Back home, it may be rented again.
    assert sql(insert, [shop.m1.pk, first.order_line_id, shop.alice.pk]) == 1


def test_a_rental_cannot_end_before_it_started(shop):
    order = order_create(shop, rental(shop.modem, device=shop.m1))
    services.order_confirm(order=order, actor=shop.clerk)
    services.order_complete(order=order, actor=shop.clerk)
    rental_id = Rental.objects.get().pk

    with pytest.raises(IntegrityError, match="rental_returned_after_start"), transaction.atomic():
        sql(
            "UPDATE billing_rental SET returned_at = started_at - interval '1 day' WHERE id = %s",
            [rental_id],
        )
    assert sql("UPDATE billing_rental SET returned_at = started_at WHERE id = %s", [rental_id]) == 1


@pytest.mark.parametrize("table", ["billing_order", "billing_invoice"])
def test_two_documents_never_share_a_number(shop, table):
    create = invoice_create if table == "billing_invoice" else order_create
    first, second = create(shop), create(shop)

    with pytest.raises(IntegrityError, match=f"{table}_number"), transaction.atomic():
        sql(f"UPDATE {table} SET number = %s WHERE id = %s", [first.number, second.pk])


def test_a_document_line_holds_one_open_reservation_at_most(shop, order):
    services.order_confirm(order=order, actor=shop.clerk)
    held = Reservation.objects.get(line_id=line_of(order, 1).pk)
    copy = """
        INSERT INTO warehouse_reservation (product_id, warehouse_id, quantity, document_type,
            document_id, document_number, line_id, status, created_at)
        SELECT product_id, warehouse_id, quantity, document_type, document_id,
            document_number, line_id, %s, created_at
        FROM warehouse_reservation WHERE id = %s
    """

    with pytest.raises(IntegrityError, match="reservation_one_open_per_line"), transaction.atomic():
        sql(copy, ["open", held.pk])
    # Closed reservations of the line are its history: any number of them.
    assert sql(copy, ["released", held.pk]) == 1
    assert sql(copy, ["consumed", held.pk]) == 1


def test_nothing_is_reserved_beyond_storage_less_blocked_devices(shop, order):
    services.order_confirm(order=order, actor=shop.clerk)
    device_services.device_transition(device=shop.m2, action="block", actor=shop.clerk)
    cable = WarehouseStock.objects.get(product=shop.cable, warehouse=shop.warehouse)
    modem = WarehouseStock.objects.get(product=shop.modem, warehouse=shop.warehouse)
    assert (cable.in_storage, cable.reserved) == (10, 5)
    assert (modem.in_storage, modem.blocked, modem.reserved) == (2, 1, 1)
    update = "UPDATE warehouse_warehousestock SET reserved = %s WHERE id = %s"

    for row, too_much in ((cable, "10.001"), (modem, "2")):
        with (
            pytest.raises(IntegrityError, match="warehousestock_reserved_within_storage"),
            transaction.atomic(),
        ):
            sql(update, [too_much, row.pk])
    with (
        pytest.raises(IntegrityError, match="warehousestock_reserved_within_storage"),
        transaction.atomic(),
    ):
        sql(update, ["-1", cable.pk])
    assert sql(update, ["10", cable.pk]) == 1


# --------------------------------------------------------------------------- a line's device


@pytest.fixture
def phone(shop):
    """A unit of another traceable product than the modem."""
    product = ProductFactory(sku="PHN-1", name="Phone", traceable=True)
    (unit,) = devices_in(shop.stock, product, "P1")
    return unit


@pytest.mark.parametrize("table", ["billing_orderline", "billing_invoiceline"])
def test_a_line_naming_a_device_of_another_product_is_refused(shop, phone, table):
    """The invoice billed a modem while the ledger sold a phone: the database refuses the line."""
    line_id = line_in(shop, table, sale(shop.modem, 1, device=shop.m1)).pk
    guard = table.removeprefix("billing_")
    update = f"UPDATE {table} SET device_id = %s WHERE id = %s"

    with pytest.raises(IntegrityError, match=f"{guard}_device_product_fk"), transaction.atomic():
        sql(update, [phone.pk, line_id])
    assert sql(update, [shop.m2.pk, line_id]) == 1  # another modem: the same product
    # Nor does the line's product change under its device.
    with pytest.raises(IntegrityError, match=f"{guard}_device_product_fk"), transaction.atomic():
        sql(f"UPDATE {table} SET product_id = %s WHERE id = %s", [phone.product_id, line_id])


def test_a_device_named_by_a_line_stays_a_unit_of_its_product(shop, phone, order):
    with pytest.raises(IntegrityError, match="orderline_device_product_fk"), transaction.atomic():
        sql(
            "UPDATE devices_device SET product_id = %s WHERE id = %s",
            [phone.product_id, shop.m1.pk],
        )


def test_the_migration_names_the_lines_whose_device_is_of_another_product(shop, phone, order):
    """Rows from before the key: the migration lists them and stops rather than guess."""
    migration = importlib.import_module("billing.migrations.0006_line_device_product")
    line = line_of(order, 2)
    with transaction.atomic():
        sql("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks: the table may be altered
        sql("ALTER TABLE billing_orderline DROP CONSTRAINT orderline_device_product_fk")
        sql("UPDATE billing_orderline SET device_id = %s WHERE id = %s", [phone.pk, line.pk])

        with pytest.raises(RuntimeError) as stopped:
            migration.mismatched_lines_refuse(None, connection.schema_editor())
        transaction.set_rollback(True)  # the key and the line come back as they were

    assert f"{order.number} line 2: device #P1 is a PHN-1, the line is for MOD-1" in str(
        stopped.value
    )
    assert sql("SELECT 1 FROM billing_orderline WHERE device_id = %s", [phone.pk]) == 0
