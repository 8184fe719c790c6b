"""The outbox events of document steps (warehouse.events): one call at the end of each step.

A step's event names the document by type and number and says its status and
lines, read in one query; it is written in the step's own transaction.
"""

from __future__ import annotations

from django.utils import timezone

from warehouse.events import events_record, number_plain
from warehouse.models import Event
from warehouse.services import actor_recorded

from .models import CreditNote, Invoice, Order, Rental

EventKind = Event.Kind

DOCUMENT_TYPES = {Order: "order", Invoice: "invoice", CreditNote: "credit_note"}


def document_step(document, kind: str, *, actor, now=None, lines=None) -> Event:
    """Record that `document` took step `kind` ("order.confirmed" …), with its lines.

    `lines`: the (line id, quantity, device id, product) rows the step read
    already (`_draft_move`), else they are read in one query.
    """
    document_type = DOCUMENT_TYPES[type(document)]
    if lines is None:
        product = "invoice_line__product" if isinstance(document, CreditNote) else "product"
        rows = document.lines.select_related(product).order_by("id")
        lines = [(line.pk, line.quantity, line.device_id, _product_of(line)) for line in rows]
    summary = [
        {"line": pk, "sku": product.sku, "quantity": number_plain(quantity)}
        for pk, quantity, _, product in lines
    ]
    (event,) = events_record(
        [
            Event(
                kind=kind,
                subject={"type": document_type, "number": document.number},
                document_type=document_type,
                document_number=document.number,
                actor=actor_recorded(actor),
                created_at=now or timezone.now(),
                data={"number": document.number, "status": document.status, "lines": summary},
            )
        ]
    )
    return event


def rental_returned(rental: Rental, *, actor, now=None) -> Event:
    """Record that a rented device came back (its device event says where it went)."""
    device = rental.device
    order = rental.order_line.order
    (event,) = events_record(
        [
            Event(
                kind=EventKind.RENTAL_RETURNED,
                subject={"type": "device", "serial": device.serial, "product": device.product.sku},
                document_type="order",
                document_number=order.number,
                actor=actor_recorded(actor),
                created_at=now or timezone.now(),
                data={
                    "number": order.number,
                    "rental": rental.pk,
                    "serial": device.serial,
                    "to": rental.return_location.code,
                },
            )
        ]
    )
    return event


def _product_of(line):
    return line.invoice_line.product if hasattr(line, "invoice_line_id") else line.product
