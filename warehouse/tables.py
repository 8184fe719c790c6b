"""django-tables2 tables of the warehouse pages: their columns, and how a cell reads."""

from urllib.parse import quote

import django_tables2 as tables
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from .exceptions import fmt
from .models import Location, Movement, Product, StockConstraint
from .rows import PythonRows, edit_button, moment, page_link
from .web import detail_url_maker

TRACEABLE_BADGE = mark_safe('<span class="badge yes">traceable</span>')
INACTIVE_BADGE = mark_safe('<span class="badge">inactive</span>')


class QuantityColumn(tables.Column):
    ATTRS = {"th": {"class": "num"}, "td": {"class": "num"}}  # figures align right

    def __init__(self, *args, **kwargs):
        super().__init__(*args, attrs=self.ATTRS, **kwargs)

    def render(self, value):
        return fmt(value)


class MoneyColumn(QuantityColumn):
    def render(self, value):
        return f"{value:,.2f}"


class BalanceTable(PythonRows, tables.Table):
    """One row per product; its rows are written in Python (`PythonRows`) from these columns."""

    sku = tables.Column(verbose_name="SKU")
    name = tables.Column()
    traceable = tables.BooleanColumn()
    ownership = QuantityColumn()
    in_hand = QuantityColumn(verbose_name="In hand")
    reserved = QuantityColumn()
    available = QuantityColumn()
    dispatched = QuantityColumn()
    rented = QuantityColumn()
    average_cost = MoneyColumn(verbose_name="Avg cost")
    devices = tables.Column(verbose_name="", empty_values=(), orderable=False)

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
            "devices",
        ]
        order_by = "sku"
        attrs = {"id": "balance", "class": "balance"}
        row_attrs = {"data-sku": lambda record: record.sku}
        empty_text = "No products match."

    @cached_property
    def _product_url(self):
        return detail_url_maker("warehouse:product_detail")

    def render_sku(self, value, record):
        return format_html(
            '<a hx-boost="false" href="{}">{}</a>', self._product_url(record.pk), value
        )

    def render_name(self, value, record):
        badges = []
        if not record.active:
            badges.append(("", "inactive"))
        if record.below_minimum:
            badges.append((" danger", "below minimum"))
        return format_html(
            "{}{}", value, format_html_join("", ' <span class="badge{}">{}</span>', badges)
        )

    def render_traceable(self, value):
        return "Traceable" if value else "—"

    def render_devices(self, record):
        if not record.traceable:
            return ""
        return format_html(
            '<a href="{}?product={}" hx-boost="false">View devices</a>',
            reverse("devices:device_list"),
            quote(record.sku, safe=""),
        )


class ProductTable(PythonRows, tables.Table):
    sku = tables.Column(verbose_name="SKU")
    name = tables.Column(order_by=("name", "sku"))
    unit = tables.Column(order_by=("unit", "sku"))
    traceable = tables.Column(order_by=("traceable", "sku"))
    active = tables.Column(verbose_name="Status", order_by=("-active", "sku"))
    edit = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta:
        model = Product
        fields = []
        sequence = ["sku", "name", "unit", "traceable", "active", "edit"]
        order_by = "sku"
        attrs = {"id": "products"}
        row_attrs = {"data-sku": lambda record: record.sku}
        empty_text = "No product matches."

    def render_sku(self, value, record):
        return page_link(record.get_absolute_url(), value)

    def render_unit(self, record):
        return record.get_unit_display()

    def render_traceable(self, record):
        return TRACEABLE_BADGE if record.traceable else ""

    def render_active(self, record):
        return "active" if record.active else INACTIVE_BADGE

    def render_edit(self, record):
        if not self.user_may("warehouse.change_product"):
            return ""
        return edit_button(reverse("warehouse:product_edit", args=[record.pk]))


class LocationTable(PythonRows, tables.Table):
    warehouse = tables.Column(order_by=("warehouse__code", "code"))
    code = tables.Column(order_by=("code", "warehouse__code"))
    name = tables.Column(order_by=("name", "warehouse__code", "code"))
    kind = tables.Column(order_by=("kind", "warehouse__code", "code"))
    products = tables.Column(
        order_by=("products", "warehouse__code", "code"), attrs=QuantityColumn.ATTRS
    )
    quantity = QuantityColumn(order_by=("quantity", "warehouse__code", "code"))
    edit = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta:
        model = Location
        fields = []
        sequence = ["warehouse", "code", "name", "kind", "products", "quantity", "edit"]
        order_by = "warehouse"
        attrs = {"id": "location-list"}
        row_attrs = {"data-location": lambda record: record.pk}
        empty_text = "No location matches."

    def render_name(self, value, record):
        if record.active:
            return value
        return format_html('{} <span class="badge">inactive</span>', value)

    def render_kind(self, record):
        return record.get_kind_display()

    def render_edit(self, record):
        if not self.user_may("warehouse.change_location"):
            return ""
        return edit_button(reverse("warehouse:location_edit", args=[record.pk]))


