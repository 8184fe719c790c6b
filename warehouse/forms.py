"""Forms of the warehouse pages: they parse and bound input; services decide."""

import re
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .exceptions import LocationKindFixed, fmt
from .fields import MAX_QUANTITY, nul_refuse
from .identity import identity_clean, identity_key, identity_repeated
from .models import MONEY, QUANTITY, Location, Party, Product
from .selectors import real_locations

QUANTITY_FIELD = {
    "max_digits": QUANTITY["max_digits"],
    "decimal_places": QUANTITY["decimal_places"],
    "min_value": Decimal("0.001"),
    # Below what the column holds (10^11), so balances adding bookings up still fit.
    "max_value": MAX_QUANTITY,
}


def serials_parse(text: str) -> list[str]:
    """Serial numbers typed, pasted one per line, or scanned (commas and tabs split too).

    Each is cleaned (`identity_clean`: invisible characters, width, spaces around).
    """
    parts = (identity_clean(s) for s in text.replace(",", "\n").replace("\t", "\n").split("\n"))
    return [s for s in parts if s]


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


class SuggestInput(forms.TextInput):
    """A text input whose suggestions htmx loads into its own `<datalist>` as the user types.

    The request sends the input's value under its own name (a formset line's
    name changes with the line); `field=` says which name. Without JavaScript
    it is a plain text input.
    """

    def __init__(self, *, url_name: str, params: dict | None = None, attrs: dict | None = None):
        super().__init__({"autocomplete": "off", "spellcheck": "false", **(attrs or {})})
        self.url_name = url_name
        self.params = params or {}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        datalist = f"{widget['attrs'].get('id') or name}-suggestions"
        query = urlencode({**self.params, "field": name})
        # Set here, not inherited: a form's hx-target or hx-include must not reach this request.
        widget["attrs"].update(
            {
                "list": datalist,
                "hx-get": f"{reverse(self.url_name)}?{query}",
                "hx-trigger": "input changed delay:200ms",
                "hx-target": f"#{datalist}",
                "hx-swap": "innerHTML",
                "hx-include": "this",
                "hx-sync": "this:replace",
            }
        )
        widget["datalist"] = datalist
        return context

    def render(self, name, value, attrs=None, renderer=None):
        context = self.get_context(name, value, attrs)
        html = self._render(self.template_name, context, renderer)
        return html + format_html('<datalist id="{}"></datalist>', context["widget"]["datalist"])


class ProductSkuField(forms.ModelChoiceField):
    """A product typed by its SKU (any case or width, spaces trimmed), with suggestions.

    Only a product of the queryset is accepted; the message of a miss says
    which products the field takes.
    """

    default_error_messages = {"invalid_choice": "No active product has SKU “%(value)s”."}

    def __init__(self, queryset, *, suggest: dict | None = None, **kwargs):
        attrs = {"placeholder": "SKU or name"}
        kwargs.setdefault(
            "widget",
            SuggestInput(url_name="warehouse:product_suggest", params=suggest, attrs=attrs),
        )
        super().__init__(queryset, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, Product):
            return value.sku
        if isinstance(value, int):  # an initial id
            product = self.queryset.filter(pk=value).first()
            return product.sku if product else ""
        return value  # what was typed, as typed

    def to_python(self, value):
        nul_refuse(value)  # before the query: PostgreSQL text cannot hold it
        sku = identity_clean(value)
        if not sku:
            return None
        # One product per key (the database's unique index): no case to choose between.
        found = self.queryset.filter(sku__identity=sku).first()
        if found is None:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": sku}
            )
        return found


# What a party suggestion puts in the field: its name and its id, “Alice Martin · #57”.
PARTY_PICKED = re.compile(r"^(?P<name>.*?)\s*·\s*#(?P<pk>\d+)$")


def party_label(party: Party) -> str:
    """The value a party suggestion fills in: unique even when names are not."""
    return f"{party.name} · #{party.pk}"


