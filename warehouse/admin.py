"""Admin for superusers: reference data editable; what a service writes is read-only.

The ledger, its projections (positions, balances), reservations, incoming
packages and FIFO layers are written by the services only: shown and searched
here, never added, changed or deleted. Locations follow the location form's
rules (virtual ones are read-only, real ones stay real, a booked one keeps its kind).
"""

from django.contrib import admin

from . import services
from .forms import LocationForm
from .models import (
    CostLayer,
    IncomingPackage,
    LayerConsumption,
    Location,
    Movement,
    Party,
    Product,
    Reservation,
    StockPosition,
    Warehouse,
    WarehouseStock,
)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "unit", "traceable", "active"]
    list_filter = ["traceable", "active", "unit"]
    search_fields = ["sku", "name"]

    def get_readonly_fields(self, request, obj=None):
        # Traceability decides how stock is counted: fixed once stock was booked.
        if obj is not None and obj.movements.exists():
            return ["traceable"]
        return []


@admin.register(Party)
class PartyAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "email", "phone", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "email", "vat_number"]


class LocationInline(admin.TabularInline):
    """A warehouse's real locations (its virtual ones are made by the services)."""

    model = Location
    form = LocationForm
    extra = 0
    fields = ["code", "name", "kind", "active"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(kind__in=Location.REAL_KINDS)


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "active"]
    search_fields = ["code", "name"]
    inlines = [LocationInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.virtual_locations_ensure(warehouse=obj)


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    """Real locations through the location form; virtual ones are shown, never changed."""

    form = LocationForm
    list_display = ["__str__", "name", "kind", "warehouse", "active"]
    list_filter = ["warehouse", "kind", "active"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request, obj=None):
        # A position's copy of the kind is tied to the location by a foreign key.
        if obj is not None and obj.positions.exists():
            return ["kind", "warehouse"]
        return []

    def has_change_permission(self, request, obj=None):
        if obj is not None and not obj.is_real:
            return False  # the services find them by kind: ~SUPPLIER, ~SOLD, ~INSTALLED ...
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not obj.is_real:
            return False
        return super().has_delete_permission(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    """What the services write (ledger, projections, documents): viewed and searched only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows a service writes, shown under their parent: every field read-only, none added,
    changed or deleted (document lines, history, installed parts, FIFO consumptions)."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Movement)
class MovementAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "action",
        "product",
        "quantity",
        "source",
        "destination",
        "unit_cost",
        "actor",
        "reference",
    ]
    list_filter = ["action", "source__warehouse"]
    search_fields = ["product__sku", "serial", "reference", "reason", "supplier"]
    date_hierarchy = "created_at"
    list_select_related = ["product", "source__warehouse", "destination__warehouse", "actor"]
    show_full_result_count = False


@admin.register(StockPosition)
class StockPositionAdmin(ReadOnlyAdmin):
    list_display = ["product", "location", "location_kind", "quantity"]
    list_filter = ["location_kind", "warehouse"]
    search_fields = ["product__sku"]
    list_select_related = ["product", "location__warehouse"]


@admin.register(WarehouseStock)
class WarehouseStockAdmin(ReadOnlyAdmin):
    list_display = [
        "product",
        "warehouse",
        "in_hand",
        "in_storage",
        "reserved",
        "dispatched",
        "rented",
        "average_cost",
    ]
    list_filter = ["warehouse"]
    search_fields = ["product__sku"]
    list_select_related = ["product", "warehouse"]


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    """Written and closed by the documents' steps (confirm, issue, post, cancel)."""

    list_display = ["document_number", "product", "warehouse", "quantity", "status", "created_at"]
    list_filter = ["status", "document_type", "warehouse"]
    search_fields = ["document_number", "product__sku"]
    list_select_related = ["product", "warehouse"]
    show_full_result_count = False


@admin.register(IncomingPackage)
class IncomingPackageAdmin(ReadOnlyAdmin):
    """Booked and put away on the Incoming page."""

    list_display = ["number", "product", "warehouse", "quantity", "put_away", "unit_cost"]
    list_filter = ["warehouse"]
    search_fields = ["number", "product__sku", "supplier"]
    date_hierarchy = "received_at"
    list_select_related = ["product", "warehouse"]


class LayerConsumptionInline(ReadOnlyInline):
    model = LayerConsumption
    fields = ["movement", "quantity", "unit_cost"]


@admin.register(CostLayer)
class CostLayerAdmin(ReadOnlyAdmin):
    """FIFO layers: opened by stock coming in, consumed by stock leaving ownership."""

    list_display = ["product", "warehouse", "package_number", "quantity", "remaining", "unit_cost"]
    list_filter = ["warehouse"]
    search_fields = ["product__sku", "package_number"]
    date_hierarchy = "received_at"
    list_select_related = ["product", "warehouse"]
    inlines = [LayerConsumptionInline]
    show_full_result_count = False
