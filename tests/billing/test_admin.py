"""Documents in the admin: a superuser reads and searches them, and changes nothing there.

Through the admin a superuser once gave an order line a unit of another
product and moved a credit note's return into another warehouse: every step
of a document happens on its page, through the services that check it.
`admin_client` is pytest-django's logged-in superuser.
"""

from decimal import Decimal

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from billing import services
from billing.models import CreditNote, DocumentSequence, Invoice, Order, Rental
from tests.billing.factories import (
    devices_in,
    goods_in,
    invoice_create,
    order_create,
    rental,
    sale,
    shop_create,
)
from tests.warehouse.factories import ProductFactory, WarehouseFactory, storage_of
from warehouse.models import Reservation

pytestmark = pytest.mark.django_db

SAVE = 'name="_save"'


def url(obj, view="change") -> str:
    meta = obj._meta
    args = [] if view in ("add", "changelist") else [obj.pk]
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


@pytest.fixture
def shop():
    shop = shop_create()
    goods_in(shop.stock, shop.cable, 10)
    shop.m1, shop.m2 = devices_in(shop.stock, shop.modem, "M1", "M2")
    return shop


@pytest.fixture
def documents(shop):
    """A draft order naming M1, a rental of M2, a posted invoice and its draft credit note."""
    draft = order_create(shop, sale(shop.cable, 1), sale(shop.modem, 1, device=shop.m1))
    rented = order_create(shop, rental(shop.modem, device=shop.m2))
    services.order_confirm(order=rented, actor=shop.clerk)
    services.order_complete(order=rented, actor=shop.clerk)
    invoice = invoice_create(shop, sale(shop.cable, 2))
    services.invoice_post(invoice=invoice, actor=shop.clerk)
    note = services.creditnote_create(
        actor=shop.clerk,
        invoice=invoice,
        return_location=shop.stock,
        lines=[services.CreditLineInput(invoice.lines.get(), Decimal(1))],
    )
    return draft, invoice, note


def test_documents_are_listed_searched_and_shown_in_the_admin(admin_client, documents):
    draft, invoice, note = documents

    for model, number in ((Order, draft.number), (Invoice, invoice.number), (CreditNote, "")):
        listed = admin_client.get(url(model(), "changelist"), {"q": number})
        assert listed.status_code == 200
    assertContains(admin_client.get(url(Order(), "changelist"), {"q": draft.number}), draft.number)
    for model in (Rental, DocumentSequence):
        assert admin_client.get(url(model(), "changelist")).status_code == 200
    for document in (draft, invoice, note, Rental.objects.get(), DocumentSequence.objects.first()):
        page = admin_client.get(url(document))
        assert page.status_code == 200
        assertNotContains(page, SAVE)


def test_a_draft_orders_lines_are_not_editable_in_the_admin(admin_client, shop, documents):
    """Not even a draft's: a line's device could become a unit of another product."""
    draft, _, _ = documents
    page = admin_client.get(url(draft))
    assertContains(page, "M1")
    assertNotContains(page, 'name="lines-0-quantity"')
    assertNotContains(page, 'name="lines-1-device"')
    assertNotContains(page, 'name="party"')
    phone = ProductFactory(sku="PHN-1", traceable=True)
    (other,) = devices_in(shop.stock, phone, "P1")
    line = draft.lines.get(device=shop.m1)

    response = admin_client.post(
        url(draft),
        {
            "party": shop.alice.pk,
            "warehouse": shop.warehouse.pk,
            "notes": "changed",
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "2",
            "lines-0-id": line.pk,
            "lines-0-device": other.pk,
        },
    )

    assert response.status_code == 403
    line.refresh_from_db()
    assert (line.device_id, line.product_id) == (shop.m1.pk, shop.modem.pk)
    assert Order.objects.get(pk=draft.pk).notes == ""


def test_a_credit_notes_return_location_is_not_changed_in_the_admin(admin_client, documents):
    _, _, note = documents
    north = WarehouseFactory(code="north", name="North")

    response = admin_client.post(url(note), {"return_location": storage_of(north).pk})

    assert response.status_code == 403
    note.refresh_from_db()
    assert note.return_location.warehouse.code == "main"


@pytest.mark.parametrize("model", [Order, Invoice, CreditNote, Rental, DocumentSequence])
def test_documents_are_neither_added_nor_deleted_in_the_admin(admin_client, documents, model):
    row = model.objects.first()
    assert admin_client.get(url(row, "add")).status_code == 403
    assert admin_client.post(url(row, "delete"), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


def test_reservations_are_shown_in_the_admin_and_left_to_the_documents(admin_client, shop):
    order = order_create(shop, sale(shop.cable, 4))
    services.order_confirm(order=order, actor=shop.clerk)
    held = Reservation.objects.get(document_number=order.number)

    listed = admin_client.get(url(held, "changelist"), {"q": order.number})
    assertContains(listed, order.number)
    page = admin_client.get(url(held))
    assert page.status_code == 200
    assertNotContains(page, SAVE)
    assert admin_client.post(url(held), {"quantity": "1"}).status_code == 403
    assert admin_client.post(url(held, "delete"), {"post": "yes"}).status_code == 403
    held.refresh_from_db()
    assert (held.quantity, held.status) == (4, Reservation.Status.OPEN)
