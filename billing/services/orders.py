"""Orders: sale and rental lines; confirm reserves, dispatch sends, complete invoices and rents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from devices import services as device_services
from warehouse import services as stock
from warehouse.models import Movement, Party, Product, Warehouse

from ..events import EventKind, document_step
from ..models import Invoice, InvoiceLine, Order, OrderLine, Rental
from .base import Action, Kind, LineInput, _locked, _next_position, _state_check, number_next
from .steps import (
    _consume,
    _draft_create,
    _draft_move,
    _line_check,
    _line_devices,
    _line_remove,
    _reserve,
    _sell,
)


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
    document_step(order, EventKind.ORDER_CREATED, actor=actor, now=now)
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
    document_step(order, EventKind.ORDER_CONFIRMED, actor=actor, now=now, lines=lines)
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
    document_step(order, EventKind.ORDER_DISPATCHED, actor=actor, now=now)
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
    if invoice is not None:  # born posted: its one step, for a billing system that follows
        document_step(invoice, EventKind.INVOICE_POSTED, actor=actor, now=now)
    document_step(order, EventKind.ORDER_COMPLETED, actor=actor, now=now)
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
    document_step(order, EventKind.ORDER_CANCELLED, actor=actor, now=now)
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
