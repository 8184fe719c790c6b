"""Read-only shapes of the warehouse: natural keys (SKU, warehouse, location code) beside ids."""

from rest_framework import serializers

from warehouse.models import Location, Product, Warehouse


class ProductOut(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "description",
            "traceable",
            "unit",
            "sale_price",
            "rental_price",
            "active",
            "created_at",
        ]
        read_only_fields = fields


class WarehouseOut(serializers.ModelSerializer):
    class Meta:
        model = Warehouse
        fields = ["id", "code", "name", "address", "active"]
        read_only_fields = fields


class LocationRef(serializers.ModelSerializer):
    """A location as another row names it: id, code, its warehouse's code, kind."""

    warehouse = serializers.CharField(source="warehouse.code", read_only=True)

    class Meta:
        model = Location
        fields = ["id", "code", "warehouse", "kind"]
        read_only_fields = fields
