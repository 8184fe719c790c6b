"""Every write to billing documents: orders, invoices, credit notes, rentals.

Each step of a document runs in one transaction: it locks the document row
first, then (through the warehouse and devices services) the product ×
warehouse balance rows in product order, then devices — the one global lock
order, so clerks working at once never deadlock. Confirming or issuing
reserves every line or none; posting consumes the reservation and moves the
stock together; cancelling releases.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from devices import services as device_services
from devices.models import Device, State
from warehouse import services as stock
from warehouse.exceptions import fmt
from warehouse.models import Location, Movement, Party, Product, Reservation, Warehouse

from .exceptions import BillingError, DocumentStateError, InvalidLine
from .models import (
    CreditNote,
    CreditNoteLine,
    DocumentSequence,
    Invoice,
    InvoiceLine,
    Order,
    OrderLine,
    Rental,
)

Kind = Location.Kind
Action = Movement.Action

PREFIX = {"order": "ORD", "invoice": "INV", "credit_note": "CN"}


@dataclass(frozen=True)
class LineInput:
    product: Product
    quantity: Decimal
    unit_price: Decimal | None = None  # None: the product's default price
    kind: str = OrderLine.Kind.SALE
    device: Device | None = None
    rental_until: dt.date | None = None


# --------------------------------------------------------------------------- numbering


def number_next(*, document_type: str) -> str:
    """The next number of a document type, without gaps or duplicates.

    The sequence row stays locked until the caller's transaction ends, so a
    rolled-back document gives its number back.
    """
    prefix = PREFIX[document_type]
    DocumentSequence.objects.get_or_create(prefix=prefix)
    sequence = DocumentSequence.objects.select_for_update().get(prefix=prefix)
    number = sequence.next_number
    sequence.next_number = number + 1
    sequence.save(update_fields=["next_number"])
    return f"{prefix}-{number:06d}"


# --------------------------------------------------------------------------- orders


@transaction.atomic
def order_create(
    *,
    actor,
    party: Party,
    warehouse: Warehouse,
    lines: Sequence[LineInput] = (),
    notes: str = "",
    now: dt.datetime | None = None,
) -> Order:
    """A draft order; lines may follow with `order_line_add`."""
    order = _draft_create(
        Order, "order", actor=actor, party=party, warehouse=warehouse, notes=notes, now=now
    )
    for line in lines:
        order_line_add(order=order, line=line)
    return order


@transaction.atomic
def order_line_add(*, order: Order, line: LineInput) -> OrderLine:
    """Add a sale or rental line to a draft order (prices default from the product)."""
    order = _locked(Order, order)
    _state_check(order, Order.Status.DRAFT, "add lines to")
    _line_check(line, rental_allowed=True, document=order)
    price = line.unit_price
    if price is None:
        rental = line.kind == OrderLine.Kind.RENTAL
        price = line.product.rental_price if rental else line.product.sale_price
    return OrderLine.objects.create(
        order=order,
        kind=line.kind,
        product=line.product,
        quantity=line.quantity,
        unit_price=price,
        device=line.device,
        rental_until=line.rental_until,
        position=_next_position(order.lines),
    )


@transaction.atomic
def order_line_remove(*, order: Order, line_id: int) -> None:
    _line_remove(Order, order, line_id)


@transaction.atomic
def order_confirm(*, order: Order, actor, now: dt.datetime | None = None) -> Order:
    """Reserve every line of the order, or refuse naming each short product.

    The order's own row is locked first, by the UPDATE that confirms it: the
    stock rows other clerks wait for are taken last, and stay locked only until
    the commit (a refusal rolls all back).
    """
    now = now or timezone.now()
    order, lines = _draft_move(Order, order, Order.Status.CONFIRMED, "confirmed_at", "confirm", now)
    _reserve(order, "order", "confirm", lines, actor=actor, now=now)
    return order


@transaction.atomic
def order_dispatch(*, order: Order, actor, now: dt.datetime | None = None) -> Order:
    """Send a confirmed order's goods out: storage → dispatched; devices Dispatched."""
    now = now or timezone.now()
    order = _locked(Order, order)
    _state_check(order, Order.Status.CONFIRMED, "dispatch")
    for line in order.lines.select_related("product", "device").order_by("product_id", "id"):
        _consume(order, "order", line)
        if line.product.traceable:
            for device in _line_devices(order, line):
                device_services.device_transition(
                    device=device,
                    action="dispatch",
                    party=order.party,
                    actor=actor,
                    reference=order.number,
                    now=now,
                )
        else:
            stock.stock_out(
                actor=actor,
                product=line.product,
                warehouse=order.warehouse,
                quantity=line.quantity,
                to_kind=Kind.DISPATCHED,
                action=Action.DISPATCH,
                reference=order.number,
                now=now,
            )
    order.status = Order.Status.DISPATCHED
    order.dispatched_at = order.updated_at = now
    order.save(update_fields=["status", "dispatched_at", "updated_at"])
    return order


