"""django-tables2 tables of the billing pages: columns only."""

import django_tables2 as tables
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html

from warehouse.models import Party

from .models import Invoice, Order

# The tables are boosted to page and sort in place; a link to a page opens it whole.
PAGE_LINK = {"a": {"hx-boost": "false"}}

STATUS_BADGE = {
    "draft": "",
    "confirmed": "warn",
    "issued": "warn",
    "dispatched": "warn",
    "completed": "yes",
    "posted": "yes",
    "cancelled": "danger",
}


def status_badge(document) -> str:
    return format_html(
        '<span class="badge {} status-{}">{}</span>',
        STATUS_BADGE.get(document.status, ""),
        document.status,
        document.get_status_display(),
    )


class MoneyColumn(tables.Column):
    def __init__(self, *args, **kwargs):
        attrs = {"th": {"class": "num"}, "td": {"class": "num"}}
        kwargs.setdefault("verbose_name", f"Total ({settings.INVENTORY_CURRENCY})")
        super().__init__(*args, attrs=attrs, **kwargs)

    def render(self, value):
        return f"{value:,.2f}"


class PartyColumn(tables.Column):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("order_by", "party__name")
        super().__init__(*args, **kwargs)

    def render(self, value):
        url = reverse("billing:party_detail", args=[value.pk])
        return format_html('<a href="{}" hx-boost="false">{}</a>', url, value)


class PartyTable(tables.Table):
    name = tables.Column(linkify=("billing:party_detail", [tables.A("pk")]), attrs=PAGE_LINK)
    kind = tables.Column()
    email = tables.EmailColumn(verbose_name="E-mail")
    phone = tables.Column()
    vat_number = tables.Column()

    class Meta:
        model = Party
        fields = ["name", "kind", "email", "phone", "vat_number"]
        order_by = "name"
        attrs = {"id": "parties"}
        row_attrs = {"data-party": lambda record: record.pk}
        empty_text = "No party matches."

    def render_name(self, value, record):
        if not record.active:
            return format_html('{} <span class="badge">inactive</span>', value)
        return value


class OrderTable(tables.Table):
    number = tables.Column(linkify=True, attrs=PAGE_LINK)
    party = PartyColumn()
    warehouse = tables.Column(order_by="warehouse__code")
    status = tables.Column()
    total = MoneyColumn()
    created_at = tables.DateTimeColumn(verbose_name="Created", format="Y-m-d H:i")

    class Meta:
        model = Order
        fields = ["number", "party", "warehouse", "status", "total", "created_at"]
        order_by = "-created_at"
        attrs = {"id": "orders"}
        row_attrs = {"data-number": lambda record: record.number}
        empty_text = "No order matches."

    def render_status(self, record):
        return status_badge(record)


class InvoiceTable(tables.Table):
    number = tables.Column(linkify=True, attrs=PAGE_LINK)
    party = PartyColumn()
    warehouse = tables.Column(order_by="warehouse__code")
    status = tables.Column()
    order = tables.Column(verbose_name="Order", order_by="order__number")
    total = MoneyColumn()
    created_at = tables.DateTimeColumn(verbose_name="Created", format="Y-m-d H:i")

    class Meta:
        model = Invoice
        fields = ["number", "party", "warehouse", "status", "order", "total", "created_at"]
        order_by = "-created_at"
        attrs = {"id": "invoices"}
        row_attrs = {"data-number": lambda record: record.number}
        empty_text = "No invoice matches."

    def render_status(self, record):
        return status_badge(record)

    def render_order(self, value):
        return format_html('<a href="{}" hx-boost="false">{}</a>', value.get_absolute_url(), value)
