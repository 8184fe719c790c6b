"""Admin for superusers: reference data editable; ledger and balances read-only."""

from django.contrib import admin

from . import services
from .models import Location, Movement, Party, Product, StockPosition, Warehouse, WarehouseStock


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
    model = Location
    extra = 0
    fields = ["code", "name", "kind", "active"]

    def get_readonly_fields(self, request, obj=None):
        return ["kind"] if obj is not None else []


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
    list_display = ["__str__", "name", "kind", "warehouse", "active"]
    list_filter = ["warehouse", "kind", "active"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request, obj=None):
        # A position's copy of the kind is tied to the location by a foreign key.
        if obj is not None and obj.positions.exists():
            return ["kind", "warehouse"]
        return []


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger and its projection change only through the services."""

    def has_add_permission(self, request):
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
