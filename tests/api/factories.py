"""Documents of every kind, booked through the billing services, for the API's reads."""

from dataclasses import dataclass
from decimal import Decimal

from billing import services
from billing.models import CreditNote, Invoice, Order, Rental
from tests.billing.factories import (
    Shop,
    devices_in,
    goods_in,
    invoice_create,
    order_create,
    rental,
    sale,
    shop_create,
)


@dataclass
class Books:
    shop: Shop
    order: Order  # completed: a sale of 3 cables and a modem rented to Alice
    rental: Rental
    invoice: Invoice  # posted: 2 routers
    credit_note: CreditNote  # draft: one router back


def books_create(shop: Shop | None = None, serial: str = "MDM-9") -> Books:
    shop = shop or shop_create()
    goods_in(shop.stock, shop.cable, 100)
    goods_in(shop.stock, shop.router, 10, "40.00")
    (modem,) = devices_in(shop.stock, shop.modem, serial)
    order = order_create(shop, sale(shop.cable, 3), rental(shop.modem, device=modem))
    for step in (services.order_confirm, services.order_dispatch, services.order_complete):
        order = step(order=order, actor=shop.clerk)
    invoice = invoice_create(shop, sale(shop.router, 2))
    invoice = services.invoice_issue(invoice=invoice, actor=shop.clerk)
    invoice = services.invoice_post(invoice=invoice, actor=shop.clerk)
    credit_note = services.creditnote_create(
        actor=shop.clerk,
        invoice=invoice,
        return_location=shop.stock,
        lines=[services.CreditLineInput(invoice.lines.get(), Decimal(1))],
    )
    return Books(shop, order, Rental.objects.get(device=modem), invoice, credit_note)