@transaction.atomic
def order_complete(*, order: Order, actor, now: dt.datetime | None = None) -> Order:
    """Complete an order: invoice and sell its sale lines, rent its rental lines."""
    now = now or timezone.now()
    order = _locked(Order, order)
    _state_check(order, (Order.Status.CONFIRMED, Order.Status.DISPATCHED), "complete")
    dispatched = order.status == Order.Status.DISPATCHED
    lines = list(order.lines.select_related("product", "device").order_by("product_id", "id"))
    sale_lines = [line for line in lines if line.kind == OrderLine.Kind.SALE]
    invoice = None
    if sale_lines:
        invoice = Invoice.objects.create(
            number=number_next(document_type="invoice"),
            party=order.party,
            warehouse=order.warehouse,
            order=order,
            status=Invoice.Status.POSTED,
            notes=f"For order {order.number}.",
            created_by=stock.actor_recorded(actor),
            created_at=now,
            updated_at=now,
            issued_at=now,
            posted_at=now,
        )
    for line in lines:
        if not dispatched:
            _consume(order, "order", line)
        if line.kind == OrderLine.Kind.SALE:
            invoice_line = InvoiceLine.objects.create(
                invoice=invoice,
                product=line.product,
                quantity=line.quantity,
                unit_price=line.unit_price,
                device=line.device,
                position=line.position,
            )
            _sell(order, line, invoice_line, actor=actor, now=now, from_dispatched=dispatched)
        else:
            for device in _line_devices(order, line):
                device = device_services.device_transition(
                    device=device,
                    action="rent",
                    party=order.party,
                    actor=actor,
                    reference=order.number,
                    now=now,
                ).device
                Rental.objects.create(
                    order_line=line,
                    device=device,
                    party=order.party,
                    started_at=now,
                    until=line.rental_until,
                )
    order.status = Order.Status.COMPLETED
    order.completed_at = order.updated_at = now
    order.save(update_fields=["status", "completed_at", "updated_at"])
    return order


@transaction.atomic
def order_cancel(*, order: Order, actor, now: dt.datetime | None = None) -> Order:
    """Cancel an order: release its reservations and bring dispatched goods back."""
    now = now or timezone.now()
    order = _locked(Order, order)
    _state_check(
        order,
        (Order.Status.DRAFT, Order.Status.CONFIRMED, Order.Status.DISPATCHED),
        "cancel",
    )
    if order.status == Order.Status.DISPATCHED:
        undone = set()
        for line in order.lines.select_related("product").order_by("product_id", "id"):
            if line.product.traceable:
                for device in line.assigned_devices.select_related("product", "location"):
                    device_services.device_transition(
                        device=device,
                        action="undispatch",
                        actor=actor,
                        reference=order.number,
                        now=now,
                    )
            elif line.product_id not in undone:
                # The product's dispatch movements cover all its lines: undo them once.
                undone.add(line.product_id)
                _undispatch_counted(order, line.product, actor=actor, now=now)
    stock.reservations_close(document_type="order", document_id=order.pk, now=now)
    device_services.devices_release(document=order.number, actor=actor, now=now)
    order.status = Order.Status.CANCELLED
    order.cancelled_at = order.updated_at = now
    order.save(update_fields=["status", "cancelled_at", "updated_at"])
    return order


def _undispatch_counted(order: Order, product: Product, *, actor, now) -> None:
    """A counted product goes back to the storage locations it was dispatched from."""
    sent = Movement.objects.filter(
        reference=order.number, product=product, action=Action.DISPATCH
    ).select_related("source__warehouse", "destination__warehouse")
    for movement in sent.order_by("id"):
        stock.stock_between(
            actor=actor,
            product=product,
            source=movement.destination,
            destination=movement.source,
            quantity=movement.quantity,
            action=Action.UNDISPATCH,
            reference=order.number,
            unit_cost=movement.unit_cost,
            now=now,
        )


