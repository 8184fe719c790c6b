"""Read-only shapes of the devices: serial, SKU, party names and place codes beside ids."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from devices.models import Device, DeviceEvent, State
from warehouse.models import QUANTITY, Party

from ..warehouse.serializers import LocationRef


def choice_text(choices) -> serializers.CharField:
    """A choice as plain text, its values in the description.

    The schema names one enum per field name; `kind`, `status` and the states
    recur with other choices (no setting to rename them here), so these stay text.
    """
    values = ", ".join(f"`{value}`" for value, _ in choices)
    return serializers.CharField(read_only=True, help_text=f"One of {values}.")


class PartyRef(serializers.ModelSerializer):
    """A party as another row names it: id and name (billing's rows use it too)."""

    class Meta:
        model = Party
        fields = ["id", "name"]
        read_only_fields = fields


class DeviceRef(serializers.ModelSerializer):
    """A device as a document line names it: id, serial and product SKU."""

    sku = serializers.CharField(source="product.sku", read_only=True)

    class Meta:
        model = Device
        fields = ["id", "serial", "sku"]
        read_only_fields = fields


class DeviceOut(serializers.ModelSerializer):
    """One device as the device list shows it (devices.selectors.device_list's joins)."""

    sku = serializers.CharField(source="product.sku", read_only=True)
    status = serializers.SerializerMethodField()
    owner = PartyRef(read_only=True, allow_null=True)
    holder = PartyRef(read_only=True, allow_null=True)
    location = LocationRef(read_only=True, allow_null=True)

    class Meta:
        model = Device
        fields = ["id", "product_id", "sku", "serial", "electronic_id", "state", "status_id"]
        fields += ["status", "owner", "holder", "location", "spot", "latitude", "longitude"]
        fields += ["reserved_by", "created_at", "updated_at"]
        read_only_fields = fields

    def get_status(self, device) -> str | None:
        return device.status.name if device.status_id else None


class CharacteristicOut(serializers.Serializer):
    """A characteristic's value; `defined`: the product defines it (else a value left over)."""

    name = serializers.CharField(read_only=True)
    value = serializers.JSONField(read_only=True)
    defined = serializers.BooleanField(read_only=True)


class PartOut(serializers.Serializer):
    """A part installed in the device now."""

    product_id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(source="product.sku", read_only=True)
    quantity = serializers.DecimalField(**QUANTITY, read_only=True)


class DeviceDetailOut(DeviceOut):
    """The device page: the list's columns, its characteristics and its installed parts."""

    characteristics = serializers.SerializerMethodField()
    parts = serializers.SerializerMethodField()

    class Meta(DeviceOut.Meta):
        fields = [*DeviceOut.Meta.fields, "characteristics", "parts"]
        read_only_fields = fields

    @extend_schema_field(CharacteristicOut(many=True))
    def get_characteristics(self, device):
        rows = self.context["characteristics"]
        return [{"name": n, "value": v, "defined": d} for n, v, d in rows]

    @extend_schema_field(PartOut(many=True))
    def get_parts(self, device):
        return PartOut(self.context["parts"], many=True).data


class DeviceEventOut(serializers.ModelSerializer):
    """One line of a device's history, with places by code, parties and the user by name."""

    kind = choice_text(DeviceEvent.Kind.choices)
    from_state = choice_text(State.choices)
    to_state = choice_text(State.choices)
    from_location = LocationRef(read_only=True, allow_null=True)
    to_location = LocationRef(read_only=True, allow_null=True)
    from_owner = PartyRef(read_only=True, allow_null=True)
    to_owner = PartyRef(read_only=True, allow_null=True)
    actor = serializers.SerializerMethodField()

    class Meta:
        model = DeviceEvent
        fields = ["id", "created_at", "kind", "action", "from_state", "to_state"]
        fields += ["from_location", "to_location", "from_owner", "to_owner", "changes"]
        fields += ["movement_id", "reason", "reference", "actor"]
        read_only_fields = fields

    def get_actor(self, event) -> str | None:
        return event.actor.username if event.actor_id else None