class PartyNameField(forms.ModelChoiceField):
    """A party typed by name (any case, spaces trimmed), or picked from the suggestions.

    Names are not unique: a typed name must be one party's of the queryset; a
    suggestion carries the party's id. Nothing outside the queryset is accepted.
    """

    default_error_messages = {
        "invalid_choice": "No active party is named “%(value)s”.",
        "ambiguous": "%(count)s parties are named “%(value)s”: pick one from the suggestions.",
    }

    def __init__(self, queryset, *, suggest: dict | None = None, **kwargs):
        attrs = {"placeholder": "Name"}
        kwargs.setdefault(
            "widget", SuggestInput(url_name="warehouse:party_suggest", params=suggest, attrs=attrs)
        )
        super().__init__(queryset, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, Party):
            return party_label(value)
        if isinstance(value, int):  # an initial id
            party = self.queryset.filter(pk=value).first()
            return party_label(party) if party else ""
        return value  # what was typed, as typed

    def to_python(self, value):
        nul_refuse(value)  # before the query: PostgreSQL text cannot hold it
        if value in self.empty_values or not str(value).strip():
            return None
        text = str(value).strip()
        picked = PARTY_PICKED.match(text)
        if picked:
            # The id decides, and the name must still be that party's: no silent other party.
            party = self.queryset.filter(
                pk=picked["pk"], name__iexact=picked["name"].strip()
            ).first()
            if party is not None:
                return party
        named = self.queryset.filter(name__iexact=text)
        found = list(named[:2])
        if len(found) == 1:
            return found[0]
        if found:
            raise ValidationError(
                self.error_messages["ambiguous"],
                code="ambiguous",
                params={"value": text, "count": named.count()},
            )
        raise ValidationError(
            self.error_messages["invalid_choice"], code="invalid_choice", params={"value": text}
        )


def location_label(location: Location) -> str:
    """The value a location field shows and a suggestion fills in: `WAREHOUSE/CODE`."""
    return f"{location.warehouse.code}/{location.code}"


class LocationCodeField(forms.ModelChoiceField):
    """A location typed or scanned by its code (any case, spaces trimmed), with suggestions.

    `CODE` is taken when one location of the queryset has it, `WAREHOUSE/CODE`
    (as locations print) always; nothing outside the queryset is accepted. The
    form narrows it with `restrict()`, which also narrows its suggestions and
    names the kinds and the warehouse in its errors.
    """

    default_error_messages = {
        "invalid_choice": "No %(kinds)s location “%(value)s”%(where)s.",
        "ambiguous": "“%(value)s” is in several warehouses: type WAREHOUSE/CODE (%(choices)s).",
        "case": "Several locations have code “%(value)s” in other cases: type it exactly.",
    }

    def __init__(self, queryset=None, *, kinds=Location.REAL_KINDS, **kwargs):
        attrs = {"placeholder": "Code, or WAREHOUSE/CODE"}
        kwargs.setdefault(
            "widget", SuggestInput(url_name="warehouse:location_suggest", attrs=attrs)
        )
        super().__init__(Location.objects.none() if queryset is None else queryset, **kwargs)
        self.kinds, self.warehouse = tuple(kinds), None
        self.widget.params = self._suggest_params()

    def restrict(self, queryset, *, kinds, warehouse=None) -> None:
        """Accept only the queryset's locations: of these kinds, of this warehouse if given."""
        self.queryset = queryset
        self.kinds, self.warehouse = tuple(kinds), warehouse
        self.widget.params = self._suggest_params()  # a new dict: widgets share theirs on copy

    def _suggest_params(self) -> dict:
        params = {"kind": ",".join(self.kinds)}
        if self.warehouse is not None:
            params["warehouse"] = getattr(self.warehouse, "pk", self.warehouse)
        return params

    def prepare_value(self, value):
        if isinstance(value, Location):
            return location_label(value)
        if isinstance(value, int):  # an initial id
            location = self.queryset.filter(pk=value).first()
            return location_label(location) if location else ""
        return value  # what was typed, as typed

    def to_python(self, value):
        nul_refuse(value)  # before the query: PostgreSQL text cannot hold it
        if value in self.empty_values or not str(value).strip():
            return None
        text = str(value).strip()
        warehouse_code, slash, code = text.partition("/")
        # Warehouse codes are slugs: a slash can only end one, and a location code may hold one.
        match = Q(code__iexact=text)
        if slash:
            match |= Q(warehouse__code__iexact=warehouse_code.strip(), code__iexact=code.strip())
        found = list(self.queryset.filter(match).select_related("warehouse")[:10])
        if slash:
            qualified = [
                loc
                for loc in found
                if loc.warehouse.code.lower() == warehouse_code.strip().lower()
                and loc.code.lower() == code.strip().lower()
            ]
            found = qualified or found
        exact = [loc for loc in found if loc.code in (text, code.strip())]
        if len(found) == 1 or (len(exact) == 1 and len({loc.warehouse_id for loc in found}) == 1):
            return (exact or found)[0]
        if not found:
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": text, **self._scope()},
            )
        if len({loc.warehouse_id for loc in found}) > 1:
            choices = " or ".join(location_label(loc) for loc in found)
            raise ValidationError(
                self.error_messages["ambiguous"],
                code="ambiguous",
                params={"value": text, "choices": choices},
            )
        raise ValidationError(self.error_messages["case"], code="case", params={"value": text})

    def _scope(self) -> dict:
        labels = [Location.Kind(kind).label.lower() for kind in self.kinds]
        kinds = "" if set(self.kinds) >= set(Location.REAL_KINDS) else " or ".join(labels)
        return {
            "kinds": kinds or "real",
            "where": " in this warehouse" if self.warehouse is not None else "",
        }


