"""Every non-trivial read of billing, shaped so pages stay O(page size)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Prefetch, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round
from django.shortcuts import get_object_or_404

from devices.models import Device
from warehouse.models import Location, Party, Warehouse

from .filters import InvoiceFilter, OrderFilter, PartyFilter
from .models import (
    PRICE,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    Order,
    OrderLine,
    Rental,
)

ZERO_PRICE = Value(Decimal("0"), output_field=DecimalField(**PRICE))


def _total(lines: QuerySet, document: str, unit_price: str = "unit_price"):
    """Σ of a document's lines' totals, each rounded to the cent like `Line.total`.

    A correlated subquery on the lines, not a join and GROUP BY: a list page
    then sums the lines of its own rows only, not of every document.
    """
    line_total = Round(F("quantity") * F(unit_price), 2)
    summed = (
        lines.filter(**{document: OuterRef("pk")})
        .order_by()
        .values(document)
        .annotate(total=Sum(line_total, output_field=DecimalField(**PRICE)))
        .values("total")
    )
    return Coalesce(Subquery(summed, output_field=DecimalField(**PRICE)), ZERO_PRICE)


def document_total(lines) -> Decimal:
    """The grand total of a document: the sum of its lines' totals (never typed)."""
    return sum((line.total for line in lines), Decimal("0.00"))


# --------------------------------------------------------------------------- parties


def party_list() -> QuerySet[Party]:
    return Party.objects.order_by("name", "id")


def party_devices(*, party: Party) -> QuerySet[Device]:
    """The devices the party owns (bought, or registered as its own)."""
    return (
        Device.objects.filter(owner=party)
        .select_related("product", "status")
        .order_by("product__sku", "serial")
    )


def party_rentals(*, party: Party) -> QuerySet[Rental]:
    """What the party rents now: rentals not yet returned."""
    return (
        Rental.objects.filter(party=party, returned_at__isnull=True)
        .select_related("device__product", "order_line__order__warehouse")
        .order_by("until", "started_at", "id")
    )


def party_documents(*, party: Party, limit: int = 50) -> dict[str, list]:
    """The party's latest orders, invoices and credit notes, with their totals."""
    return {
        "orders": list(order_list().filter(party=party)[:limit]),
        "invoices": list(invoice_list().filter(party=party)[:limit]),
        "credit_notes": list(creditnote_list().filter(party=party)[:limit]),
    }


# --------------------------------------------------------------------------- orders


def order_list() -> QuerySet[Order]:
    """Orders with party, warehouse and the total of their lines, newest first."""
    return (
        Order.objects.select_related("party", "warehouse")
        .annotate(total=_total(OrderLine.objects.all(), "order"))
        .order_by("-created_at", "-id")
    )


def order_get(*, pk: int) -> Order:
    return get_object_or_404(
        Order.objects.select_related("party", "warehouse", "created_by", "invoice"), pk=pk
    )


def order_lines(*, order: Order) -> list:
    """The lines of an order with product, named device and the devices that went out."""
    return list(
        order.lines.select_related("product", "device").prefetch_related(
            Prefetch("assigned_devices", queryset=Device.objects.order_by("serial"))
        )
    )


# --------------------------------------------------------------------------- invoices


def invoice_list() -> QuerySet[Invoice]:
    """Invoices with party, warehouse, their order and the total of their lines."""
    return (
        Invoice.objects.select_related("party", "warehouse", "order")
        .annotate(total=_total(InvoiceLine.objects.all(), "invoice"))
        .order_by("-created_at", "-id")
    )


def invoice_get(*, pk: int) -> Invoice:
    return get_object_or_404(
        Invoice.objects.select_related("party", "warehouse", "created_by", "order"), pk=pk
    )


def invoice_lines(*, invoice: Invoice) -> list[InvoiceLine]:
    """The lines of an invoice with product, named device and the devices sold."""
    return list(
        invoice.lines.select_related("product", "device").prefetch_related(
            Prefetch("devices", queryset=Device.objects.order_by("serial"))
        )
    )


def invoice_credit_notes(*, invoice: Invoice) -> QuerySet[CreditNote]:
    return creditnote_list().filter(invoice=invoice)


def invoice_creditable(*, invoice: Invoice) -> list[tuple[InvoiceLine, Decimal, list[Device]]]:
    """Per line of a posted invoice: what may still come back.

    (line, quantity not yet credited, devices sold and not yet credited);
    draft and posted credit notes count, cancelled ones do not.
    """
    lines = invoice_lines(invoice=invoice)
    credits = CreditNoteLine.objects.filter(invoice_line__invoice=invoice).exclude(
        credit_note__status=CreditNote.Status.CANCELLED
    )
    credited: dict[int, Decimal] = {}
    credited_devices: set[int] = set()
    for invoice_line_id, quantity, device_id in credits.values_list(
        "invoice_line_id", "quantity", "device_id"
    ):
        credited[invoice_line_id] = credited.get(invoice_line_id, Decimal(0)) + quantity
        if device_id:
            credited_devices.add(device_id)
    return [
        (
            line,
            line.quantity - credited.get(line.pk, Decimal(0)),
            [d for d in line.devices.all() if d.pk not in credited_devices],
        )
        for line in lines
    ]


# --------------------------------------------------------------------------- credit notes


def creditnote_list() -> QuerySet[CreditNote]:
    """Credit notes with party, invoice and the total of what they return."""
    return (
        CreditNote.objects.select_related("party", "warehouse", "invoice")
        .annotate(
            total=_total(CreditNoteLine.objects.all(), "credit_note", "invoice_line__unit_price")
        )
        .order_by("-created_at", "-id")
    )


def creditnote_get(*, pk: int) -> CreditNote:
    return get_object_or_404(
        CreditNote.objects.select_related(
            "party", "warehouse", "created_by", "invoice", "return_location__warehouse"
        ),
        pk=pk,
    )


def creditnote_lines(*, credit_note: CreditNote) -> list[CreditNoteLine]:
    return list(
        credit_note.lines.select_related("invoice_line__product", "device").order_by(
            "invoice_line__position", "id"
        )
    )


# --------------------------------------------------------------------------- places


def return_locations(*, warehouse: Warehouse | int) -> QuerySet[Location]:
    """Where returned goods may go: active storage and quarantine of one warehouse."""
    return (
        Location.objects.filter(
            warehouse=warehouse,
            kind__in=[Location.Kind.STORAGE, Location.Kind.QUARANTINE],
            active=True,
        )
        .select_related("warehouse")
        .order_by("kind", "code")
    )


def active_parties() -> QuerySet[Party]:
    return Party.objects.filter(active=True).order_by("name")


def active_warehouses() -> QuerySet[Warehouse]:
    return Warehouse.objects.filter(active=True).order_by("code")


# --------------------------------------------------------------------------- page searches
# One function per list page: the page and its CSV export filter alike.


def _filtered(filterset) -> QuerySet:
    """The FilterSet's rows, or none when what was asked is not valid."""
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


def party_list_search(params):
    """The parties filter applied, active parties unless asked: (filterset, parties)."""
    data = params.copy()
    data.setdefault("active", "true")
    filterset = PartyFilter(data, queryset=party_list())
    return filterset, _filtered(filterset)


def order_search(params):
    """The orders filter applied: (filterset, orders)."""
    filterset = OrderFilter(params, queryset=order_list())
    return filterset, _filtered(filterset)


def invoice_search(params):
    """The invoices filter applied: (filterset, invoices)."""
    filterset = InvoiceFilter(params, queryset=invoice_list())
    return filterset, _filtered(filterset)
