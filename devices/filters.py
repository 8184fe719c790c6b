"""django-filter FilterSets of the devices pages; selectors apply them."""

import django_filters
from django import forms
from django.db.models import Q

from warehouse.identity import identity_clean
from warehouse.models import Location, Warehouse

from .models import Device, DeviceStatus, State

BUSINESS = "business"


def _filter_locations():
    """Real locations to filter the device list by, with their warehouse for the label."""
    return (
        Location.objects.filter(kind__in=Location.REAL_KINDS)
        .select_related("warehouse")
        .order_by("warehouse__code", "code")
    )


class DeviceFilter(django_filters.FilterSet):
    """The device list: product, state, status, owner, place and a serial / electronic id."""

    q = django_filters.CharFilter(
        label="Search",
        method="filter_text",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Serial or electronic id"}),
    )
    product = django_filters.CharFilter(
        label="Product (SKU)", field_name="product__sku", lookup_expr="identity"
    )
    state = django_filters.ChoiceFilter(label="State", choices=State.choices, empty_label="Any")
    status = django_filters.ModelChoiceFilter(
        label="Status",
        queryset=DeviceStatus.objects.order_by("state", "name"),
        empty_label="Any",
    )
    owner = django_filters.CharFilter(
        label="Owner",
        method="filter_owner",
        widget=forms.TextInput(attrs={"placeholder": "Name, or “business”"}),
    )
    warehouse = django_filters.ModelChoiceFilter(
        label="Warehouse",
        field_name="location__warehouse",
        queryset=Warehouse.objects.filter(active=True),
        empty_label="All warehouses",
    )
    location = django_filters.ModelChoiceFilter(
        label="Location", queryset=_filter_locations(), empty_label="Any"
    )

    class Meta:
        model = Device
        fields = ["q", "product", "state", "status", "owner", "warehouse", "location"]

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        # A warehouse holds hundreds of locations: offer those of the chosen
        # warehouse only (or just the one asked for), not every location there is.
        field = self.filters["location"]
        chosen = (data or {}).get("warehouse") or ""
        asked = (data or {}).get("location") or ""
        locations = _filter_locations()
        if str(chosen).isdigit():
            locations = locations.filter(warehouse_id=chosen)
        elif str(asked).isdigit():
            locations = locations.filter(pk=asked)
        else:
            locations = locations.none()
            field.extra["empty_label"] = "Choose a warehouse first"
        field.queryset = locations

    def filter_text(self, queryset, name, value):
        value = identity_clean(value)  # a scanned or pasted serial: invisible characters gone
        if not value:
            return queryset
        return queryset.filter(
            Q(serial__identity_contains=value) | Q(electronic_id__identity_contains=value)
        )

    def filter_owner(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if value.lower() == BUSINESS:
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner__name__identity_contains=value)
