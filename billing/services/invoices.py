"""Invoices: sale lines only; issue reserves, post sells, cancel releases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from devices import services as device_services
from warehouse import services as stock
from warehouse.models import Party, Warehouse

from ..events import EventKind, document_step
from ..models import Invoice, InvoiceLine
from .base import LineInput, _locked, _next_position, _state_check
from .steps import _consume, _draft_create, _draft_move, _line_check, _line_remove, _reserve, _sell


@transaction.atomic
def invoice_create(
    *,
    actor,
    party: Party,
    warehouse: Warehouse,
    lines: Sequence[LineInput] = (),
    notes: str = "",
    now: dt.datetime | None = None,
) -> Invoice:
    """A draft invoice: sale lines only (rentals go through orders)."""
    invoice = _draft_create(
        Invoice, "invoice", actor=actor, party=party, warehouse=warehouse, notes=notes, now=now
    )
    for line in lines:
        invoice_line_add(invoice=invoice, line=line)
    document_step(invoice, EventKind.INVOICE_CREATED, actor=actor, now=now)
    return invoice


@transaction.atomic
def invoice_line_add(*, invoice: Invoice, line: LineInput) -> InvoiceLine:
    invoice = _locked(Invoice, invoice)
    _state_check(invoice, Invoice.Status.DRAFT, "add lines to")
    _line_check(line, rental_allowed=False, document=invoice)
    return InvoiceLine.objects.create(
        invoice=invoice,
        product=line.product,
        quantity=line.quantity,
        unit_price=line.product.sale_price if line.unit_price is None else line.unit_price,
        device=line.device,
        position=_next_position(invoice.lines),
    )


@transaction.atomic
def invoice_line_remove(*, invoice: Invoice, line_id: int) -> None:
    _line_remove(Invoice, invoice, line_id)


@transaction.atomic
def invoice_issue(*, invoice: Invoice, actor, now: dt.datetime | None = None) -> Invoice:
    """Issue a draft invoice: reserve every line, or refuse naming each short product."""
    now = now or timezone.now()
    invoice, lines = _draft_move(Invoice, invoice, Invoice.Status.ISSUED, "issued_at", "issue", now)
    _reserve(invoice, "invoice", "issue", lines, actor=actor, now=now)
    document_step(invoice, EventKind.INVOICE_ISSUED, actor=actor, now=now, lines=lines)
    return invoice


@transaction.atomic
def invoice_post(*, invoice: Invoice, actor, now: dt.datetime | None = None) -> Invoice:
    """Post an invoice: goods out of stock, devices Sold and owned by the party.

    A draft is issued and posted in the same transaction.
    """
    now = now or timezone.now()
    invoice = _locked(Invoice, invoice)
    if invoice.status == Invoice.Status.DRAFT:
        invoice = invoice_issue(invoice=invoice, actor=actor, now=now)
    _state_check(invoice, Invoice.Status.ISSUED, "post")
    for line in invoice.lines.select_related("product", "device").order_by("product_id", "id"):
        _consume(invoice, "invoice", line)
        _sell(invoice, line, line, actor=actor, now=now, from_dispatched=False)
    invoice.status = Invoice.Status.POSTED
    invoice.posted_at = invoice.updated_at = now
    invoice.save(update_fields=["status", "posted_at", "updated_at"])
    document_step(invoice, EventKind.INVOICE_POSTED, actor=actor, now=now)
    return invoice


@transaction.atomic
def invoice_cancel(*, invoice: Invoice, actor, now: dt.datetime | None = None) -> Invoice:
    """Cancel an unposted invoice, releasing what it reserved (posted: use a credit note)."""
    now = now or timezone.now()
    invoice = _locked(Invoice, invoice)
    _state_check(invoice, (Invoice.Status.DRAFT, Invoice.Status.ISSUED), "cancel")
    stock.reservations_close(document_type="invoice", document_id=invoice.pk, now=now)
    device_services.devices_release(document=invoice.number, actor=actor, now=now)
    invoice.status = Invoice.Status.CANCELLED
    invoice.cancelled_at = invoice.updated_at = now
    invoice.save(update_fields=["status", "cancelled_at", "updated_at"])
    document_step(invoice, EventKind.INVOICE_CANCELLED, actor=actor, now=now)
    return invoice
