"""The device page's dialogs by API, and a contact's own device registered from an app.

One write a dialog of `devices.views.DIALOGS` (block, unblock, move, write
off, found again, transfer of ownership, status, details and
characteristics, assemble, disassemble): `POST /api/devices/<id>/<path>/`.
As on the page: the dialog's refusal (a state that does not allow it) comes
first, 409 `illegal_transition`; then its form reads the body and its service
books. A field the body leaves out has the value the page's dialog shows
(the device's own, for its details), so a body says only what changes.
Characteristics are sent by name (`"characteristics": {"RAM": "8"}`) and
refused by name (`characteristics.RAM`).

The answer: 201, the page's sentence and the device as it is now (a small
shape; the device reads have the full one).
"""

from django.shortcuts import get_object_or_404
from django.urls import path
from rest_framework import exceptions, serializers

from devices import selectors, services
from devices.exceptions import InvalidCharacteristics
from devices.forms import DeviceDetailsForm, DeviceRegisterOwnForm
from devices.models import Device
from devices.views import DIALOGS
from warehouse.exceptions import WarehouseError
from warehouse.forms import ProductSkuField, location_label
from warehouse.models import Party

from .writes import FormWrite, form_data, form_serializer, product_from


class PartyRef(serializers.ModelSerializer):
    class Meta:
        model = Party
        fields = ["id", "name"]
        read_only_fields = fields


class DeviceOut(serializers.ModelSerializer):
    """A device as a write answers it: who it is, where, whose."""

    product = serializers.CharField(source="product.sku", read_only=True)
    status = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    owner = PartyRef(read_only=True)
    holder = PartyRef(read_only=True)

    class Meta:
        model = Device
        fields = ["id", "serial", "product", "state", "status", "location", "owner", "holder"]
        read_only_fields = fields

    def get_status(self, device) -> str | None:
        return device.status.name if device.status_id else None

    def get_location(self, device) -> str | None:
        """`WAREHOUSE/CODE`; null for a device outside the business (an own device)."""
        return location_label(device.location) if device.location_id else None


def device_answer(device: Device, message: str) -> tuple[int, dict]:
    fresh = selectors.device_list().get(pk=device.pk)
    return 201, {"message": message, "device": DeviceOut(fresh).data}


class DialogRefused(exceptions.APIException):
    """The dialog cannot start on this device (the page shows only this sentence)."""

    status_code = 409
    default_code = "illegal_transition"


class CharacteristicsByName:
    """The details form, its characteristic fields named `characteristics.<name>`."""

    def __init__(self, form):
        self.form = form
        self.names = {
            form.field_name(d.name): f"characteristics.{d.name}" for d in form.definitions
        }

    def __getattr__(self, name):
        return getattr(self.form, name)

    def is_valid(self) -> bool:
        return self.form.is_valid()

    @property
    def errors(self) -> dict:
        return {self.names.get(name, name): value for name, value in self.form.errors.items()}


# The body's typed references, as the schema documents them (the forms read them).
TYPED = {
    "part": serializers.CharField(help_text="The part's SKU."),
    "party": serializers.CharField(help_text="A contact's name, or `Name · #id`."),
    "product": serializers.CharField(help_text="A traceable product's SKU."),
}


