"""Forms of the devices pages: they parse and bound input; services decide."""

from django import forms

from warehouse.forms import (
    QUANTITY_FIELD,
    LocationCodeField,
    PartyNameField,
    ProductChoiceField,
    ProductSkuField,
)
from warehouse.models import Location
from warehouse.selectors import real_locations

from . import selectors
from .models import Characteristic, Device, DeviceStatus, State

# Devices go to contacts only: the party fields say so when a name is not one.
CONTACT_ERRORS = {
    "invalid_choice": "No active contact is named “%(value)s”.",
    "ambiguous": "%(count)s contacts are named “%(value)s”: pick one from the suggestions.",
}


class StatusChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class DeviceForm(forms.Form):
    """A dialog of one device: the view binds it with the device it acts on."""

    def __init__(self, *args, device: Device, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device


# --------------------------------------------------------------------------- transitions


class DeviceBlockForm(DeviceForm):
    status = StatusChoiceField(
        queryset=DeviceStatus.objects.none(),
        required=False,
        empty_label="— none —",
        label="Status of the blocked device",
    )
    reason = forms.CharField(max_length=255, help_text="Damaged, disputed, awaiting a test ...")
    field_order = ["reason", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].queryset = selectors.status_choices(state=State.BLOCKED)


class DeviceReasonForm(DeviceForm):
    """Unblock and write off: a reason is all they ask."""

    reason = forms.CharField(max_length=255)


class DeviceMoveForm(DeviceForm):
    location = LocationCodeField(label="To")
    reason = forms.CharField(max_length=255, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].restrict(real_locations(), kinds=Location.REAL_KINDS)


class DeviceFoundForm(DeviceForm):
    """A written-off device that turned up: where it is put back, and how it was found."""

    location = LocationCodeField(label="Put back in")
    reason = forms.CharField(max_length=255, help_text="Where and how it turned up.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kinds = (Location.Kind.STORAGE, Location.Kind.QUARANTINE)
        self.fields["location"].restrict(real_locations(kinds=kinds), kinds=kinds)


class DeviceTransferForm(DeviceForm):
    party = PartyNameField(
        queryset=None,
        suggest={"kind": "contact"},
        error_messages=CONTACT_ERRORS,
        label="New owner",
        help_text="Contacts only: a merchant never receives it.",
    )
    reason = forms.CharField(max_length=255, help_text="Resold, gifted, inherited ...")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = selectors.contact_list()


# --------------------------------------------------------------------------- edits


class DeviceStatusSetForm(DeviceForm):
    status = StatusChoiceField(
        queryset=DeviceStatus.objects.none(), required=False, empty_label="— none —"
    )
    reason = forms.CharField(max_length=255, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        state = self.device.get_state_display()
        self.fields["status"].queryset = selectors.status_choices(state=self.device.state)
        self.fields["status"].help_text = f"The statuses of {state} devices."
        self.fields["status"].initial = self.device.status_id


class DeviceDetailsForm(DeviceForm):
    """What describes a device, and one field per characteristic of its product.

    The characteristic fields only bound the input; `characteristics_validate`
    decides, and its errors come back onto the matching fields.
    """

    electronic_id = forms.CharField(
        max_length=64, required=False, label="Electronic id", help_text="MAC address, IMEI ..."
    )
    spot = forms.CharField(
        max_length=120, required=False, help_text="Shelf, bin or place within the location."
    )
    latitude = forms.DecimalField(
        max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False
    )
    longitude = forms.DecimalField(
        max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False
    )
    reason = forms.CharField(max_length=255, required=False)

    PREFIX = "characteristic_"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        device = self.device
        for name in ("electronic_id", "spot", "latitude", "longitude"):
            self.fields[name].initial = getattr(device, name)
        self.definitions = list(selectors.characteristic_list(product=device.product))
        values = device.characteristics or {}
        reason = self.fields.pop("reason")
        for definition in self.definitions:
            field = _characteristic_field(definition)
            field.initial = _initial(definition, values.get(definition.name))
            self.fields[self.field_name(definition.name)] = field
        self.fields["reason"] = reason

    def field_name(self, characteristic: str) -> str | None:
        for definition in self.definitions:
            if definition.name == characteristic:
                return f"{self.PREFIX}{definition.pk}"
        return None

    def clean(self):
        """The characteristic fields' values under `characteristics`, by name, as the
        service takes them (None when the product has none)."""
        data = super().clean()
        values = {d.name: data.pop(self.field_name(d.name), None) or "" for d in self.definitions}
        data["characteristics"] = values if self.definitions else None
        return data


def _characteristic_field(definition: Characteristic) -> forms.Field:
    common = {"label": definition.name, "required": definition.required}
    kind = Characteristic.Type
    if definition.type == kind.NUMBER:
        return forms.CharField(
            **common, widget=forms.TextInput(attrs={"inputmode": "decimal"}), max_length=64
        )
    if definition.type == kind.DATE:
        return forms.CharField(**common, widget=forms.DateInput(attrs={"type": "date"}))
    if definition.type == kind.BOOLEAN:
        return forms.ChoiceField(**common, choices=[("", "—"), ("yes", "Yes"), ("no", "No")])
    if definition.type == kind.CHOICE:
        options = [(o, o) for o in definition.options]
        return forms.ChoiceField(**common, choices=[("", "—"), *options])
    return forms.CharField(**common, max_length=500)


def _initial(definition: Characteristic, value):
    if value is None:
        return ""
    if definition.type == Characteristic.Type.BOOLEAN:
        return "yes" if value is True else "no" if value is False else value
    return value


# --------------------------------------------------------------------------- parts


class DeviceAssembleForm(DeviceForm):
    part = ProductSkuField(
        queryset=None,
        suggest={"traceable": "no"},
        error_messages={"invalid_choice": "No active counted product has SKU “%(value)s”."},
        help_text="A counted product: it leaves stock and goes into the device.",
    )
    quantity = forms.DecimalField(**QUANTITY_FIELD)
    source = LocationCodeField(label="Taken from storage")
    reason = forms.CharField(max_length=255, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["part"].queryset = selectors.part_products()
        kinds = [Location.Kind.STORAGE]
        self.fields["source"].restrict(real_locations(kinds=kinds), kinds=kinds)


class DeviceDisassembleForm(DeviceForm):
    part = ProductChoiceField(queryset=None, help_text="One of the parts installed in it.")
    quantity = forms.DecimalField(**QUANTITY_FIELD)
    destination = LocationCodeField(label="Back into", help_text="Storage or quarantine.")
    reason = forms.CharField(max_length=255, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["part"].queryset = selectors.installed_products(device=self.device)
        kinds = [Location.Kind.STORAGE, Location.Kind.QUARANTINE]
        self.fields["destination"].restrict(real_locations(kinds=kinds), kinds=kinds)


# --------------------------------------------------------------------------- own devices


class DeviceRegisterOwnForm(forms.Form):
    product = ProductSkuField(
        queryset=None,
        suggest={"traceable": "yes"},
        error_messages={"invalid_choice": "No active traceable product has SKU “%(value)s”."},
        help_text="A traceable product.",
    )
    serial = forms.CharField(max_length=128, label="Serial number")
    electronic_id = forms.CharField(
        max_length=64, required=False, label="Electronic id", help_text="MAC address, IMEI ..."
    )
    party = PartyNameField(
        queryset=None,
        suggest={"kind": "contact"},
        error_messages=CONTACT_ERRORS,
        label="Contact",
        help_text="The contact who owns it: the last one wins.",
    )
    reason = forms.CharField(max_length=255, required=False, label="Note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = selectors.traceable_products()
        self.fields["party"].queryset = selectors.contact_list()


# --------------------------------------------------------------------------- reference data


class DeviceStatusForm(forms.ModelForm):
    class Meta:
        model = DeviceStatus
        fields = ["name", "state", "active"]

    def clean(self):
        data = super().clean()
        if self.instance.pk and "state" in self.changed_data and self.instance.devices.exists():
            # The device's (status, state) foreign key ties them: a used status keeps its state.
            self.add_error("state", "Devices carry this status: its state can no longer change.")
        return data


class CharacteristicForm(forms.ModelForm):
    class Meta:
        model = Characteristic
        fields = ["name", "type", "required", "choices", "position"]

    def __init__(self, *args, product, **kwargs):
        super().__init__(*args, **kwargs)
        self.product = product
        self.instance.product = product
        self.fields["position"].required = False
        self.fields["position"].help_text = "Order on the device page (smallest first)."

    def clean_position(self):
        return self.cleaned_data.get("position") or 0

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        others = Characteristic.objects.filter(product=self.product, name__iexact=name)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(f"{self.product.sku} has a characteristic “{name}”.")
        old = self.instance.name if self.instance.pk else None
        if (
            old
            and old != name
            and Device.objects.filter(product=self.product, characteristics__has_key=old).exists()
        ):
            # Devices keep their values by name: a rename would orphan them.
            raise forms.ValidationError(f"Devices carry a value of “{old}”: it keeps its name.")
        return name

    def clean(self):
        data = super().clean()
        options = [c.strip() for c in (data.get("choices") or "").split(",") if c.strip()]
        if data.get("type") == Characteristic.Type.CHOICE and not options:
            self.add_error("choices", "A choice needs its options, separated by commas.")
        elif data.get("type") != Characteristic.Type.CHOICE and options:
            self.add_error("choices", "Only a choice has options.")
        return data
