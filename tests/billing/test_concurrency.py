"""Clerks working at the same moment, with real threads against PostgreSQL.

Each clerk is a thread with its own database connection (closed when it
ends), all released together by a barrier. Whatever the interleaving, stock
is never over-reserved, a device leaves once, documents take distinct
numbers without gaps, and nobody meets a deadlock or a raw database error:
the losers get a clear domain error.
"""

from decimal import Decimal
from functools import partial

import pytest

from billing import services
from billing.exceptions import DocumentStateError, InvalidLine
from billing.models import DocumentSequence, Invoice, Order
from devices.exceptions import IllegalTransition
from devices.models import Device, State
from tests.billing.factories import (
    balance,
    books_check,
    devices_in,
    goods_in,
    invoice_create,
    order_create,
    sale,
    shop_create,
)
from tests.race import race
from warehouse.exceptions import ReservationRefused
from warehouse.models import Movement

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*jobs) -> list:
    """Run each job in its own thread, all starting together; each one's result or error."""
    return race(jobs)


def errors(outcomes) -> list[Exception]:
    return [o for o in outcomes if isinstance(o, Exception)]


def only_domain_errors(outcomes, *allowed) -> None:
    """Every loser got a clear domain error: no deadlock, no IntegrityError, no crash."""
    unexpected = [e for e in errors(outcomes) if not isinstance(e, allowed)]
    assert not unexpected, unexpected


def test_eight_clerks_confirming_at_once_reserve_no_more_than_is_available():
    """Five routers, eight one-router orders confirmed at the same moment: five are
    confirmed, three refused naming the router and the shortfall; nothing goes negative."""
    shop = shop_create()
    goods_in(shop.stock, shop.router, 5)
    orders = [order_create(shop, sale(shop.router, 1)) for _ in range(8)]

    outcomes = at_once(
        *(partial(services.order_confirm, order=order, actor=shop.clerk) for order in orders)
    )

    only_domain_errors(outcomes, ReservationRefused)
    refused = errors(outcomes)
    assert len(refused) == 3
    for exc in refused:
        assert "RTR-1 (Router) in Main warehouse: 1 asked, 0 available, short by 1" in exc.message
    statuses = sorted(Order.objects.values_list("status", flat=True))
    assert statuses == ["confirmed"] * 5 + ["draft"] * 3
    router = balance(shop.router, shop.warehouse)
    assert (router.in_storage, router.reserved, router.available) == (5, 5, 0)
    books_check()


def test_orders_naming_products_in_opposite_orders_never_deadlock():
    """Ten orders for the same three products, their lines in opposite orders, confirmed,
    dispatched, then half completed while the other half is cancelled, all at once."""
    shop = shop_create()
    goods_in(shop.stock, shop.cable, 100)
    goods_in(shop.stock, shop.router, 100)
    devices_in(shop.stock, shop.modem, *(f"M{i}" for i in range(10)))
    forward = (sale(shop.cable, 3), sale(shop.router, 2), sale(shop.modem, 1))
    orders = [order_create(shop, *(forward if i % 2 else forward[::-1])) for i in range(10)]

    def everyone(step_of):
        """Every order takes its step (`step_of(order)`, a service) at the same moment."""
        outcomes = at_once(
            *(partial(step_of(order), order=order, actor=shop.clerk) for order in orders)
        )
        assert errors(outcomes) == []
        books_check()

    everyone(lambda order: services.order_confirm)
    cable = balance(shop.cable, shop.warehouse)
    assert (cable.reserved, cable.available) == (30, 70)
    assert balance(shop.router, shop.warehouse).reserved == 20
    assert balance(shop.modem, shop.warehouse).reserved == 10

    everyone(lambda order: services.order_dispatch)
    assert balance(shop.cable, shop.warehouse).dispatched == 30
    assert Device.objects.filter(state=State.DISPATCHED).count() == 10

    everyone(lambda order: services.order_complete if order.pk % 2 else services.order_cancel)

    statuses = sorted(Order.objects.values_list("status", flat=True))
    assert statuses == ["cancelled"] * 5 + ["completed"] * 5
    cable = balance(shop.cable, shop.warehouse)
    assert (cable.dispatched, cable.reserved, cable.ownership) == (0, 0, 100 - 3 * 5)
    assert balance(shop.router, shop.warehouse).ownership == 100 - 2 * 5
    assert Device.objects.filter(state=State.SOLD).count() == 5
    assert Device.objects.filter(state=State.NEW, location=shop.stock).count() == 5
    assert Invoice.objects.filter(status=Invoice.Status.POSTED).count() == 5


