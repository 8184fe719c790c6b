"""Admin for superusers: statuses and characteristics editable; devices change through services."""

from django import forms
from django.contrib import admin

from warehouse.admin import ReadOnlyAdmin, ReadOnlyInline
from warehouse.exceptions import WarehouseError

from . import services
from .exceptions import InvalidCharacteristics
from .models import Characteristic, Device, DeviceEvent, DeviceStatus, InstalledPart

EVENT_FIELDS = [
    "created_at",
    "kind",
    "action",
    "from_state",
    "to_state",
    "from_location",
    "to_location",
    "from_owner",
    "to_owner",
    "changes",
    "reason",
    "reference",
    "actor",
]


class DeviceEventInline(ReadOnlyInline):
    """The device's history: append-only, so shown and never edited."""

    model = DeviceEvent
    fields = EVENT_FIELDS
    ordering = ["-created_at", "-id"]
    show_change_link = True

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(
                "from_location__warehouse",
                "to_location__warehouse",
                "from_owner",
                "to_owner",
                "actor",
            )
        )


class InstalledPartInline(ReadOnlyInline):
    model = InstalledPart
    fields = ["product", "quantity"]


class DeviceAdminForm(forms.ModelForm):
    """Checks what the services would refuse, so the admin shows it on the form."""

    class Meta:
        model = Device
        fields = ["electronic_id", "status", "spot", "latitude", "longitude", "characteristics"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "status" in self.fields and self.instance.pk:
            self.fields["status"].queryset = DeviceStatus.objects.filter(
                state=self.instance.state, active=True
            ) | DeviceStatus.objects.filter(pk=self.instance.status_id)

    def clean_characteristics(self):
        values = self.cleaned_data.get("characteristics") or {}
        if not isinstance(values, dict):
            raise forms.ValidationError("Characteristics are an object of name: value.")
        try:
            return services.characteristics_validate(product=self.instance.product, values=values)
        except InvalidCharacteristics as exc:
            raise forms.ValidationError(exc.message) from exc


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    """State, owner and place change only through the services (the pages or documents)."""

    form = DeviceAdminForm
    list_display = [
        "__str__",
        "electronic_id",
        "state",
        "status",
        "owner",
        "location",
        "reserved_by",
        "updated_at",
    ]
    list_filter = ["state", "status", "location__warehouse"]
    search_fields = ["serial", "electronic_id", "product__sku", "owner__name"]
    list_select_related = ["product", "status", "owner", "location__warehouse"]
    readonly_fields = [
        "product",
        "serial",
        "state",
        "owner",
        "holder",
        "location",
        "location_kind",
        "reserved_by",
        "created_at",
        "updated_at",
    ]
    fields = [
        "product",
        "serial",
        "electronic_id",
        "state",
        "status",
        "owner",
        "holder",
        "location",
        "location_kind",
        "spot",
        "latitude",
        "longitude",
        "characteristics",
        "reserved_by",
        "created_at",
        "updated_at",
    ]
    inlines = [InstalledPartInline, DeviceEventInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # devices are made by stock-in, a found count or a registration

    def has_delete_permission(self, request, obj=None):
        return False  # its history holds on to it

    def save_model(self, request, obj, form, change):
        # Through the services, so every edit leaves its history event.
        device = Device.objects.select_related("product", "location").get(pk=obj.pk)
        data = form.cleaned_data
        try:
            if "status" in form.changed_data:
                services.device_status_set(
                    device=device, status=data["status"], actor=request.user, reason="admin"
                )
            services.device_details_set(
                device=device,
                actor=request.user,
                electronic_id=data["electronic_id"],
                spot=data["spot"],
                latitude=data["latitude"],
                longitude=data["longitude"],
                characteristics=data["characteristics"],
                reason="admin",
            )
        except WarehouseError as exc:
            self.message_user(request, exc.message, level="error")


@admin.register(DeviceStatus)
class DeviceStatusAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "active"]
    list_filter = ["state", "active"]
    search_fields = ["name"]

    def get_readonly_fields(self, request, obj=None):
        # The devices' (status, state) foreign key ties a used status to its state.
        if obj is not None and obj.devices.exists():
            return ["state"]
        return []


@admin.register(Characteristic)
class CharacteristicAdmin(admin.ModelAdmin):
    list_display = ["product", "name", "type", "required", "position"]
    list_filter = ["type", "required"]
    search_fields = ["product__sku", "name"]
    list_select_related = ["product"]


@admin.register(DeviceEvent)
class DeviceEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "device", "action", "from_state", "to_state", "actor", "reason"]
    list_filter = ["kind", "action"]
    search_fields = ["device__serial", "device__product__sku", "reference", "reason"]
    date_hierarchy = "created_at"
    list_select_related = ["device__product", "actor"]
    show_full_result_count = False


@admin.register(InstalledPart)
class InstalledPartAdmin(ReadOnlyAdmin):
    list_display = ["device", "product", "quantity"]
    search_fields = ["device__serial", "product__sku"]
    list_select_related = ["device__product", "product"]