# --------------------------------------------------------------------------- invoices


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
    return invoice


# --------------------------------------------------------------------------- credit notes


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
        raise InvalidLine("Choose what comes back.")
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
    return credit_note


@transaction.atomic
def creditnote_cancel(*, credit_note: CreditNote, actor, now=None) -> CreditNote:
    credit_note = _locked(CreditNote, credit_note)
    _state_check(credit_note, CreditNote.Status.DRAFT, "cancel")
    credit_note.status = CreditNote.Status.CANCELLED
    credit_note.cancelled_at = credit_note.updated_at = now or timezone.now()
    credit_note.save(update_fields=["status", "cancelled_at", "updated_at"])
    return credit_note


def _credit_line_check(line: CreditLineInput, invoice: Invoice) -> None:
    invoice_line = line.invoice_line
    if invoice_line.invoice_id != invoice.pk:
        raise InvalidLine(f"That line is not on {invoice}.")
    product = invoice_line.product
    if product.traceable:
        if line.device is None:
            raise InvalidLine(f"{product.sku} is traceable: choose the device that comes back.")
        if not invoice_line.devices.filter(pk=line.device.pk).exists():
            raise InvalidLine(f"{line.device} was not sold by {invoice}.")
        if line.quantity != 1:
            raise InvalidLine("A device comes back as one unit.")
    elif line.quantity is None or line.quantity <= 0:
        raise InvalidLine(f"The quantity of {product.sku} must be greater than zero.")


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
                f"but {invoice} sold {fmt(invoice_line.quantity)}."
            )
        devices = list(
            CreditNoteLine.objects.filter(invoice_line=invoice_line, device__isnull=False)
            .exclude(credit_note__status=CreditNote.Status.CANCELLED)
            .values_list("device__serial", flat=True)
        )
        repeated = sorted({s for s in devices if devices.count(s) > 1})
        if repeated:
            raise InvalidLine(f"Already credited: {', '.join(repeated)}.")


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


# --------------------------------------------------------------------------- rentals


@transaction.atomic
def rental_return(
    *, rental: Rental, location: Location, actor, reason: str = "", now=None
) -> Rental:
    """End a rental: the device comes back to storage (or quarantine) as Used."""
    now = now or timezone.now()
    rental = (
        Rental.objects.select_for_update()
        .select_related("device", "order_line__order")
        .get(pk=rental.pk)
    )
    if rental.returned_at is not None:
        raise DocumentStateError(f"{rental.device} came back already.")
    warehouse_id = rental.order_line.order.warehouse_id
    if location.warehouse_id != warehouse_id:
        raise InvalidLine(
            f"{rental.device} comes back to {rental.order_line.order.warehouse}.", "location"
        )
    device_services.device_transition(
        device=rental.device,
        action="return_rental",
        location=location,
        actor=actor,
        reason=reason,
        reference=rental.order_line.order.number,
        now=now,
    )
    rental.returned_at = now
    rental.return_location = location
    rental.save(update_fields=["returned_at", "return_location"])
    return rental


# --------------------------------------------------------------------------- shared steps


def _draft_create(model, document_type: str, *, actor, party, warehouse, notes, now):
    """A numbered draft order or invoice, without lines yet."""
    now = now or timezone.now()
    return model.objects.create(
        number=number_next(document_type=document_type),
        party=party,
        warehouse=warehouse,
        notes=notes,
        created_by=stock.actor_recorded(actor),
        created_at=now,
        updated_at=now,
    )


def _line_remove(model, document, line_id: int) -> None:
    """Remove a line of a draft order or invoice (the document locked first)."""
    document = _locked(model, document)
    _state_check(document, model.Status.DRAFT, "remove lines from")
    document.lines.filter(pk=line_id).delete()