def test_two_orders_naming_the_same_device_confirmed_at_once_hold_it_once():
    """Two clerks confirm two orders for the same modem: one holds it, the other is told
    it is taken; dispatched later, the modem leaves once, with one ledger movement."""
    shop = shop_create()
    goods_in(shop.stock, shop.cable, 100)
    m1, _m2 = devices_in(shop.stock, shop.modem, "M1", "M2")
    orders = [
        order_create(shop, sale(shop.cable, 10), sale(shop.modem, 1, device=m1)) for _ in "ab"
    ]

    outcomes = at_once(
        *(partial(services.order_confirm, order=order, actor=shop.clerk) for order in orders)
    )

    only_domain_errors(outcomes, IllegalTransition, ReservationRefused, DocumentStateError)
    (refused,) = errors(outcomes)
    assert "MOD-1 #M1" in refused.message
    (winner,) = Order.objects.filter(status=Order.Status.CONFIRMED)
    assert Device.objects.get(pk=m1.pk).reserved_by == winner.number
    assert balance(shop.cable, shop.warehouse).reserved == 10
    assert balance(shop.modem, shop.warehouse).reserved == 1
    books_check()

    outcomes = at_once(
        *(partial(services.order_dispatch, order=order, actor=shop.clerk) for order in orders)
    )

    only_domain_errors(outcomes, DocumentStateError)
    assert len(errors(outcomes)) == 1
    assert Device.objects.get(pk=m1.pk).state == State.DISPATCHED
    assert Movement.objects.filter(serial="M1", action=Movement.Action.DISPATCH).count() == 1
    books_check()


def test_two_clerks_dispatching_the_same_order_send_its_goods_once():
    shop = shop_create()
    goods_in(shop.stock, shop.cable, 100)
    (m1,) = devices_in(shop.stock, shop.modem, "M1")
    order = order_create(shop, sale(shop.cable, 10), sale(shop.modem, 1, device=m1))
    services.order_confirm(order=order, actor=shop.clerk)

    outcomes = at_once(
        partial(services.order_dispatch, order=order, actor=shop.clerk),
        partial(services.order_dispatch, order=order, actor=shop.clerk),
    )

    only_domain_errors(outcomes, DocumentStateError)
    (refused,) = errors(outcomes)
    assert refused.message == f"{order.number} is dispatched: cannot dispatch it."
    assert Movement.objects.filter(reference=order.number).count() == 2  # the cable, M1
    assert balance(shop.cable, shop.warehouse).dispatched == 10
    assert Device.objects.get(pk=m1.pk).state == State.DISPATCHED
    books_check()


def test_completing_and_cancelling_the_same_order_at_once_does_one_of_the_two():
    shop = shop_create()
    goods_in(shop.stock, shop.cable, 100)
    (m1,) = devices_in(shop.stock, shop.modem, "M1")
    order = order_create(shop, sale(shop.cable, 10), sale(shop.modem, 1, device=m1))
    services.order_confirm(order=order, actor=shop.clerk)
    services.order_dispatch(order=order, actor=shop.clerk)

    outcomes = at_once(
        partial(services.order_complete, order=order, actor=shop.clerk),
        partial(services.order_cancel, order=order, actor=shop.clerk),
    )

    only_domain_errors(outcomes, DocumentStateError)
    assert len(errors(outcomes)) == 1
    order.refresh_from_db()
    cable = balance(shop.cable, shop.warehouse)
    if order.status == Order.Status.COMPLETED:
        assert (cable.ownership, Device.objects.get(pk=m1.pk).state) == (90, State.SOLD)
    else:
        assert order.status == Order.Status.CANCELLED
        assert (cable.ownership, Device.objects.get(pk=m1.pk).state) == (100, State.NEW)
        assert not Invoice.objects.exists()
    assert cable.dispatched == 0
    books_check()


def _next(prefix: str) -> int:
    return (
        DocumentSequence.objects.filter(prefix=prefix).values_list("next_number", flat=True).first()
        or 1
    )


def test_ten_invoices_created_at_once_take_consecutive_numbers():
    shop = shop_create()
    first = _next("INV")

    outcomes = at_once(*(partial(invoice_create, shop, sale(shop.cable, 1)) for _ in range(10)))

    assert errors(outcomes) == []
    numbers = sorted(invoice.number for invoice in outcomes)
    assert numbers == [f"INV-{n:06d}" for n in range(first, first + 10)]


def test_invoices_refused_while_others_are_created_leave_no_gap_in_the_numbers():
    """Three of ten clerks type a bad line: their invoices are refused and their numbers
    go to the others, so the seven invoices are numbered without a gap."""
    shop = shop_create()
    first = _next("INV")
    bad = sale(shop.cable, 1, unit_price=Decimal(-1))

    outcomes = at_once(
        *(
            partial(invoice_create, shop, bad if i in (3, 6, 9) else sale(shop.cable, 1))
            for i in range(10)
        )
    )

    only_domain_errors(outcomes, InvalidLine)
    assert len(errors(outcomes)) == 3
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [
        f"INV-{n:06d}" for n in range(first, first + 7)
    ]
    assert _next("INV") == first + 7
