"""django-tables2 tables of the billing pages: their columns, and how a cell reads."""

import django_tables2 as tables
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html

from warehouse.models import Party
from warehouse.rows import PythonRows, moment, page_link

from .models import Invoice, Order

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
        return page_link(reverse("billing:party_detail", args=[value.pk]), value)


class PartyTable(PythonRows, tables.Table):
    name = tables.Column()
    kind = tables.Column()
    email = tables.Column(verbose_name="E-mail")
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
        link = page_link(reverse("billing:party_detail", args=[record.pk]), value)
        if not record.active:
            return format_html('{} <span class="badge">inactive</span>', link)
        return link

    def render_kind(self, record):
        return record.get_kind_display()

    def render_email(self, value):
        return format_html('<a href="mailto:{}">{}</a>', value, value)


class OrderTable(PythonRows, tables.Table):
    number = tables.Column()
    party = PartyColumn()
    warehouse = tables.Column(order_by="warehouse__code")
    status = tables.Column()
    total = MoneyColumn()
    created_at = tables.Column(verbose_name="Created")

    class Meta:
        model = Order
        fields = ["number", "party", "warehouse", "status", "total", "created_at"]
        order_by = "-created_at"
        attrs = {"id": "orders"}
        row_attrs = {"data-number": lambda record: record.number}
        empty_text = "No order matches."

    def render_number(self, value, record):
        return page_link(record.get_absolute_url(), value)

    def render_status(self, record):
        return status_badge(record)

    def render_created_at(self, value):
        return moment(value)


class InvoiceTable(PythonRows, tables.Table):
    number = tables.Column()
    party = PartyColumn()
    warehouse = tables.Column(order_by="warehouse__code")
    status = tables.Column()
    order = tables.Column(verbose_name="Order", order_by="order__number")
    total = MoneyColumn()
    created_at = tables.Column(verbose_name="Created")

    class Meta:
        model = Invoice
        fields = ["number", "party", "warehouse", "status", "order", "total", "created_at"]
        order_by = "-created_at"
        attrs = {"id": "invoices"}
        row_attrs = {"data-number": lambda record: record.number}
        empty_text = "No invoice matches."

    def render_number(self, value, record):
        return page_link(record.get_absolute_url(), value)

    def render_status(self, record):
        return status_badge(record)

    def render_created_at(self, value):
        return moment(value)

    def render_order(self, value):
        return page_link(value.get_absolute_url(), value)
