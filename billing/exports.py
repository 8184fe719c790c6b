"""CSV exports of the billing lists (parties, orders, invoices), with the page's filter applied."""

from warehouse.exports import csv_response, stream, table_rows

from . import selectors
from .tables import InvoiceTable, OrderTable, PartyTable


def parties_csv(request):
    """The parties the list shows: the parties import's columns."""
    _, parties = selectors.party_list_search(request.GET)
    parties = table_rows(request, PartyTable, parties)
    header = ["name", "kind", "email", "phone", "address", "vat_number", "active"]
    rows = (
        (p.name, p.kind, p.email, p.phone, p.address, p.vat_number, p.active)
        for p in stream(parties)
    )
    return csv_response("parties.csv", header, rows)


def orders_csv(request):
    _, orders = selectors.order_search(request.GET)
    orders = table_rows(request, OrderTable, orders)
    header = ["number", "party", "warehouse", "status", "total", "created_at"]
    rows = (
        (o.number, o.party.name, o.warehouse.code, o.status, o.total, o.created_at)
        for o in stream(orders)
    )
    return csv_response("orders.csv", header, rows)


def invoices_csv(request):
    _, invoices = selectors.invoice_search(request.GET)
    invoices = table_rows(request, InvoiceTable, invoices)
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
