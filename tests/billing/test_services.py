"""The life of each billing document, step by step, checked against the books.

Every step goes through `billing.services` as a clerk would take it. After
each one the books must agree (`books_check`): open reservations add up to
the reserved column, positions to the ledger, balances to the positions.
Each stock effect is read from the ledger (the movements that carry the
document's number) and from the balance a clerk sees: reserved, available
(storage − reserved − blocked), dispatched, rented, ownership.
"""

import datetime as dt
import inspect
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from billing import services
from billing.exceptions import BillingError, DocumentStateError, InvalidLine
from billing.models import CreditNote, Invoice, Order, OrderLine, Rental
from devices import services as device_services
from devices import stock_booking
from devices.exceptions import IllegalTransition
from devices.models import Device, State
from tests.billing.factories import (
    Shop,
    balance,
    books_check,
    devices_in,
    goods_in,
    invoice_create,
    ledger,
    order_create,
    position,
    rental,
    sale,
    shop_create,
    snapshot,
)
from tests.warehouse.factories import ProductFactory, WarehouseFactory, ledger_snapshot, storage_of
from warehouse.exceptions import InsufficientStock, ReservationRefused
from warehouse.models import Location, Movement, Reservation

pytestmark = pytest.mark.django_db

D = Decimal
Kind = Location.Kind
A = Movement.Action
DISPATCHED, SOLD, RENTED = "~DISPATCHED", "~SOLD", "~RENTED"
OPEN, CONSUMED, RELEASED = (
    Reservation.Status.OPEN,
    Reservation.Status.CONSUMED,
    Reservation.Status.RELEASED,
)


@pytest.fixture
def shop() -> Shop:
    return shop_create()


@pytest.fixture
def step(shop):
    """Take one step through a service as the clerk, then check the books."""

    def run(service, /, **kwargs):
        if "actor" in inspect.signature(service).parameters:
            kwargs.setdefault("actor", shop.clerk)
        result = service(**kwargs)
        books_check()
        return result

    return run


def fresh(instance):
    instance.refresh_from_db()
    return instance


def reservations_of(document) -> list[tuple]:
    return sorted(
        (r.product.sku, r.quantity, r.status)
        for r in Reservation.objects.filter(document_number=document.number)
    )


def device_place(device) -> tuple:
    """(state, location code, owner, holder, reserved by) as the device page shows them."""
    device = Device.objects.select_related("location", "owner", "holder").get(pk=device.pk)
    return (
        device.state,
        device.location.code if device.location else None,
        device.owner.name if device.owner else None,
        device.holder.name if device.holder else None,
        device.reserved_by,
    )


def used_device(shop: Shop, serial: str, location) -> Device:
    """A device that came back from a rental: Used, in `location`."""
    (device,) = devices_in(shop.stock, shop.modem, serial)
    device = device_services.device_transition(
        device=device, action="rent", party=shop.alice, actor=shop.clerk
    ).device
    return device_services.device_transition(
        device=device, action="return_rental", location=location, actor=shop.clerk
    ).device


# --------------------------------------------------------------------------- orders


def test_a_new_order_is_a_draft_priced_from_the_product_that_reserves_nothing(shop, step):
    """A new order is a numbered draft; sale lines take the product's sale price and rental
    lines its rental price unless a price is typed; a line totals quantity × unit price."""
    goods_in(shop.stock, shop.cable, 100)
    (m1,) = devices_in(shop.stock, shop.modem, "M1")

    order = step(
        services.order_create,
        party=shop.alice,
        warehouse=shop.warehouse,
        lines=[
            sale(shop.cable, "12.5"),
            sale(shop.router, 2, unit_price=D("75.00")),
            rental(shop.modem, device=m1, rental_until=dt.date(2031, 1, 31)),
        ],
    )

    assert order.status == Order.Status.DRAFT
    assert order.number.startswith("ORD-")
    assert [
        (line.position, line.kind, line.product.sku, line.unit_price, line.total)
        for line in order.lines.all()
    ] == [
        (1, "sale", "CAB-1", D("2.50"), D("31.25")),
        (2, "sale", "RTR-1", D("75.00"), D("150.00")),
        (3, "rental", "MOD-1", D("15.00"), D("15.00")),
    ]
    assert order.lines.get(kind="rental").rental_until == dt.date(2031, 1, 31)
    assert balance(shop.cable, shop.warehouse).reserved == 0
    assert reservations_of(order) == []
    assert ledger(order.number) == []
    assert fresh(m1).reserved_by == ""


def test_confirming_reserves_every_line_and_holds_the_named_device(shop, step):
    """Confirming an order reserves its lines: Reserved goes up and Available down at once,
    nothing moves yet, and the named device is marked reserved by the order."""
    goods_in(shop.stock, shop.cable, 100)
    m1, m2 = devices_in(shop.stock, shop.modem, "M1", "M2")
    order = order_create(shop, sale(shop.cable, 30), rental(shop.modem, device=m2))

    step(services.order_confirm, order=order)

    assert fresh(order).status == Order.Status.CONFIRMED
    assert order.confirmed_at is not None
    cable = balance(shop.cable, shop.warehouse)
    assert (cable.in_storage, cable.reserved, cable.available) == (100, 30, 70)
    modem = balance(shop.modem, shop.warehouse)
    assert (modem.in_storage, modem.reserved, modem.available) == (2, 1, 1)
    assert reservations_of(order) == [("CAB-1", 30, OPEN), ("MOD-1", 1, OPEN)]
    assert fresh(m2).reserved_by == order.number
    assert fresh(m1).reserved_by == ""
    assert ledger(order.number) == []


