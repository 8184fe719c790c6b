"""CSV exports of the billing lists (parties, orders, invoices), with the page's filter applied."""

from warehouse.exports import csv_response, stream, table_rows

from . import selectors
from .filters import InvoiceFilter, OrderFilter, PartyFilter
from .tables import InvoiceTable, OrderTable, PartyTable


def _filtered(request, filterset_class, table_class, queryset, *, defaults=None):
    data = request.GET.copy()
    for key, value in (defaults or {}).items():
        data.setdefault(key, value)
    filterset = filterset_class(data, queryset=queryset)
    rows = filterset.qs if filterset.is_valid() else queryset.none()
    return table_rows(request, table_class, rows)


def parties_csv(request):
    """The parties the list shows: the parties import's columns."""
    parties = _filtered(
        request, PartyFilter, PartyTable, selectors.party_list(), defaults={"active": "true"}
    )
    header = ["name", "kind", "email", "phone", "address", "vat_number", "active"]
    rows = (
        (p.name, p.kind, p.email, p.phone, p.address, p.vat_number, p.active)
        for p in stream(parties)
    )
    return csv_response("parties.csv", header, rows)


def orders_csv(request):
    orders = _filtered(request, OrderFilter, OrderTable, selectors.order_list())
    header = ["number", "party", "warehouse", "status", "total", "created_at"]
    rows = (
        (o.number, o.party.name, o.warehouse.code, o.status, o.total, o.created_at)
        for o in stream(orders)
    )
    return csv_response("orders.csv", header, rows)


def invoices_csv(request):
    invoices = _filtered(request, InvoiceFilter, InvoiceTable, selectors.invoice_list())
    header = ["number", "party", "warehouse", "status", "order", "total", "created_at"]
    rows = (
        (
            i.number,
            i.party.name,
            i.warehouse.code,
            i.status,
            i.order.number if i.order_id else "",
            i.total,
            i.created_at,
        )
        for i in stream(invoices)
    )
    return csv_response("invoices.csv", header, rows)
