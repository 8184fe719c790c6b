"""The steps orders and invoices share: drafts, lines, reserving, consuming, selling.

Each runs inside its caller's transaction, after the caller locked the document.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from devices import services as device_services
from devices.models import Device, State
from warehouse import services as stock
from warehouse.models import Product, Reservation

from ..exceptions import BillingError, DocumentStateError, InvalidLine
from ..models import Invoice, InvoiceLine, Order, OrderLine
from .base import Action, Kind, LineInput, _locked, _state_check, number_next


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
