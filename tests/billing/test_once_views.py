"""Billing pages book once: a new order posted ten times at once is one order, and every
document step, line and party posted twice is done once, the second answer the first's."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from billing import services
from billing.models import Order, Rental
from tests.billing.factories import rental, sale
from tests.billing.test_views import document_post
from tests.once import (
    Post,
    assert_posted_twice_booked_once,
    messages_of,
    post_together,
    world_create,
)
from warehouse.models import Party, Reservation
from warehouse.once import once_key_new

D = Decimal


@pytest.fixture
def w(db):
    return world_create()


@pytest.fixture
def boss_client(w):
    client = Client()
    client.force_login(w.boss)
    return client


@pytest.mark.django_db(transaction=True)
def test_ten_identical_new_order_posts_at_once_make_one_order():
    w = world_create()
    data = document_post(
        w.alice, w.warehouse, [{"kind": "sale", "product": w.cable.sku, "quantity": "2"}]
    )

    answers = post_together(
        w.boss, reverse("billing:order_create"), {**data, "once": once_key_new()}
    )

    order = Order.objects.get()
    assert order.lines.count() == 1
    assert [(a.status_code, a["Location"]) for a in answers] == [
        (302, order.get_absolute_url())
    ] * 10


def test_a_party_double_clicked_into_being_exists_once(boss_client, w):
    """Parties may share a name, so nothing but the key tells a double click from two parties."""
    data = {"kind": Party.Kind.CONTACT, "name": "Carol", "active": "on", "once": once_key_new()}

    for _ in range(2):
        boss_client.post(reverse("billing:party_create"), data)

    assert Party.objects.filter(name="Carol").count() == 1


# --------------------------------------------------------------------------- every billing page


def _order(w, *steps):
    order = services.order_create(
        actor=w.boss, party=w.alice, warehouse=w.warehouse, lines=[sale(w.cable, 2)]
    )
    for step in steps:
        order = step(order=order, actor=w.boss)
    return order


def _invoice(w, *steps):
    invoice = services.invoice_create(
        actor=w.boss, party=w.alice, warehouse=w.warehouse, lines=[sale(w.cable, 2)]
    )
    for step in steps:
        invoice = step(invoice=invoice, actor=w.boss)
    return invoice


def _credit_note(w):
    invoice = _invoice(w, services.invoice_post)
    return services.creditnote_create(
        actor=w.boss,
        invoice=invoice,
        return_location=w.stock,
        lines=[services.CreditLineInput(invoice_line=invoice.lines.get(), quantity=D(1))],
    )


def _rental(w):
    order = services.order_create(
        actor=w.boss,
        party=w.alice,
        warehouse=w.warehouse,
        lines=[rental(w.modem, device=w.modems[0])],
    )
    services.order_confirm(order=order, actor=w.boss)
    services.order_complete(order=order, actor=w.boss)
    return Rental.objects.get()


def _step(name, document, page=None):
    return Post(reverse(name, args=[document.pk]), {}, page=page or document.get_absolute_url())


def _line_remove(name, document):
    line = document.lines.get()
    return Post(reverse(name, args=[document.pk, line.pk]), {}, page=document.get_absolute_url())


def _line(**fields):
    return {"quantity": "1", "unit_price": "", "device": "", **fields}


BILLING_CASES = {
    "new party": lambda w: Post(
        reverse("billing:party_create"), {"kind": "contact", "name": "Carol", "active": "on"}
    ),
    "edit party": lambda w: Post(
        reverse("billing:party_edit", args=[w.alice.pk]),
        {"kind": "contact", "name": "Alice B.", "active": "on"},
    ),
    "rental return": lambda w: Post(
        reverse("billing:rental_return", args=[_rental(w).pk]),
        {"location": str(w.stock), "reason": ""},
    ),
    "new order": lambda w: Post(
        reverse("billing:order_create"),
        document_post(
            w.alice, w.warehouse, [{"kind": "sale", "product": w.cable.sku, "quantity": "2"}]
        ),
    ),
    "order line": lambda w: Post(
        reverse("billing:order_line_add", args=[_order(w).pk]),
        _line(product=w.router.sku, kind="sale", rental_until=""),
    ),
    "order line removed": lambda w: _line_remove("billing:order_line_remove", _order(w)),
    "order confirmed": lambda w: _step("billing:order_confirm", _order(w)),
    "order dispatched": lambda w: _step(
        "billing:order_dispatch", _order(w, services.order_confirm)
    ),
    "order completed": lambda w: _step("billing:order_complete", _order(w, services.order_confirm)),
    "order cancelled": lambda w: _step("billing:order_cancel", _order(w, services.order_confirm)),
    "new invoice": lambda w: Post(
        reverse("billing:invoice_create"),
        document_post(w.alice, w.warehouse, [{"product": w.cable.sku, "quantity": "2"}]),
    ),
    "invoice line": lambda w: Post(
        reverse("billing:invoice_line_add", args=[_invoice(w).pk]), _line(product=w.router.sku)
    ),
    "invoice line removed": lambda w: _line_remove("billing:invoice_line_remove", _invoice(w)),
    "invoice issued": lambda w: _step("billing:invoice_issue", _invoice(w)),
    "invoice posted": lambda w: _step("billing:invoice_post", _invoice(w)),
    "invoice cancelled": lambda w: _step(
        "billing:invoice_cancel", _invoice(w, services.invoice_issue)
    ),
    "new credit note": lambda w: (
        lambda invoice: Post(
            reverse("billing:creditnote_create", args=[invoice.pk]),
            {"return_location": str(w.stock), f"quantity_{invoice.lines.get().pk}": "1"},
        )
    )(_invoice(w, services.invoice_post)),
    "credit note posted": lambda w: _step("billing:creditnote_post", _credit_note(w)),
    "credit note cancelled": lambda w: _step("billing:creditnote_cancel", _credit_note(w)),
}


@pytest.mark.parametrize("case", BILLING_CASES.values(), ids=BILLING_CASES.keys())
def test_each_billing_page_posted_twice_books_once(boss_client, w, case):
    assert_posted_twice_booked_once(boss_client, w, case)


def test_confirm_posted_twice_reserves_once_and_answers_the_first_result(boss_client, w):
    """The state machine would refuse a second confirm; the key answers it as the first."""
    order = _order(w)
    post = _step("billing:order_confirm", order)
    data = {"once": once_key_new()}

    boss_client.post(post.url, data)
    again = boss_client.post(post.url, data, follow=True)

    assert again.redirect_chain == [(order.get_absolute_url(), 302)]
    assert messages_of(again) == [
        f"Confirmed {order.number}: its stock is reserved.",  # the first's, not yet shown
        f"Already done: Confirmed {order.number}: its stock is reserved.",
    ]
    assert Reservation.objects.filter(status=Reservation.Status.OPEN).count() == 1
