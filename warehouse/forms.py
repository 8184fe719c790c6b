"""Forms of the warehouse pages: they parse and bound input; services decide."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from .models import MONEY, QUANTITY, Location, Product
from .selectors import real_locations

QUANTITY_FIELD = {
    "max_digits": QUANTITY["max_digits"],
    "decimal_places": QUANTITY["decimal_places"],
    "min_value": Decimal("0.001"),
}


def serials_parse(text: str) -> list[str]:
    """Serial numbers typed, pasted one per line, or scanned (commas and spaces split too)."""
    return [s for s in text.replace(",", "\n").replace("\t", "\n").split("\n") if s.strip()]


class LocationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj} · {obj.name} ({obj.get_kind_display()})"


class SerialsField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 4, "placeholder": "One serial number per line"})

    def clean(self, value):
        value = super().clean(value)
        return serials_parse(value or "")


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.sku} · {obj.name}"


# --------------------------------------------------------------------------- stock-in


class StockInForm(forms.Form):
    location = LocationChoiceField(
        queryset=Location.objects.none(), help_text="Storage, or incoming to put away later."
    )
    supplier = forms.CharField(max_length=200, required=False)
    reference = forms.CharField(
        max_length=64, required=False, help_text="Delivery note or purchase order number."
    )
    reason = forms.CharField(max_length=255, required=False, label="Note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = real_locations(
            kinds=[Location.Kind.STORAGE, Location.Kind.INCOMING]
        )


class StockInLineForm(forms.Form):
    product = ProductChoiceField(queryset=Product.objects.filter(active=True).order_by("sku"))
    quantity = forms.DecimalField(
        **{**QUANTITY_FIELD, "min_value": Decimal("0")},
        required=False,
        help_text="Traceable products: the number of serials.",
    )
    unit_cost = forms.DecimalField(
        max_digits=MONEY["max_digits"], decimal_places=MONEY["decimal_places"], min_value=0
    )
    serials = SerialsField(required=False)

    def clean(self):
        data = super().clean()
        product = data.get("product")
        if product is None:
            return data
        serials = data.get("serials") or []
        if product.traceable:
            if not serials:
                self.add_error("serials", f"{product.sku} is traceable: give its serial numbers.")
            elif data.get("quantity") not in (None, len(serials)):
                self.add_error(
                    "quantity",
                    f"{len(serials)} serial numbers given: the quantity is their count.",
                )
            data["quantity"] = Decimal(len(serials))
        else:
            if serials:
                self.add_error("serials", f"{product.sku} is not traceable: no serial numbers.")
            if not data.get("quantity"):
                self.add_error("quantity", "Give a quantity greater than zero.")
        return data


class BaseStockInLineFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        lines = [f.cleaned_data for f in self.forms if f.cleaned_data]
        if not lines:
            raise ValidationError("Add at least one product to book.")


StockInLineFormSet = forms.formset_factory(
    StockInLineForm, formset=BaseStockInLineFormSet, extra=3, max_num=200, validate_max=True
)


# --------------------------------------------------------------------------- product dialogs


class ProductStockForm(forms.Form):
    """Quantity for counted products, serial numbers for traceable ones."""

    quantity = forms.DecimalField(**QUANTITY_FIELD)
    serials = SerialsField(label="Serial numbers")

    def __init__(self, *args, product: Product, **kwargs):
        super().__init__(*args, **kwargs)
        self.product = product
        if product.traceable:
            del self.fields["quantity"]
        else:
            del self.fields["serials"]


class StockRemoveForm(ProductStockForm):
    location = LocationChoiceField(queryset=Location.objects.none())
    reason = forms.CharField(max_length=255, help_text="Scrapped, lost, used up ...")
    field_order = ["location", "quantity", "serials", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = real_locations()


class StockMoveForm(ProductStockForm):
    source = LocationChoiceField(queryset=Location.objects.none(), label="From")
    destination = LocationChoiceField(queryset=Location.objects.none(), label="To")
    reason = forms.CharField(max_length=255, required=False)
    field_order = ["source", "destination", "quantity", "serials", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = real_locations()
        self.fields["destination"].queryset = real_locations()


class StockIsolateForm(ProductStockForm):
    location = LocationChoiceField(queryset=Location.objects.none(), label="From storage")
    quarantine = LocationChoiceField(queryset=Location.objects.none())
    reason = forms.CharField(max_length=255, help_text="Damaged, suspect, awaiting a test ...")
    field_order = ["location", "quarantine", "quantity", "serials", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = real_locations(kinds=[Location.Kind.STORAGE])
        self.fields["quarantine"].queryset = real_locations(kinds=[Location.Kind.QUARANTINE])


class StockAdjustForm(forms.Form):
    location = LocationChoiceField(queryset=Location.objects.none())
    counted = forms.DecimalField(
        max_digits=QUANTITY["max_digits"],
        decimal_places=QUANTITY["decimal_places"],
        min_value=0,
        label="Counted quantity",
        help_text="What is really there; the difference is booked as an adjustment.",
    )
    unit_cost = forms.DecimalField(
        max_digits=MONEY["max_digits"],
        decimal_places=MONEY["decimal_places"],
        min_value=0,
        required=False,
        help_text="Value of a gain; empty: the average cost.",
    )
    reason = forms.CharField(max_length=255, help_text="Stocktake, found, miscounted ...")

    def __init__(self, *args, product: Product, **kwargs):
        super().__init__(*args, **kwargs)
        self.product = product
        self.fields["location"].queryset = real_locations()


# --------------------------------------------------------------------------- reference data


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["sku", "name", "description", "unit", "traceable", "active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean(self):
        data = super().clean()
        if data.get("traceable") and data.get("unit") != Product.Unit.PIECE:
            self.add_error("unit", "A traceable product is counted in pieces.")
        if (
            self.instance.pk
            and "traceable" in self.changed_data
            and self.instance.movements.exists()
        ):
            self.add_error("traceable", "Stock has been booked: traceability can no longer change.")
        return data


class LocationForm(forms.ModelForm):
    kind = forms.ChoiceField(
        choices=[(k.value, k.label) for k in Location.REAL_KINDS],
    )

    class Meta:
        model = Location
        fields = ["warehouse", "code", "name", "kind", "active"]

    def clean(self):
        data = super().clean()
        if self.instance.pk and "kind" in self.changed_data and self.instance.positions.exists():
            self.add_error("kind", "Stock has been booked here: the kind can no longer change.")
        if (
            self.instance.pk
            and "warehouse" in self.changed_data
            and self.instance.positions.exists()
        ):
            self.add_error("warehouse", "Stock has been booked here: it stays in its warehouse.")
        return data