class DeviceDialogWrite(FormWrite):
    """POST one dialog of the device page; 201 with its sentence and the device."""

    dialog = ""

    @classmethod
    def of(cls, dialog: str):
        declared = DIALOGS[dialog]
        name = "Device" + "".join(part.title() for part in dialog.split("_"))
        fields = declared.form_class.base_fields
        extra = {key: typed for key, typed in TYPED.items() if key in fields}
        if declared.form_class is DeviceDetailsForm:
            extra["characteristics"] = serializers.DictField(
                child=serializers.CharField(allow_blank=True),
                required=False,
                help_text="The product's characteristics by name; those left out stay.",
            )
        return type(
            name,
            (cls,),
            {
                "dialog": dialog,
                "form_class": declared.form_class,
                "permissions_by_method": {"POST": (declared.permission,)},
                "request_serializer": form_serializer(
                    f"{name}In", declared.form_class, extra=extra, exclude=extra
                ),
                "__doc__": f"{declared.title} (the device page's dialog): {cls.__doc__}",
            },
        )

    def post(self, request, *args, pk, **kwargs):
        self.device = get_object_or_404(selectors.device_list(), pk=pk)
        return super().post(request, *args, pk=pk, **kwargs)

    def form_bind(self, data):
        declared, device = DIALOGS[self.dialog], self.device
        refused = declared.refusal(device) if declared.refusal else None
        if refused is not None:
            raise DialogRefused(refused)
        shown = declared.form_class(device=device)
        values = {name: shown.get_initial_for_field(f, name) for name, f in shown.fields.items()}
        body = dict(data) if isinstance(data, dict) else data
        if isinstance(body, dict) and hasattr(shown, "field_name"):
            body = self.characteristics_fields(shown, body)
        part = shown.fields.get("part")
        if part is not None and not isinstance(part, ProductSkuField) and isinstance(body, dict):
            value = body.get("part")
            if isinstance(value, str) and not value.isdigit():  # a SKU, as the pages show it
                body["part"] = product_from(body, "part").pk
        form = declared.form_class({**form_data(values), **form_data(body)}, device=device)
        return CharacteristicsByName(form) if isinstance(form, DeviceDetailsForm) else form

    def characteristics_fields(self, shown, body: dict) -> dict:
        """`characteristics: {name: value}` as the details form's field of each name."""
        if not isinstance(body.get("characteristics"), dict):
            return body
        for name, value in body.pop("characteristics").items():
            field = shown.field_name(name)
            if field is None:
                sku = self.device.product.sku
                raise exceptions.ValidationError(
                    {f"characteristics.{name}": [f"{sku} has no characteristic “{name}”."]}
                )
            body[field] = value
        return body

    def book(self, data, form):
        declared = DIALOGS[self.dialog]
        try:
            result = declared.call(device=self.device, actor=self.request.user, **form.cleaned_data)
        except InvalidCharacteristics as exc:
            exc.errors = {f"characteristics.{name}": m for name, m in exc.errors.items()}
            raise
        return declared.done(self.device, result, form.cleaned_data)

    def answer(self, message):
        return device_answer(self.device, message)


DEVICE_DIALOG_WRITES = {name: DeviceDialogWrite.of(name) for name in DIALOGS}


class DeviceRegister(FormWrite):
    """POST a contact's own device (the app's registration): 201 with the device.

    Never in the warehouse; registered again by another contact, it is theirs
    (the last registration wins: the service decides).
    """

    permissions_by_method = {"POST": ("devices.add_device",)}
    form_class = DeviceRegisterOwnForm
    request_serializer = form_serializer(
        "DeviceRegisterIn",
        DeviceRegisterOwnForm,
        extra={"product": TYPED["product"], "party": TYPED["party"]},
        exclude=("product", "party"),
    )

    def book(self, data, form):
        try:
            return services.device_register_own(actor=self.request.user, **form.cleaned_data)
        except WarehouseError as exc:
            if exc.field == "serials":  # the form's field is `serial` (as the page aliases it)
                exc.field = "serial"
            raise

    def answer(self, device):
        # The page's sentence (devices.views.device_register).
        return device_answer(device, f"Registered {device} as an own device of {device.owner}.")


# Included under /api/ by api/urls.py: `register/` before any `devices/<something>/` read.
urlpatterns = [
    path("devices/register/", DeviceRegister.as_view(), name="device_register"),
    *(
        path(f"devices/<int:pk>/{DIALOGS[name].path}/", write.as_view(), name=f"device_{name}")
        for name, write in DEVICE_DIALOG_WRITES.items()
    ),
]
