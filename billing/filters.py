"""django-filter FilterSets of the billing pages; selectors apply them."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from warehouse.models import Party

from .models import Invoice, Order


def party_text_filter(queryset: QuerySet, value: str, prefix: str = "") -> QuerySet:
    """Name, e-mail, phone or VAT number containing the text."""
    value = value.strip()
    if not value:
        return queryset
    fields = ("name", "email", "phone", "vat_number")
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{prefix}{field}__identity_contains": value})
    return queryset.filter(condition)


class PartyFilter(django_filters.FilterSet):
    """The parties: kind, a text (name, e-mail, phone, VAT number) and whether active."""

    q = django_filters.CharFilter(
        label="Search",
        method="filter_text",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, e-mail, phone, VAT"}),
    )
    kind = django_filters.ChoiceFilter(label="Kind", choices=Party.Kind.choices, empty_label="Any")
    active = django_filters.BooleanFilter(
        label="Status",
        widget=forms.Select(choices=[("true", "Active"), ("false", "Inactive"), ("", "All")]),
    )

    class Meta:
        model = Party
        fields = ["q", "kind", "active"]

    def filter_text(self, queryset, name, value):
        return party_text_filter(queryset, value)


class DocumentFilter(django_filters.FilterSet):
    """A document list: number, party (name or e-mail ...), status."""

    number = django_filters.CharFilter(
        label="Number",
        lookup_expr="identity_contains",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. 000042"}),
    )
    party = django_filters.CharFilter(
        label="Party",
        method="filter_party",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, e-mail, VAT"}),
    )

    def filter_party(self, queryset, name, value):
        return party_text_filter(queryset, value, prefix="party__")


class OrderFilter(DocumentFilter):
    status = django_filters.ChoiceFilter(choices=Order.Status.choices, empty_label="Any")

    class Meta:
        model = Order
        fields = ["number", "party", "status"]


class InvoiceFilter(DocumentFilter):
    status = django_filters.ChoiceFilter(choices=Invoice.Status.choices, empty_label="Any")

    class Meta:
        model = Invoice
        fields = ["number", "party", "status"]