def units_clean(form: forms.Form, data: dict) -> dict:
    """Quantity and serials of one product: one serial per unit of a traceable product.

    A traceable product's quantity becomes the number of its serials.
    """
    product = data.get("product")
    if product is None:
        return data
    serials = data.get("serials") or []
    if product.traceable:
        repeated = identity_repeated(serials)
        if not serials:
            form.add_error("serials", f"{product.sku} is traceable: give its serial numbers.")
        elif repeated:
            form.add_error("serials", f"Given twice on this line: {', '.join(repeated)}.")
        elif data.get("quantity") not in (None, len(serials)):
            form.add_error(
                "quantity",
                f"{len(serials)} serial numbers given: the quantity is their count.",
            )
        data["quantity"] = Decimal(len(serials))
    else:
        if serials:
            form.add_error("serials", f"{product.sku} is not traceable: no serial numbers.")
        if not data.get("quantity"):
            form.add_error("quantity", "Give a quantity greater than zero.")
    return data


class OverMaximumMixin:
    """A booking above a soft maximum is confirmed by a checkbox shown with the warning."""

    CONFIRM = "allow_over_maximum"  # the services' keyword: cleaned data is passed on as it is

    def over_maximum_field_add(self):
        self.fields[self.CONFIRM] = forms.BooleanField(
            label="Book anyway above the maximum", required=False, widget=forms.HiddenInput
        )
        if self.is_bound and self.data.get(self.add_prefix(self.CONFIRM)) in ("on", "True", "1"):
            self.fields[self.CONFIRM].widget = forms.CheckboxInput()

    def over_maximum_ask(self, exc) -> None:
        """Show the warning; a soft maximum also shows the checkbox that confirms it."""
        self.add_error(None, exc.message)
        # A hard maximum cannot be confirmed away.
        widget = forms.HiddenInput if exc.hard else forms.CheckboxInput
        self.fields[self.CONFIRM].widget = widget()


# --------------------------------------------------------------------------- stock-in