def test_dispatching_sends_the_goods_out_and_consumes_the_reservation(shop, step):
    """Dispatching moves counted goods and devices from storage to dispatched: still ours,
    no longer in hand; the devices are Dispatched, held by the customer."""
    goods_in(shop.stock, shop.cable, 100)
    m1, m2 = devices_in(shop.stock, shop.modem, "M1", "M2")
    order = order_create(
        shop, sale(shop.cable, 30), sale(shop.modem, 1, device=m2), rental(shop.modem)
    )
    step(services.order_confirm, order=order)

    step(services.order_dispatch, order=order)

    assert fresh(order).status == Order.Status.DISPATCHED
    assert order.dispatched_at is not None
    assert Counter(ledger(order.number)) == Counter(
        [
            (A.DISPATCH, "STOCK", DISPATCHED, D(30), ""),
            (A.DISPATCH, "STOCK", DISPATCHED, D(1), "M1"),
            (A.DISPATCH, "STOCK", DISPATCHED, D(1), "M2"),
        ]
    )
    cable = balance(shop.cable, shop.warehouse)
    assert (cable.in_storage, cable.reserved, cable.available) == (70, 0, 70)
    assert (cable.dispatched, cable.ownership) == (30, 100)
    modem = balance(shop.modem, shop.warehouse)
    assert (modem.in_storage, modem.reserved, modem.dispatched, modem.ownership) == (0, 0, 2, 2)
    assert reservations_of(order) == [
        ("CAB-1", 30, CONSUMED),
        ("MOD-1", 1, CONSUMED),
        ("MOD-1", 1, CONSUMED),
    ]
    for device in (m1, m2):
        state, place, owner, holder, _ = device_place(device)
        assert (state, place, owner, holder) == (State.DISPATCHED, DISPATCHED, None, "Alice")


def test_completing_a_dispatched_order_invoices_the_sales_and_rents_the_rentals(shop, step):
    """Completing a dispatched order posts an invoice for its sale lines with the devices
    sold; sold goods leave ownership, the rented device stays ours but held by the customer."""
    goods_in(shop.stock, shop.cable, 100)
    m1, m2 = devices_in(shop.stock, shop.modem, "M1", "M2")
    order = order_create(
        shop,
        sale(shop.cable, 30),
        sale(shop.modem, 1, device=m2),
        rental(shop.modem, rental_until=dt.date(2031, 6, 30)),
    )
    step(services.order_confirm, order=order)
    step(services.order_dispatch, order=order)

    step(services.order_complete, order=order)

    assert fresh(order).status == Order.Status.COMPLETED
    assert order.completed_at is not None
    invoice = order.invoice
    assert invoice.number.startswith("INV-")
    assert (invoice.status, invoice.party, invoice.warehouse) == (
        Invoice.Status.POSTED,
        shop.alice,
        shop.warehouse,
    )
    assert [
        (line.product.sku, line.quantity, line.unit_price, line.unit_cost, line.total)
        for line in invoice.lines.order_by("position")
    ] == [
        ("CAB-1", D(30), D("2.50"), D("4.0000"), D("75.00")),
        ("MOD-1", D(1), D("120.00"), D("50.0000"), D("120.00")),
    ]
    assert list(invoice.lines.get(product=shop.modem).devices.all()) == [m2]
    assert Counter(m for m in ledger(order.number) if m[0] != A.DISPATCH) == Counter(
        [
            (A.RENT, DISPATCHED, RENTED, D(1), "M1"),
            (A.SELL, DISPATCHED, SOLD, D(30), ""),
            (A.SELL, DISPATCHED, SOLD, D(1), "M2"),
        ]
    )
    cable = balance(shop.cable, shop.warehouse)
    assert (cable.in_storage, cable.dispatched, cable.ownership) == (70, 0, 70)
    modem = balance(shop.modem, shop.warehouse)
    assert (modem.in_hand, modem.dispatched, modem.rented, modem.ownership) == (0, 0, 1, 1)
    assert device_place(m2) == (State.SOLD, SOLD, "Alice", None, "")
    assert device_place(m1) == (State.RENTED, RENTED, None, "Alice", "")
    (rented,) = Rental.objects.all()
    assert (rented.device, rented.party, rented.order_line.kind) == (m1, shop.alice, "rental")
    assert (rented.until, rented.returned_at) == (dt.date(2031, 6, 30), None)


def test_completing_a_confirmed_order_sells_and_rents_straight_from_storage(shop, step):
    """A confirmed order may be completed without dispatch: its goods go from storage to
    sold or rented, its reservation is consumed, and it is invoiced all the same."""
    goods_in(shop.stock, shop.cable, 50, "4.00")
    goods_in(shop.shelf, shop.cable, 30, "6.00")
    m1, m2 = devices_in(shop.stock, shop.modem, "M1", "M2")
    order = order_create(
        shop, sale(shop.cable, 60), sale(shop.modem, 1), rental(shop.modem, device=m2)
    )
    step(services.order_confirm, order=order)

    step(services.order_complete, order=order)

    assert fresh(order).status == Order.Status.COMPLETED
    assert order.dispatched_at is None
    assert Counter(ledger(order.number)) == Counter(
        [
            (A.RENT, "STOCK", RENTED, D(1), "M2"),
            (A.SELL, "SHELF", SOLD, D(10), ""),
            (A.SELL, "STOCK", SOLD, D(1), "M1"),
            (A.SELL, "STOCK", SOLD, D(50), ""),
        ]
    )
    assert reservations_of(order) == [
        ("CAB-1", 60, CONSUMED),
        ("MOD-1", 1, CONSUMED),
        ("MOD-1", 1, CONSUMED),
    ]
    cable_line = order.invoice.lines.get(product=shop.cable)
    assert cable_line.unit_cost == D("4.7500")  # the moving average of 50 × 4.00 and 30 × 6.00
    assert balance(shop.cable, shop.warehouse).ownership == 20
    assert device_place(m1) == (State.SOLD, SOLD, "Alice", None, "")
    assert device_place(m2) == (State.RENTED, RENTED, None, "Alice", "")
    assert Rental.objects.get().device == m2


def test_an_order_of_rentals_only_completes_without_an_invoice(shop, step):
    """Nothing is sold, so completing an order of rental lines invoices nothing."""
    devices_in(shop.stock, shop.modem, "M1")
    order = order_create(shop, rental(shop.modem))
    step(services.order_confirm, order=order)

    step(services.order_complete, order=order)

    assert not Invoice.objects.exists()
    assert Rental.objects.get().order_line.order == order


