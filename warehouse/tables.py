"""django-tables2 tables of the warehouse pages: columns only."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from .exceptions import fmt
from .models import Movement, Product


class QuantityColumn(tables.Column):
    def __init__(self, *args, **kwargs):
        attrs = {"th": {"class": "num"}, "td": {"class": "num"}}
        super().__init__(*args, attrs=attrs, **kwargs)

    def render(self, value):
        return fmt(value)


class MoneyColumn(QuantityColumn):
    def render(self, value):
        return f"{value:,.2f}"


class BalanceTable(tables.Table):
    sku = tables.Column(verbose_name="SKU", linkify=True)
    name = tables.Column()
    traceable = tables.BooleanColumn(yesno="Traceable,—")
    ownership = QuantityColumn()
    in_hand = QuantityColumn(verbose_name="In hand")
    reserved = QuantityColumn()
    available = QuantityColumn()
    dispatched = QuantityColumn()
    rented = QuantityColumn()
    average_cost = MoneyColumn(verbose_name="Avg cost")

    class Meta:
        model = Product
        fields = ["sku", "name", "traceable"]
        sequence = [
            "sku",
            "name",
            "traceable",
            "ownership",
            "in_hand",
            "reserved",
            "available",
            "dispatched",
            "rented",
            "average_cost",
        ]
        order_by = "sku"
        attrs = {"id": "balance", "class": "balance"}
        row_attrs = {"data-sku": lambda record: record.sku}
        empty_text = "No products match."

    def render_name(self, value, record):
        if not record.active:
            return format_html('{} <span class="badge">inactive</span>', value)
        return value


class MovementTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name="When", format="Y-m-d H:i")
    action = tables.Column(accessor="get_action_display", order_by="action", verbose_name="Action")
    product = tables.Column(
        accessor="product__sku", verbose_name="Product", order_by="product__sku"
    )
    quantity = QuantityColumn()
    source = tables.Column(verbose_name="From", orderable=False)
    destination = tables.Column(verbose_name="To", orderable=False)
    unit_cost = MoneyColumn(verbose_name="Unit cost")
    actor = tables.Column(verbose_name="Who", accessor="actor__username", default="system")
    why = tables.Column(verbose_name="Why", accessor="reason", orderable=False, empty_values=())

    class Meta:
        model = Movement
        fields = []
        sequence = [
            "created_at",
            "action",
            "product",
            "quantity",
            "source",
            "destination",
            "unit_cost",
            "actor",
            "why",
        ]
        order_by = "-created_at"
        attrs = {"id": "activity"}
        empty_text = "No movement matches."

    def render_product(self, value, record):
        url = reverse("warehouse:product_detail", args=[record.product_id])
        serial = (
            format_html(' <span class="muted">#{}</span>', record.serial) if record.serial else ""
        )
        return format_html('<a href="{}">{}</a>{}', url, value, serial)

    def render_why(self, record):
        parts = [
            p
            for p in (
                record.reason,
                record.supplier and f"from {record.supplier}",
                record.reference,
            )
            if p
        ]
        return " · ".join(parts) or "—"