class StockInForm(OverMaximumMixin, forms.Form):
    location = LocationCodeField(help_text="Storage, or incoming to put away later.")
    supplier = forms.CharField(max_length=200, required=False)
    reference = forms.CharField(
        max_length=64, required=False, help_text="Delivery note or purchase order number."
    )
    reason = forms.CharField(max_length=255, required=False, label="Note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kinds = [Location.Kind.STORAGE, Location.Kind.INCOMING]
        self.fields["location"].restrict(real_locations(kinds=kinds), kinds=kinds)
        self.over_maximum_field_add()


class StockInLineForm(forms.Form):
    product = ProductSkuField(queryset=Product.objects.filter(active=True).order_by("sku"))
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
        return units_clean(self, super().clean())


class BaseStockInLineFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        lines = [f for f in self.forms if f.cleaned_data]
        if not lines:
            raise ValidationError("Add at least one product to book.")
        seen: dict[tuple[int, str], int] = {}
        for number, form in enumerate(lines, start=1):
            product = form.cleaned_data["product"]
            for serial in form.cleaned_data.get("serials") or ():
                key = (product.pk, identity_key(serial))
                if key in seen and seen[key] != number:
                    form.add_error("serials", f"{serial} is on line {seen[key]} already.")
                seen.setdefault(key, number)


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
    location = LocationCodeField()
    reason = forms.CharField(max_length=255, help_text="Scrapped, lost, used up ...")
    field_order = ["location", "quantity", "serials", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].restrict(real_locations(), kinds=Location.REAL_KINDS)


class StockMoveForm(OverMaximumMixin, ProductStockForm):
    source = LocationCodeField(label="From")
    destination = LocationCodeField(label="To")
    reason = forms.CharField(max_length=255, required=False)
    field_order = ["source", "destination", "quantity", "serials", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].restrict(real_locations(), kinds=Location.REAL_KINDS)
        kinds = [Location.Kind.STORAGE, Location.Kind.QUARANTINE]
        self.fields["destination"].restrict(real_locations(kinds=kinds), kinds=kinds)
        self.over_maximum_field_add()


class StockIsolateForm(ProductStockForm):
    location = LocationCodeField(label="From storage")
    # A select: a warehouse has a few quarantine places, a list reads faster than typing.
    quarantine = LocationChoiceField(queryset=Location.objects.none())
    reason = forms.CharField(max_length=255, help_text="Damaged, suspect, awaiting a test ...")
    field_order = ["location", "quarantine", "quantity", "serials", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kinds = [Location.Kind.STORAGE]
        self.fields["location"].restrict(real_locations(kinds=kinds), kinds=kinds)
        self.fields["quarantine"].queryset = real_locations(kinds=[Location.Kind.QUARANTINE])


class StockAdjustForm(forms.Form):
    location = LocationCodeField()
    counted = forms.DecimalField(
        **{**QUANTITY_FIELD, "min_value": 0},
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
        self.fields["location"].restrict(real_locations(), kinds=Location.REAL_KINDS)


# --------------------------------------------------------------------------- incoming


MONEY_FIELD = {
    "max_digits": MONEY["max_digits"],
    "decimal_places": MONEY["decimal_places"],
    "min_value": Decimal("0"),
}


class IncomingBookForm(OverMaximumMixin, forms.Form):
    """One delivered package booked into an incoming location, priced as a whole."""

    # A select: a warehouse has a few goods-in docks, a list reads faster than typing.
    location = LocationChoiceField(queryset=Location.objects.none(), label="Incoming location")
    supplier = forms.CharField(max_length=200, required=False)
    reference = forms.CharField(
        max_length=64, required=False, help_text="Delivery note or purchase order number."
    )
    product = ProductSkuField(queryset=Product.objects.filter(active=True).order_by("sku"))
    quantity = forms.DecimalField(
        **{**QUANTITY_FIELD, "min_value": Decimal("0")},
        required=False,
        help_text="Traceable products: the number of serials.",
    )
    package_price = forms.DecimalField(
        **MONEY_FIELD, label="Package price", help_text="The total paid for the whole package."
    )
    package_number = forms.CharField(
        max_length=64,
        required=False,
        help_text="Identifies the delivery; empty: numbered from the reference or the date.",
    )
    serials = SerialsField(
        required=False, label="Serial numbers", help_text="Traceable products: one per unit."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = real_locations(kinds=[Location.Kind.INCOMING])
        self.over_maximum_field_add()

    def clean(self):
        return units_clean(self, super().clean())


class ReferencePriceForm(forms.Form):
    """What the booking dialog has so far, to show the product's average as the reference."""

    location = forms.ModelChoiceField(
        queryset=Location.objects.filter(kind=Location.Kind.INCOMING), required=False
    )
    # Typed by SKU, as in the booking dialog it reads.
    product = ProductSkuField(queryset=Product.objects.filter(active=True), required=False)
    quantity = forms.DecimalField(**QUANTITY_FIELD, required=False)
    package_price = forms.DecimalField(**MONEY_FIELD, required=False)
    serials = SerialsField(required=False)

    def units(self) -> Decimal | None:
        """The units of the package: the serials of a traceable product, else the quantity."""
        data = self.cleaned_data
        product = data.get("product")
        if product is not None and product.traceable:
            return Decimal(len(data.get("serials") or [])) or None
        return data.get("quantity")


class PutAwayForm(forms.Form):
    """Goods of one incoming package moved to a storage location of its warehouse."""

    destination = LocationCodeField(label="To storage")
    quantity = forms.DecimalField(**QUANTITY_FIELD)
    serials = forms.MultipleChoiceField(
        label="Serial numbers",
        widget=forms.CheckboxSelectMultiple,
        help_text="The package's devices still in the incoming location.",
    )
    reason = forms.CharField(max_length=255, required=False, label="Note")

    def __init__(self, *args, package, waiting_serials=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.package = package
        kinds = [Location.Kind.STORAGE]
        self.fields["destination"].restrict(
            real_locations(warehouse=package.warehouse, kinds=kinds),
            kinds=kinds,
            warehouse=package.warehouse,
        )
        if package.product.traceable:
            del self.fields["quantity"]
            self.fields["serials"].choices = [(s, s) for s in waiting_serials]
            self.fields["serials"].initial = list(waiting_serials)
        else:
            del self.fields["serials"]
            self.fields["quantity"].initial = Decimal(fmt(package.waiting))
            self.fields["quantity"].validators.append(
                MaxValueValidator(
                    package.waiting,
                    message=f"Package {package.number} has {fmt(package.waiting)} waiting.",
                )
            )

    def clean(self):
        data = super().clean()
        if self.package.waiting <= 0:
            raise ValidationError(f"Package {self.package.number} is put away already.")
        return data


# --------------------------------------------------------------------------- constraints


class ConstraintForm(forms.Form):
    """A product's minimum and maximum in one warehouse."""

    minimum = forms.DecimalField(
        **{**QUANTITY_FIELD, "min_value": 0},
        initial=Decimal("0"),
    )
    maximum = forms.DecimalField(
        **{**QUANTITY_FIELD, "min_value": 0},
        required=False,
        help_text="Empty: no maximum.",
    )
    hard = forms.BooleanField(
        required=False, label="Hard", help_text="Refuse bookings above the maximum."
    )

    def __init__(self, *args, warehouse, **kwargs):
        super().__init__(*args, **kwargs)
        self.warehouse = warehouse

    def clean(self):
        data = super().clean()
        minimum, maximum = data.get("minimum"), data.get("maximum")
        if minimum is not None and maximum is not None and maximum < minimum:
            self.add_error("maximum", "The maximum cannot be below the minimum.")
        return data


# --------------------------------------------------------------------------- reference data


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["sku", "name", "description", "unit", "traceable", "active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean_sku(self):
        sku = self.cleaned_data["sku"]  # cleaned by the model's IdentityField
        twin = Product.objects.filter(sku__identity=sku).exclude(pk=self.instance.pk).first()
        if twin is not None:
            raise ValidationError(f"SKU {twin.sku} already exists ({twin.name}).")
        return sku

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


VIRTUAL_CODE_PREFIX = "~"  # virtual_locations_ensure names them ~SUPPLIER, ~SOLD ...


class LocationForm(forms.ModelForm):
    """A real location; the admin uses it too, so both follow the same rules."""

    kind = forms.ChoiceField(
        choices=[(k.value, k.label) for k in Location.REAL_KINDS],
    )

    class Meta:
        model = Location
        fields = ["warehouse", "code", "name", "kind", "active"]

    def clean_code(self):
        code = self.cleaned_data["code"]
        changed = self.instance.pk is None or "code" in self.changed_data
        if changed and code.strip().startswith(VIRTUAL_CODE_PREFIX):
            raise ValidationError("Codes starting with ~ are kept for virtual locations.")
        return code

    def clean(self):
        data = super().clean()
        # Before _post_clean: the instance still holds the kind it has in the database.
        if "kind" in self.changed_data and data.get("kind"):
            try:
                services.location_kind_check(location=self.instance, kind=data["kind"])
            except LocationKindFixed as exc:
                self.add_error("kind", exc.message)
        if (
            self.instance.pk
            and "warehouse" in self.changed_data
            and self.instance.positions.exists()
        ):
            self.add_error("warehouse", "Stock has been booked here: it stays in its warehouse.")
        return data