def test_cancelling_a_draft_order_changes_no_stock(shop, step):
    goods_in(shop.stock, shop.cable, 10)
    order = order_create(shop, sale(shop.cable, 5))
    movements = Movement.objects.count()

    step(services.order_cancel, order=order)

    assert fresh(order).status == Order.Status.CANCELLED
    assert order.cancelled_at is not None
    assert Movement.objects.count() == movements
    assert reservations_of(order) == []


def test_cancelling_a_confirmed_order_releases_its_reservations_and_devices(shop, step):
    """Cancelling a confirmed order makes its goods available again and frees the device."""
    goods_in(shop.stock, shop.cable, 100)
    (m1,) = devices_in(shop.stock, shop.modem, "M1")
    order = order_create(shop, sale(shop.cable, 30), sale(shop.modem, 1, device=m1))
    step(services.order_confirm, order=order)

    step(services.order_cancel, order=order)

    assert fresh(order).status == Order.Status.CANCELLED
    assert reservations_of(order) == [("CAB-1", 30, RELEASED), ("MOD-1", 1, RELEASED)]
    cable = balance(shop.cable, shop.warehouse)
    assert (cable.reserved, cable.available) == (0, 100)
    assert balance(shop.modem, shop.warehouse).available == 1
    assert device_place(m1) == (State.NEW, "STOCK", None, None, "")
    assert ledger(order.number) == []


def test_cancelling_a_dispatched_order_brings_the_goods_back_where_they_came_from(shop, step):
    """Goods come back to the very storage locations they left, at the cost they left with;
    devices return to their earlier state and place, no longer held by the customer."""
    goods_in(shop.stock, shop.cable, 30, "4.00")
    goods_in(shop.shelf, shop.cable, 20, "4.00")
    (m1,) = devices_in(shop.stock, shop.modem, "M1")
    m2 = used_device(shop, "M2", shop.shelf)
    order = order_create(
        shop, sale(shop.cable, 40), sale(shop.modem, 1, device=m2), sale(shop.modem, 1)
    )
    step(services.order_confirm, order=order)
    step(services.order_dispatch, order=order)
    assert (position(shop.cable, shop.stock), position(shop.cable, shop.shelf)) == (0, 10)

    step(services.order_cancel, order=order)

    assert fresh(order).status == Order.Status.CANCELLED
    undone = [m for m in ledger(order.number) if m[0] == A.UNDISPATCH]
    assert Counter(undone) == Counter(
        [
            (A.UNDISPATCH, DISPATCHED, "SHELF", D(1), "M2"),
            (A.UNDISPATCH, DISPATCHED, "SHELF", D(10), ""),
            (A.UNDISPATCH, DISPATCHED, "STOCK", D(1), "M1"),
            (A.UNDISPATCH, DISPATCHED, "STOCK", D(30), ""),
        ]
    )
    assert (position(shop.cable, shop.stock), position(shop.cable, shop.shelf)) == (30, 20)
    cable = balance(shop.cable, shop.warehouse)
    assert (cable.in_storage, cable.dispatched, cable.reserved, cable.available) == (50, 0, 0, 50)
    assert cable.average_cost == D("4.0000")
    assert device_place(m1) == (State.NEW, "STOCK", None, None, "")
    assert device_place(m2) == (State.USED, "SHELF", None, None, "")
    assert balance(shop.modem, shop.warehouse).available == 2


def test_cancelling_a_dispatched_order_with_two_lines_of_one_product_brings_each_unit_back_once(
    shop, step
):
    """Two lines of the same cable, dispatched then cancelled: exactly what left comes back."""
    goods_in(shop.stock, shop.cable, 100)
    order = order_create(shop, sale(shop.cable, 10), sale(shop.cable, 5, unit_price=D("2.00")))
    step(services.order_confirm, order=order)
    step(services.order_dispatch, order=order)

    step(services.order_cancel, order=order)

    cable = balance(shop.cable, shop.warehouse)
    assert (cable.in_storage, cable.dispatched, cable.available) == (100, 0, 100)
    assert sum(m[3] for m in ledger(order.number) if m[0] == A.UNDISPATCH) == 15


def _order_in(shop: Shop, status: str) -> Order:
    """An order for 10 m of cable and a named modem, brought to `status` by the services."""
    goods_in(shop.stock, shop.cable, 100)
    (m1,) = devices_in(shop.stock, shop.modem, "M1")
    order = order_create(shop, sale(shop.cable, 10), sale(shop.modem, 1, device=m1))
    steps = {
        "draft": [],
        "confirmed": [services.order_confirm],
        "dispatched": [services.order_confirm, services.order_dispatch],
        "completed": [services.order_confirm, services.order_complete],
        "cancelled": [services.order_confirm, services.order_cancel],
    }[status]
    for service in steps:
        service(order=order, actor=shop.clerk)
    return fresh(order)


ORDER_STEPS = {
    "confirm": lambda shop, order: services.order_confirm(order=order, actor=shop.clerk),
    "dispatch": lambda shop, order: services.order_dispatch(order=order, actor=shop.clerk),
    "complete": lambda shop, order: services.order_complete(order=order, actor=shop.clerk),
    "cancel": lambda shop, order: services.order_cancel(order=order, actor=shop.clerk),
    "add lines to": lambda shop, order: services.order_line_add(
        order=order, line=sale(shop.cable, 1)
    ),
    "remove lines from": lambda shop, order: services.order_line_remove(
        order=order, line_id=order.lines.first().pk
    ),
}
REFUSED_ORDER_STEPS = [
    ("confirmed", "confirm"),
    ("draft", "dispatch"),
    ("draft", "complete"),
    ("dispatched", "dispatch"),
    ("dispatched", "confirm"),
    ("completed", "dispatch"),
    ("completed", "complete"),
    ("completed", "cancel"),
    ("cancelled", "complete"),
    ("cancelled", "confirm"),
    ("cancelled", "cancel"),
    ("confirmed", "add lines to"),
    ("dispatched", "add lines to"),
    ("confirmed", "remove lines from"),
]


