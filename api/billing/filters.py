"""Filters for the billing lists the pages have no list of (credit notes, rentals)."""

import django_filters

from billing.filters import DocumentFilter, party_text_filter
from billing.models import CreditNote, Rental
from warehouse.identity import identity_clean


class ApiCreditNoteFilter(DocumentFilter):
    """As the order and invoice lists: number, party (name, e-mail ...), status."""

    status = django_filters.ChoiceFilter(choices=CreditNote.Status.choices)

    class Meta:
        model = CreditNote
        fields = ["number", "party", "status"]


class ApiRentalFilter(django_filters.FilterSet):
    """What is out on rent: by party, product (SKU), serial, order number; `open` or returned."""

    party = django_filters.CharFilter(label="Party", method="filter_party")
    product = django_filters.CharFilter(
        label="Product (SKU)", field_name="device__product__sku", lookup_expr="identity"
    )
    serial = django_filters.CharFilter(label="Serial", method="filter_serial")
    order = django_filters.CharFilter(
        label="Order number",
        field_name="order_line__order__number",
        lookup_expr="identity_contains",
    )
    open = django_filters.BooleanFilter(
        label="Not returned yet", field_name="returned_at", lookup_expr="isnull"
    )

    class Meta:
        model = Rental
        fields = ["party", "product", "serial", "order", "open"]

    def filter_party(self, queryset, name, value):
        return party_text_filter(queryset, value, prefix="party__")

    def filter_serial(self, queryset, name, value):
        value = identity_clean(value)
        return queryset.filter(device__serial__identity=value) if value else queryset
