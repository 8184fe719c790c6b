"""Admin for superusers: documents are viewed and searched here; they change through services.

Orders, invoices, credit notes, their lines, rentals and the numbering are
read-only: every step of a document (a line added, a confirmation, a posting)
happens on the billing pages, through the services that check its rules,
reserve and book stock. Nothing is added or deleted here either: numbers have
no gaps, and a document is cancelled.
"""

from django.contrib import admin

from warehouse.admin import ReadOnlyAdmin, ReadOnlyInline

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


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["position", "kind", "product", "quantity", "unit_price", "device", "rental_until"]


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ["position", "product", "quantity", "unit_price", "device", "unit_cost"]


class CreditNoteLineInline(ReadOnlyInline):
    model = CreditNoteLine
    fields = ["invoice_line", "quantity", "device"]


class DocumentAdmin(ReadOnlyAdmin):
    search_fields = ["number", "party__name"]
    list_select_related = ["party", "warehouse"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(Order)
class OrderAdmin(DocumentAdmin):
    list_display = ["number", "party", "warehouse", "status", "created_at"]
    list_filter = ["status", "warehouse"]
    inlines = [OrderLineInline]


@admin.register(Invoice)
class InvoiceAdmin(DocumentAdmin):
    list_display = ["number", "party", "warehouse", "status", "order", "created_at"]
    list_filter = ["status", "warehouse"]
    list_select_related = ["party", "warehouse", "order"]
    inlines = [InvoiceLineInline]


@admin.register(CreditNote)
class CreditNoteAdmin(DocumentAdmin):
    list_display = ["number", "party", "invoice", "status", "return_location", "created_at"]
    list_filter = ["status", "warehouse"]
    list_select_related = ["party", "warehouse", "invoice", "return_location__warehouse"]
    search_fields = ["number", "party__name", "invoice__number"]
    inlines = [CreditNoteLineInline]


@admin.register(Rental)
class RentalAdmin(ReadOnlyAdmin):
    """Rentals start when an order completes and end with a rental return."""

    list_display = ["device", "party", "started_at", "until", "returned_at", "return_location"]
    list_filter = ["returned_at"]
    search_fields = ["device__serial", "party__name", "order_line__order__number"]
    list_select_related = ["device__product", "party", "return_location__warehouse"]


@admin.register(DocumentSequence)
class DocumentSequenceAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "next_number"]
