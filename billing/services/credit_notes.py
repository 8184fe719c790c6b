"""Credit notes: sold goods of a posted invoice come back, never more than was sold."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from devices import services as device_services
from devices.models import Device
from warehouse import services as stock
from warehouse.exceptions import fmt
from warehouse.models import Location

from ..events import EventKind, document_step
from ..exceptions import InvalidLine
from ..models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from .base import Action, Kind, _locked, _state_check, number_next


@dataclass(frozen=True)
class CreditLineInput:
    invoice_line: InvoiceLine
    quantity: Decimal
    device: Device | None = None


@transaction.atomic
def creditnote_create(
    *,
    actor,
    invoice: Invoice,
    return_location: Location,
    lines: Sequence[CreditLineInput],
    notes: str = "",
    now: dt.datetime | None = None,
) -> CreditNote:
    """A draft credit note returning goods of a posted invoice (never more than sold)."""
    now = now or timezone.now()
    invoice = _locked(Invoice, invoice)
    _state_check(invoice, Invoice.Status.POSTED, "credit")
    _return_location_check(return_location, invoice)
    if not lines:
        raise InvalidLine("Choose what comes back.", "lines")
    credit_note = CreditNote.objects.create(
        number=number_next(document_type="credit_note"),
        invoice=invoice,
        party=invoice.party,
        warehouse=invoice.warehouse,
        return_location=return_location,
        notes=notes,
        created_by=stock.actor_recorded(actor),
        created_at=now,
        updated_at=now,
    )
    for line in lines:
        _credit_line_check(line, invoice)
        CreditNoteLine.objects.create(
            credit_note=credit_note,
            invoice_line=line.invoice_line,
            quantity=line.quantity,
            device=line.device,
        )
    _credits_within_sold(invoice)
    document_step(credit_note, EventKind.CREDIT_NOTE_CREATED, actor=actor, now=now)
    return credit_note


@transaction.atomic
def creditnote_post(*, credit_note: CreditNote, actor, now: dt.datetime | None = None):
    """Post a credit note: goods come back in; returned devices become Used, ours again."""
    now = now or timezone.now()
    credit_note = _locked(CreditNote, credit_note)
    _state_check(credit_note, CreditNote.Status.DRAFT, "post")
    invoice = _locked(Invoice, credit_note.invoice)
    _credits_within_sold(invoice)
    location = credit_note.return_location
    # Checked again: the draft's location may have been changed since it was made.
    _return_location_check(location, invoice, document=credit_note)
    sold = stock.virtual_location(warehouse=invoice.warehouse, kind=Kind.SOLD)
    lines = credit_note.lines.select_related("invoice_line__product", "device").order_by(
        "invoice_line__product_id", "id"
    )
    for line in lines:
        product = line.invoice_line.product
        if product.traceable:
            device_services.device_transition(
                device=line.device,
                action="return",
                location=location,
                actor=actor,
                reference=credit_note.number,
                now=now,
            )
        else:
            stock.stock_between(
                actor=actor,
                product=product,
                source=sold,
                destination=location,
                quantity=line.quantity,
                action=Action.RETURN,
                reference=credit_note.number,
                unit_cost=line.invoice_line.unit_cost,
                now=now,
            )
    credit_note.status = CreditNote.Status.POSTED
    credit_note.posted_at = credit_note.updated_at = now
    credit_note.save(update_fields=["status", "posted_at", "updated_at"])
    document_step(credit_note, EventKind.CREDIT_NOTE_POSTED, actor=actor, now=now)
    return credit_note


@transaction.atomic
def creditnote_cancel(*, credit_note: CreditNote, actor, now=None) -> CreditNote:
    credit_note = _locked(CreditNote, credit_note)
    _state_check(credit_note, CreditNote.Status.DRAFT, "cancel")
    credit_note.status = CreditNote.Status.CANCELLED
    credit_note.cancelled_at = credit_note.updated_at = now or timezone.now()
    credit_note.save(update_fields=["status", "cancelled_at", "updated_at"])
    document_step(credit_note, EventKind.CREDIT_NOTE_CANCELLED, actor=actor, now=now)
    return credit_note


def _credit_line_check(line: CreditLineInput, invoice: Invoice) -> None:
    """One line coming back: of this invoice, a device it sold (one unit), or a quantity."""
    invoice_line = line.invoice_line
    refused = functools.partial(InvalidLine, invoice_line_id=invoice_line.pk)
    if invoice_line.invoice_id != invoice.pk:
        raise refused(f"That line is not on {invoice}.", "invoice_line")
    product = invoice_line.product
    if product.traceable:
        if line.device is None:
            raise refused(
                f"{product.sku} is traceable: choose the device that comes back.", "device"
            )
        if not invoice_line.devices.filter(pk=line.device.pk).exists():
            raise refused(f"{line.device} was not sold by {invoice}.", "device")
        if line.quantity != 1:
            raise refused("A device comes back as one unit.", "quantity")
    elif line.quantity is None or line.quantity <= 0:
        raise refused(f"The quantity of {product.sku} must be greater than zero.", "quantity")


def _credits_within_sold(invoice: Invoice) -> None:
    """Never credit more than was sold: counts posted and draft credit notes."""
    for invoice_line in invoice.lines.select_related("product"):
        credited = sum(
            (
                c.quantity
                for c in CreditNoteLine.objects.filter(invoice_line=invoice_line).exclude(
                    credit_note__status=CreditNote.Status.CANCELLED
                )
            ),
            Decimal(0),
        )
        if credited > invoice_line.quantity:
            raise InvalidLine(
                f"{invoice_line.product.sku}: {fmt(credited)} credited in all, "
                f"but {invoice} sold {fmt(invoice_line.quantity)}.",
                "quantity",
                invoice_line_id=invoice_line.pk,
            )
        devices = list(
            CreditNoteLine.objects.filter(invoice_line=invoice_line, device__isnull=False)
            .exclude(credit_note__status=CreditNote.Status.CANCELLED)
            .values_list("device__serial", flat=True)
        )
        repeated = sorted({s for s in devices if devices.count(s) > 1})
        if repeated:
            raise InvalidLine(
                f"Already credited: {', '.join(repeated)}.",
                "device",
                invoice_line_id=invoice_line.pk,
            )


def _return_location_check(location: Location, invoice: Invoice, document=None) -> None:
    """Returns go into a storage (or quarantine) location of the invoice's warehouse."""
    if location.kind not in (Kind.STORAGE, Kind.QUARANTINE):
        raise InvalidLine(
            f"Returns go to storage or quarantine, not to {location}.", "return_location"
        )
    warehouses = {invoice.warehouse_id, document.warehouse_id if document else invoice.warehouse_id}
    if warehouses != {location.warehouse_id}:
        raise InvalidLine(
            f"Returns of {invoice} go back to {invoice.warehouse}.", "return_location"
        )