def _reserve(document, document_type: str, verb: str, lines, *, actor, now) -> None:
    """Reserve every line of a document, then hold the devices its lines name.

    `lines`: (line id, quantity, device id, product) as `_draft_move` reads them.
    """
    if not lines:
        raise BillingError(f"{document} has no lines: nothing to {verb}.")
    warehouse_field = type(document)._meta.get_field("warehouse")
    # Called last in the caller's transaction, which a refusal rolls back whole:
    # no savepoint to release while the stock rows are locked.
    stock.reservations_hold(
        document_type=document_type,
        document_id=document.pk,
        document_number=document.number,
        warehouse=document.warehouse
        if warehouse_field.is_cached(document)
        else document.warehouse_id,
        lines=[stock.ReservationLine(line_id, product, qty) for line_id, qty, _, product in lines],
        now=now,
        savepoint=False,
    )
    device_ids = sorted(device_id for _, _, device_id, _ in lines if device_id)
    if device_ids:
        for device in Device.objects.filter(pk__in=device_ids).order_by("pk"):
            device_services.device_reserve(
                device=device,
                document=document.number,
                warehouse_id=document.warehouse_id,
                actor=actor,
                now=now,
            )


@functools.cache
def _draft_move_sql(model, stamp: str) -> tuple[str, list[str], list[str]]:
    """The UPDATE that moves a draft on, then the SELECT of its lines with their products."""
    fields = model._meta.concrete_fields
    line_model = {Order: OrderLine, Invoice: InvoiceLine}[model]
    product_fields = Product._meta.concrete_fields
    sql = (
        f'UPDATE "{model._meta.db_table}" SET status = %s, "{stamp}" = %s, updated_at = %s'
        " WHERE id = %s AND status = %s RETURNING "
        + ", ".join(f'"{f.column}"' for f in fields)
        + "; SELECT l.id, l.quantity, l.device_id, "
        + ", ".join(f'p."{f.column}"' for f in product_fields)
        + f' FROM "{line_model._meta.db_table}" l'
        + f' JOIN "{Product._meta.db_table}" p ON p.id = l.product_id'
        + f' WHERE l."{line_model._meta.get_field(model._meta.model_name).column}" = %s'
        + " ORDER BY l.position, l.id"
    )
    return sql, [f.attname for f in fields], [f.attname for f in product_fields]


def _draft_move(model, document, status: str, stamp: str, verb: str, now):
    """The draft moved to `status`, stamped `now`: a fresh copy and its lines back.

    One round trip: a conditional UPDATE locks the row, checks it is a draft
    and writes it; the SELECT after it (a statement of its own, so it sees
    lines added until the lock was granted) reads the lines with their
    products: (line id, quantity, device id, product).
    Refused with DocumentStateError as `_state_check` words it when the
    document is not a draft (read again to name its status).
    """
    sql, attnames, product_attnames = _draft_move_sql(model, stamp)
    draft = model.Status.DRAFT
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [status, now, now, document.pk, draft, document.pk])
            row = cursor.fetchone()
            cursor.nextset()
            lines = cursor.fetchall()
        if row is not None:
            break
        # Refused, unless it became a draft again since: then it is tried again.
        _state_check(model.objects.get(pk=document.pk), draft, verb)
    alias = connection.alias
    moved = model.from_db(alias, attnames, row)
    lines = [
        (line[0], line[1], line[2], Product.from_db(alias, product_attnames, line[3:]))
        for line in lines
    ]
    for name in ("party", "warehouse"):
        # The caller's copy of what did not change: no query to read them again.
        field = model._meta.get_field(name)
        if field.is_cached(document) and getattr(document, field.attname) == getattr(
            moved, field.attname
        ):
            field.set_cached_value(moved, field.get_cached_value(document))
    return moved, lines


def _consume(document, document_type: str, line) -> None:
    closed = stock.reservations_close(
        document_type=document_type,
        document_id=document.pk,
        line_ids=[line.pk],
        status=Reservation.Status.CONSUMED,
    )
    if not closed:
        raise DocumentStateError(f"{document}: line {line.position} holds no reservation.")


def _line_devices(order: Order, line: OrderLine) -> list[Device]:
    """The devices of a traceable line: the named one, those assigned, or available ones."""
    assigned = list(line.assigned_devices.select_related("product", "location__warehouse"))
    if assigned:
        return assigned
    if line.device_id:
        devices = [line.device]
    else:
        count = int(line.quantity)
        devices = device_services.devices_available(
            product=line.product, warehouse_id=order.warehouse_id, count=count
        )
        if len(devices) < count:
            raise stock.InsufficientStock(
                product=line.product,
                location=f"{order.warehouse} storage",
                available=Decimal(len(devices)),
                requested=line.quantity,
            )
    line.assigned_devices.set(devices)
    return devices