@pytest.mark.parametrize(("status", "action"), REFUSED_ORDER_STEPS)
def test_a_step_the_order_state_does_not_allow_is_refused_and_changes_nothing(shop, status, action):
    """E.g. confirming twice, dispatching a draft, cancelling a completed order: refused with
    a message naming the order and its state; documents, stock and devices stay as they were."""
    order = _order_in(shop, status)
    before = snapshot()

    with pytest.raises(DocumentStateError) as refused:
        ORDER_STEPS[action](shop, order)

    assert str(refused.value) == f"{order.number} is {status}: cannot {action} it."
    assert snapshot() == before
    books_check()


def test_an_order_without_lines_cannot_be_confirmed(shop):
    order = order_create(shop)
    with pytest.raises(BillingError, match=f"{order.number} has no lines"):
        services.order_confirm(order=order, actor=shop.clerk)
    assert fresh(order).status == Order.Status.DRAFT


def test_confirming_is_refused_as_a_whole_naming_each_short_product(shop, step):
    """One line short and the whole order is refused: the message names each short product
    with its shortfall, and no product is half-reserved, not even the one in stock."""
    goods_in(shop.stock, shop.cable, 100)
    goods_in(shop.stock, shop.router, 5)
    devices_in(shop.stock, shop.modem, "M1")
    other = order_create(shop, sale(shop.router, 4))
    step(services.order_confirm, order=other)
    order = order_create(shop, sale(shop.cable, 10), sale(shop.router, 3), sale(shop.modem, 2))
    before = snapshot()

    with pytest.raises(ReservationRefused) as refused:
        services.order_confirm(order=order, actor=shop.clerk)

    message = refused.value.message
    assert "RTR-1 (Router) in Main warehouse: 3 asked, 1 available, short by 2" in message
    assert "MOD-1 (Modem) in Main warehouse: 2 asked, 1 available, short by 1" in message
    assert "CAB-1" not in message
    assert [(p.sku, requested) for p, _, _, requested in refused.value.shortfalls] == [
        ("RTR-1", 3),
        ("MOD-1", 2),
    ]
    assert snapshot() == before
    assert fresh(order).status == Order.Status.DRAFT
    assert balance(shop.cable, shop.warehouse).reserved == 0
    assert balance(shop.router, shop.warehouse).reserved == 4  # the other order's only
    assert reservations_of(order) == []
    books_check()


@pytest.mark.parametrize("products", [1, 2])
def test_confirming_takes_three_round_trips_whatever_the_number_of_lines(shop, products):
    """One round trip confirms the order and reads its lines, one reserves them all: the
    order's row is locked first, the balance rows (in product order) last; the third
    writes its event."""
    goods_in(shop.stock, shop.cable, 100)
    goods_in(shop.stock, shop.router, 5)
    goods = [shop.router, shop.cable][:products]
    order = order_create(shop, *(sale(product, 1) for product in goods), sale(goods[0], 2))

    with CaptureQueriesContext(connection) as queries:
        confirmed = services.order_confirm(order=order, actor=shop.clerk)

    round_trips = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    assert len(round_trips) == 3
    assert round_trips[0].startswith('UPDATE "billing_order"')
    assert "FOR UPDATE" in round_trips[1]
    assert round_trips[2].startswith('INSERT INTO "warehouse_event"')
    assert (confirmed.status, confirmed.confirmed_at) == (
        Order.Status.CONFIRMED,
        fresh(order).confirmed_at,
    )
    assert balance(shop.router, shop.warehouse).reserved == 3
    assert balance(shop.cable, shop.warehouse).reserved == products - 1
    assert len(reservations_of(order)) == products + 1
    books_check()


def test_a_device_named_by_another_confirmed_order_cannot_be_reserved_again(shop, step):
    """The second order naming a held device is refused whole: its cable stays unreserved."""
    goods_in(shop.stock, shop.cable, 100)
    m1, _m2 = devices_in(shop.stock, shop.modem, "M1", "M2")
    first = order_create(shop, sale(shop.modem, 1, device=m1))
    step(services.order_confirm, order=first)
    second = order_create(shop, sale(shop.cable, 10), sale(shop.modem, 1, device=m1))
    before = snapshot()

    with pytest.raises(IllegalTransition, match=f"reserved by {first.number}"):
        services.order_confirm(order=second, actor=shop.clerk)

    assert snapshot() == before
    assert balance(shop.cable, shop.warehouse).reserved == 0
    assert balance(shop.modem, shop.warehouse).reserved == 1
    assert fresh(m1).reserved_by == first.number
    books_check()


def test_blocked_devices_are_not_available_for_reservation(shop, step):
    """A blocked device is in hand but not for sale: it cannot be counted on, named, or
    picked for an any-device line."""
    m1, m2 = devices_in(shop.stock, shop.modem, "M1", "M2")
    device_services.device_transition(device=m1, action="block", actor=shop.clerk)
    assert balance(shop.modem, shop.warehouse).available == 1

    with pytest.raises(ReservationRefused, match="2 asked, 1 available, short by 1"):
        services.order_confirm(order=order_create(shop, sale(shop.modem, 2)), actor=shop.clerk)
    with pytest.raises(InvalidLine, match="is Blocked: it is not for sale or rent"):
        order_create(shop, sale(shop.modem, 1, device=fresh(m1)))

    order = order_create(shop, sale(shop.modem, 1))
    step(services.order_confirm, order=order)
    step(services.order_dispatch, order=order)
    assert device_place(m2)[0] == State.DISPATCHED
    assert device_place(m1) == (State.BLOCKED, "STOCK", None, None, "")


