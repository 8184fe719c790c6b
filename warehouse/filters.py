"""django-filter FilterSets of the warehouse pages; selectors apply them."""

import django_filters
from django import forms
from django.db.models import Q

from .models import Location, Movement, Product, Warehouse


class BalanceFilter(django_filters.FilterSet):
    """The stock balance: warehouse (applied by the selector), text, traceable."""

    warehouse = django_filters.ModelChoiceFilter(
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
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(sku__icontains=value) | Q(name__icontains=value))


class MovementFilter(django_filters.FilterSet):
    """The activity log: product, location (either side), action, user and dates."""

    product = django_filters.CharFilter(label="Product (SKU)", method="filter_product")
    location = django_filters.ModelChoiceFilter(
        queryset=Location.objects.select_related("warehouse").order_by("warehouse__code", "code"),
        method="filter_location",
    )
    action = django_filters.ChoiceFilter(choices=Movement.Action.choices)
    actor = django_filters.CharFilter(
        label="User", field_name="actor__username", lookup_expr="iexact"
    )
    reference = django_filters.CharFilter(lookup_expr="icontains")
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
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(product__sku__iexact=value) | Q(serial__iexact=value))

    def filter_location(self, queryset, name, value):
        return queryset.filter(Q(source=value) | Q(destination=value))
