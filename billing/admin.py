"""Admin for superusers: documents are read and annotated here; they change through services.

Number and status (and the dates of each step) are read-only: they move only
with the services that reserve, release and book stock. Lines stay editable
while their document is a draft, read-only afterwards. Documents are neither
added nor deleted here: numbers have no gaps, and a document is cancelled.
"""

from django.contrib import admin

from warehouse.admin import ReadOnlyAdmin

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

DRAFT = "draft"


def _draft(obj) -> bool:
    return obj is not None and obj.status == DRAFT


class LineInline(admin.TabularInline):
    """Lines of a document: editable while it is a draft."""

    extra = 0
    raw_id_fields = ["product", "device"]

    def has_add_permission(self, request, obj=None):
        return _draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return _draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _draft(obj) and super().has_delete_permission(request, obj)


class OrderLineInline(LineInline):
    model = OrderLine
    fields = ["position", "kind", "product", "quantity", "unit_price", "device", "rental_until"]


class InvoiceLineInline(LineInline):
    model = InvoiceLine
    fields = ["position", "product", "quantity", "unit_price", "device", "unit_cost"]
    readonly_fields = ["unit_cost"]


class CreditNoteLineInline(LineInline):
    model = CreditNoteLine
    fields = ["invoice_line", "quantity", "device"]
    raw_id_fields = ["invoice_line", "device"]


class DocumentAdmin(admin.ModelAdmin):
    search_fields = ["number", "party__name"]
    list_select_related = ["party", "warehouse"]
    date_hierarchy = "created_at"
    readonly = ["number", "status", "created_at", "created_by"]
    draft_only = ["party", "warehouse"]  # what the stock already held depends on

    def get_readonly_fields(self, request, obj=None):
        fields = self.readonly + self.steps
        return fields if _draft(obj) else fields + self.draft_only

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(DocumentAdmin):
    list_display = ["number", "party", "warehouse", "status", "created_at"]
    list_filter = ["status", "warehouse"]
    steps = ["confirmed_at", "dispatched_at", "completed_at", "cancelled_at"]
    inlines = [OrderLineInline]


@admin.register(Invoice)
class InvoiceAdmin(DocumentAdmin):
    list_display = ["number", "party", "warehouse", "status", "order", "created_at"]
    list_filter = ["status", "warehouse"]
    list_select_related = ["party", "warehouse", "order"]
    steps = ["order", "issued_at", "posted_at", "cancelled_at"]
    inlines = [InvoiceLineInline]


@admin.register(CreditNote)
class CreditNoteAdmin(DocumentAdmin):
    list_display = ["number", "party", "invoice", "status", "created_at"]
    list_filter = ["status", "warehouse"]
    list_select_related = ["party", "warehouse", "invoice"]
    search_fields = ["number", "party__name", "invoice__number"]
    readonly = DocumentAdmin.readonly + ["party", "warehouse"]  # the invoice's
    steps = ["invoice", "posted_at"]
    draft_only = ["return_location"]
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