def test_goods_an_order_holds_cannot_be_taken_from_under_it(shop, step):
    """Once an order is confirmed, removing or blocking the units it counts on is refused;
    only the unreserved rest may go."""
    goods_in(shop.stock, shop.cable, 10)
    (m1,) = devices_in(shop.stock, shop.modem, "M1")
    order = order_create(shop, sale(shop.cable, 8), sale(shop.modem, 1))
    step(services.order_confirm, order=order)
    before = snapshot()

    with pytest.raises(InsufficientStock, match="8 more reserved or blocked"):
        stock_booking.stock_remove(
            actor=shop.clerk, product=shop.cable, location=shop.stock, quantity=D(3), reason="cut"
        )
    with pytest.raises(InsufficientStock):
        device_services.device_transition(device=m1, action="block", actor=shop.clerk)

    assert snapshot() == before
    step(
        stock_booking.stock_remove,
        product=shop.cable,
        location=shop.stock,
        quantity=D(2),
        reason="cut",
    )
    assert balance(shop.cable, shop.warehouse).available == 0
    step(services.order_dispatch, order=order)
    assert device_place(m1)[0] == State.DISPATCHED


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        (lambda s, d: rental(s.cable, 1), "product", "CAB-1 is not traceable"),
        (lambda s, d: sale(s.cable, 0), "quantity", "must be greater than zero"),
        (lambda s, d: sale(s.cable, -1), "quantity", "must be greater than zero"),
        (lambda s, d: sale(s.cable, 1, unit_price=D("-0.01")), "unit_price", "cannot be negative"),
        (lambda s, d: sale(s.modem, "1.5"), "quantity", "a whole number"),
        (lambda s, d: sale(s.router, 1, device=d), "device", "is not a RTR-1"),
        (lambda s, d: sale(s.modem, 2, device=d), "quantity", "for one unit"),
    ],
    ids=[
        "rent-counted",
        "zero",
        "negative",
        "negative-price",
        "half-device",
        "wrong-device",
        "two-of-one-device",
    ],
)
def test_a_line_that_cannot_be_sold_is_refused_naming_its_field(shop, line, field, message):
    (m1,) = devices_in(shop.stock, shop.modem, "M1")
    order = order_create(shop)

    with pytest.raises(InvalidLine, match=message) as refused:
        services.order_line_add(order=order, line=line(shop, m1))

    assert refused.value.field == field
    assert not order.lines.exists()


def test_an_inactive_product_or_a_sold_device_cannot_be_put_on_an_order(shop):
    gone = ProductFactory(sku="OLD-1", active=False)
    (m1,) = devices_in(shop.stock, shop.modem, "M1")
    sold = device_services.device_transition(
        device=m1, action="sell", party=shop.alice, actor=shop.clerk
    ).device
    order = order_create(shop)

    with pytest.raises(InvalidLine, match="OLD-1 is inactive"):
        services.order_line_add(order=order, line=sale(gone, 1))
    with pytest.raises(InvalidLine, match="is Sold: it is not for sale or rent"):
        services.order_line_add(order=order, line=sale(shop.modem, 1, device=sold))


# --------------------------------------------------------------------------- invoices


def test_an_invoice_carries_no_rental_lines(shop):
    """Rentals go through orders: an invoice refuses a rental line, and one created with
    it is not created at all."""
    invoice = invoice_create(shop)
    with pytest.raises(InvalidLine, match="Invoices carry no rental lines") as refused:
        services.invoice_line_add(invoice=invoice, line=rental(shop.modem))
    assert refused.value.field == "kind"
    assert not invoice.lines.exists()

    with pytest.raises(InvalidLine):
        invoice_create(shop, sale(shop.cable, 1), rental(shop.modem))
    assert list(Invoice.objects.values_list("number", flat=True)) == [invoice.number]


def test_issuing_an_invoice_reserves_its_lines(shop, step):
    goods_in(shop.stock, shop.cable, 100)
    (m1,) = devices_in(shop.stock, shop.modem, "M1")
    invoice = invoice_create(shop, sale(shop.cable, 10), sale(shop.modem, 1, device=m1))

    step(services.invoice_issue, invoice=invoice)

    assert fresh(invoice).status == Invoice.Status.ISSUED
    assert invoice.issued_at is not None
    cable = balance(shop.cable, shop.warehouse)
    assert (cable.reserved, cable.available) == (10, 90)
    assert reservations_of(invoice) == [("CAB-1", 10, OPEN), ("MOD-1", 1, OPEN)]
    assert fresh(m1).reserved_by == invoice.number
    assert ledger(invoice.number) == []


def test_posting_an_issued_invoice_sells_its_goods_at_their_cost(shop, step):
    """Posting takes the goods out of stock to sold, the devices become Sold and owned by
    the customer, and each line records the cost of the goods it sold."""
    goods_in(shop.stock, shop.cable, 50, "4.00")
    goods_in(shop.stock, shop.cable, 50, "6.00")
    (m1,) = devices_in(shop.stock, shop.modem, "M1", unit_cost="50.00")
    invoice = invoice_create(shop, sale(shop.cable, 10), sale(shop.modem, 1, device=m1))
    step(services.invoice_issue, invoice=invoice)

    step(services.invoice_post, invoice=invoice)

    assert fresh(invoice).status == Invoice.Status.POSTED
    assert invoice.posted_at is not None
    assert Counter(ledger(invoice.number)) == Counter(
        [
            (A.SELL, "STOCK", SOLD, D(1), "M1"),
            (A.SELL, "STOCK", SOLD, D(10), ""),
        ]
    )
    assert reservations_of(invoice) == [("CAB-1", 10, CONSUMED), ("MOD-1", 1, CONSUMED)]
    cable = balance(shop.cable, shop.warehouse)
    assert (cable.in_storage, cable.reserved, cable.available, cable.ownership) == (90, 0, 90, 90)
    assert balance(shop.modem, shop.warehouse).ownership == 0
    assert device_place(m1) == (State.SOLD, SOLD, "Alice", None, "")
    lines = {line.product.sku: line for line in invoice.lines.all()}
    assert lines["CAB-1"].unit_cost == D("5.0000")
    assert lines["MOD-1"].unit_cost == D("50.0000")
    assert list(lines["MOD-1"].devices.all()) == [m1]


