"""django-filter FilterSets of the warehouse pages; selectors apply them."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from .fields import nul_refuse
from .identity import identity_clean
from .models import CostLayer, Location, Movement, Product, Warehouse


class BalanceFilter(django_filters.FilterSet):
    """The stock balance: warehouse (applied by the selector), text, traceable."""

    warehouse = django_filters.ModelChoiceFilter(
        label="Warehouse",
        queryset=Warehouse.objects.filter(active=True),
        empty_label="All warehouses",
        method="filter_noop",
    )
    q = django_filters.CharFilter(
        label="Search",
        method="filter_text",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "SKU or name"}),
    )
    traceable = django_filters.BooleanFilter(
        widget=forms.Select(choices=[("", "Any"), ("true", "Traceable"), ("false", "Counted")])
    )
    active = django_filters.BooleanFilter(
        label="Status",
        widget=forms.Select(choices=[("true", "Active"), ("false", "Inactive"), ("", "All")]),
    )

    class Meta:
        model = Product
        fields = ["warehouse", "q", "traceable", "active"]

    def filter_noop(self, queryset, name, value):
        return queryset  # the selector joins the chosen warehouse's balance

    def filter_text(self, queryset, name, value):
        value = identity_clean(value)  # a SKU pasted with a stray space or full-width letters
        if not value:
            return queryset
        return queryset.filter(Q(sku__identity_contains=value) | Q(name__identity_contains=value))


STATUS_CHOICES = [("", "All"), ("true", "Active"), ("false", "Inactive")]


class ProductFilter(django_filters.FilterSet):
    """The products page and its export: text (SKU or name), traceable, status (all by default)."""

    q = django_filters.CharFilter(
        label="Search",
        method="filter_text",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "SKU or name"}),
    )
    traceable = django_filters.BooleanFilter(
        widget=forms.Select(choices=[("", "Any"), ("true", "Traceable"), ("false", "Counted")])
    )
    active = django_filters.BooleanFilter(
        label="Status", widget=forms.Select(choices=STATUS_CHOICES)
    )

    class Meta:
        model = Product
        fields = ["q", "traceable", "active"]

    def filter_text(self, queryset, name, value):
        value = identity_clean(value)  # a SKU pasted with a stray space or full-width letters
        if not value:
            return queryset
        return queryset.filter(Q(sku__identity_contains=value) | Q(name__identity_contains=value))


class LocationFilter(django_filters.FilterSet):
    """The locations page and its export: warehouse, text (code or name), kind, status."""

    warehouse = django_filters.ModelChoiceFilter(
        label="Warehouse",
        queryset=Warehouse.objects.order_by("code"),
        empty_label="All warehouses",
    )
    q = django_filters.CharFilter(
        label="Search",
        method="filter_text",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Code or name"}),
    )
    kind = django_filters.ChoiceFilter(
        label="Kind",
        choices=[(k.value, k.label) for k in Location.REAL_KINDS],
        empty_label="Any",
    )
    active = django_filters.BooleanFilter(
        label="Status", widget=forms.Select(choices=STATUS_CHOICES)
    )

    class Meta:
        model = Location
        fields = ["warehouse", "q", "kind", "active"]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(code__identity_contains=value) | Q(name__identity_contains=value))


class MovementFilter(django_filters.FilterSet):
    """The activity log: product, location (either side), action, user and dates."""

    product = django_filters.CharFilter(label="Product (SKU)", method="filter_product")
    # Typed, not chosen: a select of every location is a thousand options on every page.
    location = django_filters.CharFilter(
        label="Location",
        method="filter_location",
        widget=forms.TextInput(attrs={"placeholder": "Code, or WAREHOUSE/CODE"}),
    )
    action = django_filters.ChoiceFilter(choices=Movement.Action.choices)
    actor = django_filters.CharFilter(
        label="User", field_name="actor__username", lookup_expr="iexact"
    )
    reference = django_filters.CharFilter(lookup_expr="identity_contains")
    date_from = django_filters.DateFilter(
        label="From",
        field_name="created_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        label="To",
        field_name="created_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Movement
        fields = ["product", "location", "action", "actor", "reference", "date_from", "date_to"]

    def filter_product(self, queryset, name, value):
        value = identity_clean(value)
        if not value:
            return queryset
        # A product's SKU, else a serial, whatever the case or form: each then reads
        # its own key index, where an OR of the two would walk the whole ledger.
        products = list(Product.objects.filter(sku__identity=value).values_list("id", flat=True))
        if products:
            return queryset.filter(product_id__in=products)
        return queryset.exclude(serial="").filter(serial__identity=value)

    def filter_location(self, queryset, name, value):
        """Movements from or to the location typed as CODE (any warehouse) or WAREHOUSE/CODE."""
        warehouse_code, _, code = value.strip().rpartition("/")
        if not code:
            return queryset
        places = Location.objects.filter(code__iexact=code)
        if warehouse_code:
            places = places.filter(warehouse__code__iexact=warehouse_code)
        ids = list(places.values_list("id", flat=True))
        return queryset.filter(Q(source_id__in=ids) | Q(destination_id__in=ids))


class SkuField(forms.ModelChoiceField):
    """A product typed by its SKU, in any case or form."""

    default_error_messages = {"invalid_choice": "No product has this SKU."}

    def __init__(self, *, queryset=None, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"type": "search", "placeholder": "SKU"}))
        super().__init__(queryset=Product.objects.all(), **kwargs)

    def prepare_value(self, value):
        return value.sku if isinstance(value, Product) else value

    def to_python(self, value):
        nul_refuse(value)  # before the query: PostgreSQL text cannot hold it
        value = identity_clean(value)
        if not value:
            return None
        product = self.queryset.filter(sku__identity=value).first()
        if product is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return product


class SkuFilter(django_filters.Filter):
    field_class = SkuField


class FifoFilter(django_filters.FilterSet):
    """The FIFO report: product, warehouse and the dates packages were received.

    The selector (`fifo_report`) applies every criterion to the cost layers
    before it groups them, so the filters here only parse.
    """

    product = SkuFilter(label="Product (SKU)", method="filter_noop")
    warehouse = django_filters.ModelChoiceFilter(
        label="Warehouse",
        queryset=Warehouse.objects.order_by("code"),
        empty_label="All warehouses",
        method="filter_noop",
    )
    date_from = django_filters.DateFilter(
        label="Received from",
        method="filter_noop",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        label="Received to",
        method="filter_noop",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = CostLayer
        fields = ["product", "warehouse", "date_from", "date_to"]

    def filter_noop(self, queryset, name, value):
        return queryset  # fifo_report filters the layers before grouping them

    def criteria(self) -> dict:
        """The selector's keyword arguments for what was asked (nothing when invalid)."""
        data = self.form.cleaned_data
        return {name: data.get(name) for name in ("product", "warehouse", "date_from", "date_to")}