def _sell(document, line, invoice_line: InvoiceLine, *, actor, now, from_dispatched) -> None:
    if line.product.traceable:
        if isinstance(line, OrderLine):
            devices = _line_devices(document, line)
        elif line.device_id:
            devices = [line.device]
        else:
            devices = device_services.devices_available(
                product=line.product, warehouse_id=document.warehouse_id, count=int(line.quantity)
            )
            if len(devices) < line.quantity:
                raise stock.InsufficientStock(
                    product=line.product,
                    location=f"{document.warehouse} storage",
                    available=Decimal(len(devices)),
                    requested=line.quantity,
                )
        costs = []
        for device in devices:
            sold = device_services.device_transition(
                device=device,
                action="sell",
                party=document.party,
                actor=actor,
                reference=document.number,
                now=now,
            )
            costs.append(sold.movement.unit_cost)
        invoice_line.devices.set(devices)
        invoice_line.unit_cost = sum(costs, Decimal(0)) / len(costs)
    elif from_dispatched:
        movement = stock.stock_between(
            actor=actor,
            product=line.product,
            source=stock.virtual_location(warehouse=document.warehouse, kind=Kind.DISPATCHED),
            destination=stock.virtual_location(warehouse=document.warehouse, kind=Kind.SOLD),
            quantity=line.quantity,
            action=Action.SELL,
            reference=document.number,
            now=now,
        )
        invoice_line.unit_cost = movement.unit_cost
    else:
        movements = stock.stock_out(
            actor=actor,
            product=line.product,
            warehouse=document.warehouse,
            quantity=line.quantity,
            to_kind=Kind.SOLD,
            action=Action.SELL,
            reference=document.number,
            now=now,
        )
        total = sum((m.quantity * m.unit_cost for m in movements), Decimal(0))
        invoice_line.unit_cost = (total / line.quantity).quantize(Decimal("0.0001"))
    invoice_line.save(update_fields=["unit_cost"])


def _line_check(line: LineInput, *, rental_allowed: bool, document) -> None:
    product = line.product
    if not product.active:
        raise InvalidLine(f"{product.sku} is inactive: it cannot be sold or rented.", "product")
    if line.kind == OrderLine.Kind.RENTAL:
        if not rental_allowed:
            raise InvalidLine("Invoices carry no rental lines: rentals go through orders.", "kind")
        if not product.traceable:
            raise InvalidLine(
                f"{product.sku} is not traceable: only devices are rented.", "product"
            )
    if line.quantity is None or line.quantity <= 0:
        raise InvalidLine(f"The quantity of {product.sku} must be greater than zero.", "quantity")
    if product.traceable and line.quantity != line.quantity.to_integral_value():
        raise InvalidLine(f"{product.sku} is counted in devices: a whole number.", "quantity")
    if line.unit_price is not None and line.unit_price < 0:
        raise InvalidLine("A price cannot be negative.", "unit_price")
    if line.device is not None:
        if line.device.product_id != product.pk:
            raise InvalidLine(f"{line.device} is not a {product.sku}.", "device")
        if line.quantity != 1:
            raise InvalidLine("A line naming a device is for one unit.", "quantity")
        if document.lines.filter(device=line.device).exists():
            # Two lines would reserve two units for one device, then fail at dispatch or post.
            raise InvalidLine(f"{line.device} is on {document} already.", "device")
        if line.device.state not in (State.NEW, State.USED) or line.device.owner_id:
            raise InvalidLine(
                f"{line.device} is {line.device.get_state_display()}: it is not for sale or rent.",
                "device",
            )


def _next_position(lines) -> int:
    last = lines.aggregate(last=Max("position"))["last"]
    return (last or 0) + 1


def _locked(model, document):
    return (
        model.objects.select_for_update().select_related("party", "warehouse").get(pk=document.pk)
    )


def _state_check(document, allowed, verb: str) -> None:
    allowed = (allowed,) if isinstance(allowed, str) else allowed
    if document.status not in allowed:
        raise DocumentStateError(
            f"{document} is {document.get_status_display().lower()}: cannot {verb} it."
        )