class MovementTable(PythonRows, tables.Table):
    created_at = tables.Column(verbose_name="When")
    action = tables.Column(accessor="get_action_display", order_by="action", verbose_name="Action")
    product = tables.Column(
        accessor="product__sku", verbose_name="Product", order_by="product__sku"
    )
    quantity = QuantityColumn()
    source = tables.Column(verbose_name="From", orderable=False)
    destination = tables.Column(verbose_name="To", orderable=False)
    unit_cost = MoneyColumn(verbose_name="Unit cost")
    actor = tables.Column(verbose_name="Who", accessor="actor__username", default="system")
    why = tables.Column(verbose_name="Why", accessor="note", orderable=False, default="—")

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

    def render_created_at(self, value):
        return moment(value)

    def render_product(self, value, record):
        link = page_link(record.product.get_absolute_url(), value)
        if not record.serial:
            return link
        return format_html('{} <span class="muted">#{}</span>', link, record.serial)

    def render_source(self, value):
        return f"{value.warehouse.code}/{value.code}"

    def render_destination(self, value):
        return f"{value.warehouse.code}/{value.code}"


class FifoTable(PythonRows, tables.Table):
    """The FIFO report: one row per product, warehouse and package number (dicts)."""

    product = tables.Column(accessor="product__sku", verbose_name="Product")
    warehouse = tables.Column(accessor="warehouse__code", verbose_name="Warehouse")
    package_number = tables.Column(verbose_name="Package", empty_values=())
    received_at = tables.Column(verbose_name="Received")
    received = QuantityColumn(verbose_name="Received qty")
    received_value = MoneyColumn(verbose_name="Received value")
    consumed = QuantityColumn(verbose_name="Consumed qty")
    remaining = QuantityColumn(
        verbose_name="Remaining qty", footer=lambda table: fmt(table.totals["remaining"])
    )
    remaining_value = MoneyColumn(
        verbose_name="Remaining value", footer=lambda table: f"{table.totals['value']:,.2f}"
    )

    class Meta:
        sequence = [
            "product",
            "warehouse",
            "package_number",
            "received_at",
            "received",
            "received_value",
            "consumed",
            "remaining",
            "remaining_value",
        ]
        attrs = {"id": "fifo"}
        row_attrs = {
            "data-package": lambda record: record["package_number"],
            "data-sku": lambda record: record["product__sku"],
        }
        empty_text = "No cost layer matches."

    def __init__(self, *args, totals, **kwargs):
        super().__init__(*args, **kwargs)
        self.totals = totals

    def render_product(self, value, record):
        url = reverse("warehouse:product_detail", args=[record["product_id"]])
        return format_html(
            '<a href="{}" hx-boost="false">{}</a> <span class="muted">{}</span>',
            url,
            value,
            record["product__name"],
        )

    def render_received_at(self, value):
        return moment(value)[:10]

    def render_package_number(self, value, record):
        return format_html(
            '<a href="{}" hx-boost="false">{}</a>',
            fifo_package_url(record["product_id"], value),
            value or "(no number)",
        )


def fifo_package_url(product_id: int, package_number: str) -> str:
    """The page of one package of a product; unnumbered layers have one page per product."""
    if not package_number:
        return reverse("warehouse:fifo_unnumbered", args=[product_id])
    return reverse("warehouse:fifo_package", args=[product_id, package_number])


class LowStockTable(PythonRows, tables.Table):
    """Products below their minimum in a warehouse, with what to reorder."""

    product = tables.Column(accessor="product__sku", verbose_name="Product")
    warehouse = tables.Column(accessor="warehouse__code", verbose_name="Warehouse")
    in_hand = QuantityColumn(verbose_name="In hand")
    minimum = QuantityColumn()
    maximum = QuantityColumn(default="—")
    reorder = QuantityColumn(verbose_name="To reorder")

    class Meta:
        model = StockConstraint
        fields = []
        sequence = ["product", "warehouse", "in_hand", "minimum", "maximum", "reorder"]
        attrs = {"id": "low-stock"}
        row_attrs = {"data-sku": lambda record: record.product.sku}
        empty_text = "Every product is at or above its minimum."

    def render_product(self, value, record):
        return format_html(
            '<a href="{}">{}</a> <span class="muted">{}</span>',
            record.product.get_absolute_url(),
            value,
            record.product.name,
        )