def test_posting_a_draft_invoice_issues_and_sells_at_once(shop, step):
    """A draft may be posted directly; an any-device line sells New devices first."""
    goods_in(shop.stock, shop.router, 3)
    m1 = used_device(shop, "M1", shop.stock)
    m2, m3 = devices_in(shop.stock, shop.modem, "M2", "M3")
    invoice = invoice_create(shop, sale(shop.router, 3), sale(shop.modem, 2))

    step(services.invoice_post, invoice=invoice)

    assert fresh(invoice).status == Invoice.Status.POSTED
    assert invoice.issued_at == invoice.posted_at
    assert reservations_of(invoice) == [("MOD-1", 2, CONSUMED), ("RTR-1", 3, CONSUMED)]
    assert set(invoice.lines.get(product=shop.modem).devices.all()) == {m2, m3}
    assert device_place(m1) == (State.USED, "STOCK", None, None, "")
    assert balance(shop.router, shop.warehouse).ownership == 0


def test_posting_a_draft_invoice_without_the_stock_is_refused_and_changes_nothing(shop):
    goods_in(shop.stock, shop.router, 1)
    invoice = invoice_create(shop, sale(shop.router, 2))
    before = snapshot()

    with pytest.raises(ReservationRefused, match="RTR-1 .* short by 1"):
        services.invoice_post(invoice=invoice, actor=shop.clerk)

    assert snapshot() == before
    books_check()


def test_cancelling_an_issued_invoice_releases_what_it_reserved(shop, step):
    goods_in(shop.stock, shop.cable, 100)
    (m1,) = devices_in(shop.stock, shop.modem, "M1")
    invoice = invoice_create(shop, sale(shop.cable, 10), sale(shop.modem, 1, device=m1))
    step(services.invoice_issue, invoice=invoice)

    step(services.invoice_cancel, invoice=invoice)

    assert fresh(invoice).status == Invoice.Status.CANCELLED
    assert reservations_of(invoice) == [("CAB-1", 10, RELEASED), ("MOD-1", 1, RELEASED)]
    assert balance(shop.cable, shop.warehouse).available == 100
    assert device_place(m1) == (State.NEW, "STOCK", None, None, "")
    assert ledger(invoice.number) == []


def _invoice_in(shop: Shop, status: str) -> Invoice:
    goods_in(shop.stock, shop.cable, 100)
    invoice = invoice_create(shop, sale(shop.cable, 10))
    steps = {
        "draft": [],
        "issued": [services.invoice_issue],
        "posted": [services.invoice_post],
        "cancelled": [services.invoice_cancel],
    }[status]
    for service in steps:
        service(invoice=invoice, actor=shop.clerk)
    return fresh(invoice)


INVOICE_STEPS = {
    "issue": lambda shop, invoice: services.invoice_issue(invoice=invoice, actor=shop.clerk),
    "post": lambda shop, invoice: services.invoice_post(invoice=invoice, actor=shop.clerk),
    "cancel": lambda shop, invoice: services.invoice_cancel(invoice=invoice, actor=shop.clerk),
    "add lines to": lambda shop, invoice: services.invoice_line_add(
        invoice=invoice, line=sale(shop.cable, 1)
    ),
    "credit": lambda shop, invoice: services.creditnote_create(
        actor=shop.clerk,
        invoice=invoice,
        return_location=shop.stock,
        lines=[services.CreditLineInput(invoice.lines.get(), D(1))],
    ),
}


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("posted", "cancel"),
        ("posted", "post"),
        ("posted", "issue"),
        ("issued", "issue"),
        ("issued", "add lines to"),
        ("cancelled", "post"),
        ("cancelled", "cancel"),
        ("issued", "credit"),
        ("cancelled", "credit"),
    ],
)
def test_a_step_the_invoice_state_does_not_allow_is_refused_and_changes_nothing(
    shop, status, action
):
    """E.g. a posted invoice cannot be cancelled (a credit note takes goods back), nor an
    unposted one credited."""
    invoice = _invoice_in(shop, status)
    before = snapshot()

    with pytest.raises(DocumentStateError) as refused:
        INVOICE_STEPS[action](shop, invoice)

    assert str(refused.value) == f"{invoice.number} is {status}: cannot {action} it."
    assert snapshot() == before
    books_check()


def test_an_invoice_without_lines_cannot_be_issued(shop):
    invoice = invoice_create(shop)
    with pytest.raises(BillingError, match="has no lines"):
        services.invoice_issue(invoice=invoice, actor=shop.clerk)


# --------------------------------------------------------------------------- credit notes


@pytest.fixture
def posted(shop):
    """Invoice for 10 m of cable (average cost 5.00) and two modems, posted."""
    goods_in(shop.stock, shop.cable, 50, "4.00")
    goods_in(shop.stock, shop.cable, 50, "6.00")
    devices_in(shop.stock, shop.modem, "M1", "M2", unit_cost="50.00")
    invoice = invoice_create(shop, sale(shop.cable, 10), sale(shop.modem, 2))
    services.invoice_post(invoice=invoice, actor=shop.clerk)
    return fresh(invoice)


def credit(shop, invoice, *lines, location=None):
    """A draft credit note for (product sku, quantity or device) pairs of the invoice."""
    by_sku = {line.product.sku: line for line in invoice.lines.all()}
    inputs = [
        services.CreditLineInput(by_sku[sku], D(1), what)
        if isinstance(what, Device)
        else services.CreditLineInput(by_sku[sku], D(str(what)))
        for sku, what in lines
    ]
    return services.creditnote_create(
        actor=shop.clerk,
        invoice=invoice,
        return_location=location or shop.stock,
        lines=inputs,
    )


