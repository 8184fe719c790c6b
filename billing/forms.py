"""Forms of the billing pages: they parse and bound input; services decide."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from devices.models import Device
from warehouse.exceptions import fmt
from warehouse.forms import QUANTITY_FIELD, LocationCodeField, PartyNameField, ProductSkuField
from warehouse.identity import identity_clean
from warehouse.models import Location, Party, Product

from .models import PRICE, OrderLine
from .selectors import active_parties, active_warehouses, return_locations
from .services import CreditLineInput, LineInput

# Where returned goods go: the kinds `return_locations` holds.
RETURN_KINDS = (Location.Kind.STORAGE, Location.Kind.QUARANTINE)

PRICE_FIELD = {
    "max_digits": PRICE["max_digits"],
    "decimal_places": PRICE["decimal_places"],
    "min_value": Decimal("0"),
}


# --------------------------------------------------------------------------- parties


class PartyForm(forms.ModelForm):
    class Meta:
        model = Party
        fields = ["kind", "name", "email", "phone", "address", "vat_number", "active"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


# --------------------------------------------------------------------------- documents


class DocumentForm(forms.Form):
    """Who the document is for and which warehouse's stock it draws on."""

    party = PartyNameField(queryset=Party.objects.none())
    warehouse = forms.ModelChoiceField(queryset=active_warehouses())
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = active_parties()
        party = self.initial.get("party")
        if isinstance(party, str) and party.isdigit():
            self.initial["party"] = int(party)  # a party page's "New order" link gives its id
        warehouses = list(self.fields["warehouse"].queryset[:2])
        if len(warehouses) == 1:
            self.fields["warehouse"].initial = warehouses[0].pk


class LineForm(forms.Form):
    """A sale line: product, quantity, price (empty: the product's), optionally one device."""

    product = ProductSkuField(queryset=Product.objects.filter(active=True).order_by("sku"))
    quantity = forms.DecimalField(**QUANTITY_FIELD, initial=1)
    unit_price = forms.DecimalField(
        **PRICE_FIELD, required=False, help_text="Empty: the product's price."
    )
    device = forms.CharField(
        max_length=128,
        required=False,
        label="Device serial",
        help_text="Traceable products: a specific unit (else any available one).",
    )

    def clean(self):
        data = super().clean()
        product, serial = data.get("product"), identity_clean(data.get("device"))
        data["device"] = None
        if not serial or product is None:
            return data
        if not product.traceable:
            self.add_error("device", f"{product.sku} is not traceable: it has no devices.")
            return data
        device = Device.objects.filter(product=product, serial__identity=serial).first()
        if device is None:
            self.add_error("device", f"No {product.sku} device has the serial {serial}.")
        data["device"] = device
        return data

    def line_input(self) -> LineInput:
        data = self.cleaned_data
        return LineInput(
            product=data["product"],
            quantity=data["quantity"],
            unit_price=data.get("unit_price"),
            kind=data.get("kind") or OrderLine.Kind.SALE,
            device=data.get("device"),
            rental_until=data.get("rental_until"),
        )


class OrderLineForm(LineForm):
    """A sale or a rental line of an order."""

    kind = forms.ChoiceField(choices=OrderLine.Kind.choices, initial=OrderLine.Kind.SALE)
    rental_until = forms.DateField(
        required=False,
        label="Rental until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    field_order = ["kind", "product", "quantity", "unit_price", "device", "rental_until"]


class BaseLineFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if not [f for f in self.forms if f.cleaned_data]:
            raise ValidationError("Add at least one line.")

    def filled(self) -> list:
        """The forms of the lines given (blank extra rows are left out)."""
        return [f for f in self.forms if f.cleaned_data]


FORMSET = {"extra": 3, "max_num": 200, "validate_max": True}
OrderLineFormSet = forms.formset_factory(OrderLineForm, formset=BaseLineFormSet, **FORMSET)
InvoiceLineFormSet = forms.formset_factory(LineForm, formset=BaseLineFormSet, **FORMSET)


# --------------------------------------------------------------------------- credit notes


class CreditNoteForm(forms.Form):
    """What comes back from a posted invoice: a quantity per counted line, devices per traceable."""

    return_location = LocationCodeField(help_text="Storage, or quarantine to check it first.")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, invoice, creditable, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["return_location"].restrict(
            return_locations(warehouse=invoice.warehouse_id),
            kinds=RETURN_KINDS,
            warehouse=invoice.warehouse_id,
        )
        self.lines = []  # (invoice line, left to credit, field name)
        for line, left, devices in creditable:
            product = line.product
            sold = f"Sold {fmt(line.quantity)} at {line.unit_price:,.2f}"
            if product.traceable:
                name = f"devices_{line.pk}"
                self.fields[name] = forms.ModelMultipleChoiceField(
                    queryset=Device.objects.filter(pk__in=[d.pk for d in devices]).order_by(
                        "serial"
                    ),
                    widget=forms.CheckboxSelectMultiple,
                    required=False,
                    label=f"{product.sku} · {product.name}",
                    help_text=f"{sold}; tick the devices that come back.",
                )
            else:
                name = f"quantity_{line.pk}"
                self.fields[name] = forms.DecimalField(
                    **{**QUANTITY_FIELD, "min_value": Decimal("0")},
                    required=False,
                    label=f"{product.sku} · {product.name}",
                    help_text=f"{sold}; {fmt(left)} may come back.",
                )
            self.lines.append((line, left, name))

    def line_fields(self):
        return [(line, left, self[name]) for line, left, name in self.lines]

    def error_field(self, error) -> str | None:
        """The field a refusal of the service belongs under; None: the whole form.

        A refused line lands on its invoice line's field (quantity or devices);
        "nothing comes back" on the first line that may still come back.
        """
        names = {line.pk: name for line, _left, name in self.lines}
        line_id = getattr(error, "invoice_line_id", None)
        if line_id is not None:
            return names.get(line_id)
        if error.field == "lines":
            return next((name for _line, left, name in self.lines if left > 0), None)
        return error.field if error.field in self.fields else None

    def credit_lines(self) -> list[CreditLineInput]:
        entries = []
        for line, _left, name in self.lines:
            value = self.cleaned_data.get(name)
            if line.product.traceable:
                entries += [
                    CreditLineInput(invoice_line=line, quantity=Decimal(1), device=device)
                    for device in value or ()
                ]
            elif value:
                entries.append(CreditLineInput(invoice_line=line, quantity=value))
        return entries


# --------------------------------------------------------------------------- rentals


class RentalReturnForm(forms.Form):
    location = LocationCodeField(
        label="Back to", help_text="Storage, or quarantine to check it first."
    )
    reason = forms.CharField(max_length=255, required=False, label="Note")

    def __init__(self, *args, rental, **kwargs):
        super().__init__(*args, **kwargs)
        warehouse_id = rental.order_line.order.warehouse_id
        self.fields["location"].restrict(
            return_locations(warehouse=warehouse_id), kinds=RETURN_KINDS, warehouse=warehouse_id
        )
