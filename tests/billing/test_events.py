"""Every document step writes its event in the step's transaction: the document by type and
number, its status after the step and its lines; a refused step writes none."""

from decimal import Decimal as D

import pytest

from billing import services
from billing.exceptions import DocumentStateError
from billing.models import Rental
from tests.billing.factories import (
    devices_in,
    goods_in,
    invoice_create,
    order_create,
    rental,
    sale,
    shop_create,
)
from warehouse.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return shop_create()


def _steps(number=None) -> list[tuple[str, str]]:
    events = Event.objects.filter(kind__regex=r"^(order|invoice|credit_note|rental)\.")
    if number:
        events = events.filter(document_number=number)
    return [(e.kind, e.data.get("status", "")) for e in events.order_by("id")]


def test_an_order_s_steps_write_their_events_and_a_rental_return_its_own(shop):
    goods_in(shop.stock, shop.cable, 10)
    devices_in(shop.stock, shop.modem, "M1")
    order = order_create(shop, sale(shop.cable, 3), rental(shop.modem))

    for step in (services.order_confirm, services.order_dispatch, services.order_complete):
        order = step(order=order, actor=shop.clerk)
    services.rental_return(rental=Rental.objects.get(), location=shop.shelf, actor=shop.clerk)

    assert _steps(order.number) == [
        ("order.created", "draft"),
        ("order.confirmed", "confirmed"),
        ("order.dispatched", "dispatched"),
        ("order.completed", "completed"),
        ("rental.returned", ""),
    ]
    confirmed = Event.objects.get(kind="order.confirmed")
    assert confirmed.subject == {"type": "order", "number": order.number}
    assert (confirmed.document_type, confirmed.actor) == ("order", shop.clerk)
    assert [(line["sku"], line["quantity"]) for line in confirmed.data["lines"]] == [
        ("CAB-1", "3"),
        ("MOD-1", "1"),
    ]
    returned = Event.objects.get(kind="rental.returned")
    assert returned.subject == {"type": "device", "serial": "M1", "product": "MOD-1"}
    assert returned.data["to"] == "SHELF"


def test_cancelling_an_order_writes_its_event(shop):
    goods_in(shop.stock, shop.cable, 10)
    order = order_create(shop, sale(shop.cable, 3))
    order = services.order_confirm(order=order, actor=shop.clerk)

    services.order_cancel(order=order, actor=shop.clerk)

    assert _steps(order.number)[-1] == ("order.cancelled", "cancelled")


def test_an_invoice_and_its_credit_note_write_an_event_at_each_step(shop):
    goods_in(shop.stock, shop.cable, 10)
    invoice = invoice_create(shop, sale(shop.cable, 4))
    invoice = services.invoice_issue(invoice=invoice, actor=shop.clerk)
    invoice = services.invoice_post(invoice=invoice, actor=shop.clerk)
    line = invoice.lines.get()
    note = services.creditnote_create(
        actor=shop.clerk,
        invoice=invoice,
        return_location=shop.stock,
        lines=[services.CreditLineInput(line, D(1))],
    )
    services.creditnote_post(credit_note=note, actor=shop.clerk)
    second = services.creditnote_create(
        actor=shop.clerk,
        invoice=invoice,
        return_location=shop.stock,
        lines=[services.CreditLineInput(line, D(1))],
    )
    services.creditnote_cancel(credit_note=second, actor=shop.clerk)

    assert _steps(invoice.number) == [
        ("invoice.created", "draft"),
        ("invoice.issued", "issued"),
        ("invoice.posted", "posted"),
    ]
    assert _steps(note.number) == [
        ("credit_note.created", "draft"),
        ("credit_note.posted", "posted"),
    ]
    assert _steps(second.number) == [
        ("credit_note.created", "draft"),
        ("credit_note.cancelled", "cancelled"),
    ]
    posted = Event.objects.get(kind="credit_note.posted")
    assert posted.data["lines"][0]["sku"] == "CAB-1"


def test_cancelling_an_invoice_writes_its_event(shop):
    goods_in(shop.stock, shop.cable, 10)
    invoice = invoice_create(shop, sale(shop.cable, 4))
    invoice = services.invoice_issue(invoice=invoice, actor=shop.clerk)

    services.invoice_cancel(invoice=invoice, actor=shop.clerk)

    assert _steps(invoice.number)[-1] == ("invoice.cancelled", "cancelled")


def test_a_refused_step_writes_no_event(shop):
    order = order_create(shop, sale(shop.cable, 3))
    before = _steps()

    with pytest.raises(DocumentStateError):
        services.order_complete(order=services.order_cancel(order=order, actor=None), actor=None)

    assert _steps() == [*before, ("order.cancelled", "cancelled")]