@pytest.mark.parametrize(("code", "for_sale"), [("SHELF", True), ("QUAR", False)])
def test_a_credit_note_brings_sold_goods_back_into_the_chosen_location(
    shop, step, posted, code, for_sale
):
    """Posting a credit note books the goods from sold into the chosen location at the cost
    they were sold at (not today's average); returned devices are Used and the business's
    again. Back in storage they are for sale; in quarantine they are owned but not for sale."""
    goods_in(shop.stock, shop.cable, 10, "8.00")  # the average moves on to 5.30
    location = {"SHELF": shop.shelf, "QUAR": shop.quarantine}[code]
    m1 = Device.objects.get(serial="M1")
    note = credit(shop, posted, ("CAB-1", 4), ("MOD-1", m1), location=location)
    books_check()
    assert (note.status, note.party, note.number[:3]) == (
        CreditNote.Status.DRAFT,
        shop.alice,
        "CN-",
    )
    assert ledger(note.number) == []
    assert [line.total for line in note.lines.order_by("id")] == [D("10.00"), D("120.00")]

    step(services.creditnote_post, credit_note=note)

    assert fresh(note).status == CreditNote.Status.POSTED
    assert note.posted_at is not None
    assert Counter(ledger(note.number)) == Counter(
        [
            (A.RETURN, SOLD, code, D(1), "M1"),
            (A.RETURN, SOLD, code, D(4), ""),
        ]
    )
    returned = Movement.objects.get(reference=note.number, product=shop.cable)
    assert returned.unit_cost == posted.lines.get(product=shop.cable).unit_cost == D("5.0000")
    cable = balance(shop.cable, shop.warehouse)
    in_storage = 104 if for_sale else 100
    assert (cable.in_hand, cable.in_storage, cable.available, cable.ownership) == (
        104,
        in_storage,
        in_storage,
        104,
    )
    assert cable.average_cost == D("5.2885")  # (100 × 5.30 + 4 × 5.00) / 104
    assert device_place(m1) == (State.USED, code, None, None, "")
    assert device_place(Device.objects.get(serial="M2")) == (State.SOLD, SOLD, "Alice", None, "")
    modem = balance(shop.modem, shop.warehouse)
    assert (modem.ownership, modem.available) == (1, 1 if for_sale else 0)


def test_never_more_is_credited_than_was_sold(shop, step, posted):
    """Draft and posted credit notes count together against what the invoice sold; a
    cancelled one gives its quantity back."""
    first = credit(shop, posted, ("CAB-1", 6))
    before = snapshot()

    with pytest.raises(
        InvalidLine, match=f"CAB-1: 11 credited in all, but {posted.number} sold 10"
    ):
        credit(shop, posted, ("CAB-1", 5))
    with pytest.raises(InvalidLine, match="CAB-1: 17 credited in all"):
        credit(shop, posted, ("CAB-1", 11))

    assert snapshot() == before
    second = credit(shop, posted, ("CAB-1", 4))
    step(services.creditnote_post, credit_note=second)
    step(services.creditnote_cancel, credit_note=first)
    third = credit(shop, posted, ("CAB-1", 6))
    step(services.creditnote_post, credit_note=third)
    assert position(shop.cable, shop.virtual(Kind.SOLD)) == 0
    assert [n.number for n in CreditNote.objects.order_by("id")] == [
        "CN-000001",
        "CN-000002",
        "CN-000003",
    ]


def test_the_same_device_is_never_credited_twice(shop, step, posted):
    m1 = Device.objects.get(serial="M1")
    with pytest.raises(InvalidLine, match="Already credited: M1"):
        credit(shop, posted, ("MOD-1", m1), ("MOD-1", m1))

    note = credit(shop, posted, ("MOD-1", m1))
    step(services.creditnote_post, credit_note=note)
    with pytest.raises(InvalidLine, match="Already credited: M1"):
        credit(shop, posted, ("MOD-1", m1))
    assert CreditNote.objects.count() == 1


def test_only_what_the_invoice_sold_can_come_back(shop, posted):
    (other,) = devices_in(shop.stock, shop.modem, "M9")
    elsewhere = invoice_create(shop, sale(shop.cable, 1)).lines.get()
    with pytest.raises(InvalidLine, match=f"That line is not on {posted.number}"):
        services.creditnote_create(
            actor=shop.clerk,
            invoice=posted,
            return_location=shop.stock,
            lines=[services.CreditLineInput(elsewhere, D(1))],
        )
    with pytest.raises(InvalidLine, match=f"MOD-1 #M9 was not sold by {posted.number}"):
        credit(shop, posted, ("MOD-1", other))
    line = posted.lines.get(product=shop.modem)
    with pytest.raises(InvalidLine, match="choose the device that comes back"):
        services.creditnote_create(
            actor=shop.clerk,
            invoice=posted,
            return_location=shop.stock,
            lines=[services.CreditLineInput(line, D(1))],
        )
    assert not CreditNote.objects.exists()


def test_a_device_comes_back_as_one_unit_on_its_credit_line(shop, posted):
    line = posted.lines.get(product=shop.modem)
    m1 = Device.objects.get(serial="M1")
    for quantity in (D(2), D(0), D("0.5")):
        with pytest.raises(InvalidLine, match="A device comes back as one unit"):
            services.creditnote_create(
                actor=shop.clerk,
                invoice=posted,
                return_location=shop.stock,
                lines=[services.CreditLineInput(line, quantity, m1)],
            )
    assert not CreditNote.objects.exists()


def test_returns_go_back_to_storage_or_quarantine_of_the_invoice_warehouse(shop, posted):
    north = WarehouseFactory(code="north", name="North")
    with pytest.raises(InvalidLine, match=f"Returns of {posted.number} go back to Main warehouse"):
        credit(shop, posted, ("CAB-1", 1), location=storage_of(north))
    with pytest.raises(InvalidLine, match="Returns go to storage or quarantine"):
        credit(shop, posted, ("CAB-1", 1), location=shop.virtual(Kind.ADJUSTMENT))
    assert not CreditNote.objects.exists()


def test_a_credit_note_moved_to_another_warehouses_shelf_is_not_posted(shop, posted, step):
    """The admin once moved a draft's return location: posting checks it again, books nothing."""
    north = WarehouseFactory(code="north", name="North")
    m1 = Device.objects.get(serial="M1")
    note = credit(shop, posted, ("CAB-1", 2), ("MOD-1", m1))
    before = ledger_snapshot()

    for elsewhere, message in (
        (storage_of(north), f"Returns of {posted.number} go back to Main warehouse"),
        (shop.virtual(Kind.INSTALLED), "Returns go to storage or quarantine"),
    ):
        CreditNote.objects.filter(pk=note.pk).update(return_location=elsewhere)
        with pytest.raises(InvalidLine, match=message) as refused:
            step(services.creditnote_post, credit_note=note)
        assert refused.value.field == "return_location"

    assert ledger_snapshot() == before
    assert (fresh(note).status, fresh(m1).state) == (CreditNote.Status.DRAFT, State.SOLD)
    CreditNote.objects.filter(pk=note.pk).update(return_location=shop.quarantine)
    step(services.creditnote_post, credit_note=note)
    assert fresh(m1).location == shop.quarantine


