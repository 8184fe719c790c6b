"""Read-only shapes of the warehouse: natural keys (SKU, warehouse, location code) beside ids."""

from rest_framework import serializers

from warehouse.models import MONEY, QUANTITY, Location, Movement, Product, Warehouse


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


class LocationOut(serializers.ModelSerializer):
    """A real location with what it holds (location_list's annotations)."""

    warehouse = serializers.CharField(source="warehouse.code", read_only=True)
    products = serializers.IntegerField(read_only=True)
    quantity = serializers.DecimalField(**QUANTITY, read_only=True)

    class Meta:
        model = Location
        fields = ["id", "code", "name", "warehouse", "warehouse_id", "kind", "active"]
        fields += ["products", "quantity"]
        read_only_fields = fields


def _quantity(**kwargs):
    return serializers.DecimalField(**QUANTITY, read_only=True, **kwargs)


def _money(**kwargs):
    return serializers.DecimalField(**MONEY, read_only=True, **kwargs)


class BalanceRowOut(serializers.Serializer):
    """One row of the balance page: a product's stock in the warehouse asked, or in all."""

    product_id = serializers.IntegerField(source="id", read_only=True)
    sku = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    traceable = serializers.BooleanField(read_only=True)
    ownership = _quantity()
    in_hand = _quantity()
    reserved = _quantity()
    available = _quantity()
    dispatched = _quantity()
    rented = _quantity()
    average_cost = _money()
    below_minimum = serializers.BooleanField(read_only=True)


class PositionOut(serializers.Serializer):
    """What a location holds of one product."""

    product_id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(source="product.sku", read_only=True)
    name = serializers.CharField(source="product.name", read_only=True)
    quantity = _quantity()


class MovementOut(serializers.ModelSerializer):
    """One ledger line, with the SKU, both places and the user by name."""

    sku = serializers.CharField(source="product.sku", read_only=True)
    source = LocationRef(read_only=True)
    destination = LocationRef(read_only=True)
    actor = serializers.SerializerMethodField()

    class Meta:
        model = Movement
        fields = ["id", "created_at", "action", "product_id", "sku", "quantity", "serial"]
        fields += ["source", "destination", "unit_cost", "reference", "reason", "supplier"]
        fields += ["batch", "actor"]
        read_only_fields = fields

    def get_actor(self, movement) -> str | None:
        return movement.actor.username if movement.actor_id else None


class FifoRowOut(serializers.Serializer):
    """One row of the FIFO report: a product's package in a warehouse."""

    product_id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(source="product__sku", read_only=True)
    name = serializers.CharField(source="product__name", read_only=True)
    warehouse = serializers.CharField(source="warehouse__code", read_only=True)
    package_number = serializers.CharField(read_only=True)
    received_at = serializers.DateTimeField(read_only=True)
    received = _quantity()
    consumed = _quantity()
    remaining = _quantity()
    received_value = _money()
    remaining_value = _money()
    layers = serializers.IntegerField(read_only=True)


class LowStockOut(serializers.Serializer):
    """A product below its minimum in a warehouse, and how much to reorder."""

    product_id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(source="product.sku", read_only=True)
    name = serializers.CharField(source="product.name", read_only=True)
    warehouse = serializers.CharField(source="warehouse.code", read_only=True)
    minimum = _quantity()
    maximum = _quantity(allow_null=True)
    in_hand = _quantity()
    reorder = _quantity()