def test_a_posted_or_cancelled_credit_note_cannot_be_posted_again(shop, posted):
    note = credit(shop, posted, ("CAB-1", 1))
    services.creditnote_post(credit_note=note, actor=shop.clerk)
    with pytest.raises(DocumentStateError, match=f"{note.number} is posted: cannot post it"):
        services.creditnote_post(credit_note=note, actor=shop.clerk)
    with pytest.raises(DocumentStateError, match="is posted: cannot cancel it"):
        services.creditnote_cancel(credit_note=note, actor=shop.clerk)

    dropped = credit(shop, posted, ("CAB-1", 1))
    services.creditnote_cancel(credit_note=dropped, actor=shop.clerk)
    with pytest.raises(DocumentStateError, match="is cancelled: cannot post it"):
        services.creditnote_post(credit_note=dropped, actor=shop.clerk)
    assert balance(shop.cable, shop.warehouse).in_storage == 91
    books_check()


# --------------------------------------------------------------------------- rentals


@pytest.fixture
def rented(shop):
    """M1 rented to Alice through a completed order."""
    devices_in(shop.stock, shop.modem, "M1")
    order = order_create(shop, rental(shop.modem))
    services.order_confirm(order=order, actor=shop.clerk)
    services.order_complete(order=order, actor=shop.clerk)
    return Rental.objects.select_related("device").get()


def test_a_returned_rental_device_comes_back_used_into_the_chosen_location(shop, step, rented):
    order = rented.order_line.order

    step(services.rental_return, rental=rented, location=shop.shelf, reason="contract ended")

    assert fresh(rented).returned_at is not None
    assert rented.return_location == shop.shelf
    assert device_place(rented.device) == (State.USED, "SHELF", None, None, "")
    assert ledger(order.number)[-1] == (A.RETURN_RENTAL, RENTED, "SHELF", D(1), "M1")
    modem = balance(shop.modem, shop.warehouse)
    assert (modem.rented, modem.in_storage, modem.available, modem.ownership) == (0, 1, 1, 1)


def test_a_rental_comes_back_only_into_its_orders_warehouse(shop, rented):
    north = WarehouseFactory(code="north", name="North")
    before = snapshot()

    with pytest.raises(InvalidLine, match="MOD-1 #M1 comes back to Main warehouse") as refused:
        services.rental_return(rental=rented, location=storage_of(north), actor=shop.clerk)

    assert refused.value.field == "location"
    assert snapshot() == before
    assert fresh(rented).returned_at is None
    assert fresh(rented.device).state == State.RENTED


def test_a_rental_comes_back_only_once(shop, rented):
    services.rental_return(rental=rented, location=shop.shelf, actor=shop.clerk)
    before = snapshot()

    with pytest.raises(DocumentStateError, match="MOD-1 #M1 came back already"):
        services.rental_return(rental=rented, location=shop.stock, actor=shop.clerk)

    assert snapshot() == before
    books_check()


# --------------------------------------------------------------------------- numbering


def test_each_document_type_is_numbered_in_its_own_sequence(shop):
    goods_in(shop.stock, shop.cable, 100)
    first, second = order_create(shop, sale(shop.cable, 1)), order_create(shop)
    invoice = invoice_create(shop, sale(shop.cable, 5))
    services.order_confirm(order=first, actor=shop.clerk)
    services.order_complete(order=first, actor=shop.clerk)
    services.invoice_post(invoice=invoice, actor=shop.clerk)
    note = credit(shop, invoice, ("CAB-1", 1))

    assert (first.number, second.number) == ("ORD-000001", "ORD-000002")
    assert (invoice.number, fresh(first).invoice.number) == ("INV-000001", "INV-000002")
    assert note.number == "CN-000001"


def test_a_document_rolled_back_gives_its_number_back(shop):
    """No gaps: an order created inside a request that fails takes no number for good."""

    def request_that_fails_after_creating_an_order():
        with transaction.atomic():
            order_create(shop)
            raise RuntimeError("the rest of the request failed")

    assert order_create(shop).number == "ORD-000001"
    with pytest.raises(RuntimeError):
        request_that_fails_after_creating_an_order()
    with pytest.raises(InvalidLine):
        order_create(shop, sale(shop.cable, 0))

    assert order_create(shop).number == "ORD-000002"
    assert list(Order.objects.values_list("number", flat=True).order_by("id")) == [
        "ORD-000001",
        "ORD-000002",
    ]


def test_an_order_keeps_its_lines_in_the_order_they_were_added(shop):
    order = order_create(shop, sale(shop.router, 1), sale(shop.cable, 2))
    services.order_line_add(order=order, line=sale(shop.cable, 3))
    assert [(line.position, line.product.sku) for line in order.lines.all()] == [
        (1, "RTR-1"),
        (2, "CAB-1"),
        (3, "CAB-1"),
    ]
    assert OrderLine.objects.filter(order=order).count() == 3


def test_a_device_is_named_on_one_line_of_a_document_only(shop):
    """Naming one modem on two lines would reserve two units for one device and leave the
    document stuck at dispatch or posting: the second line is refused."""
    (m1,) = devices_in(shop.stock, shop.modem, "M1")
    order = order_create(shop, sale(shop.modem, 1, device=m1))
    invoice = invoice_create(shop, sale(shop.modem, 1, device=m1))

    with pytest.raises(InvalidLine, match=f"MOD-1 #M1 is on {order.number} already") as refused:
        services.order_line_add(order=order, line=rental(shop.modem, device=m1))
    assert refused.value.field == "device"
    with pytest.raises(InvalidLine, match=f"MOD-1 #M1 is on {invoice.number} already"):
        services.invoice_line_add(invoice=invoice, line=sale(shop.modem, 1, device=m1))

    assert (order.lines.count(), invoice.lines.count()) == (1, 1)
