"""django-tables2 tables of the devices pages: their columns, and how a cell reads."""

import django_tables2 as tables
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from warehouse.rows import PythonRows
from warehouse.web import detail_url_maker

from .models import Device


class DeviceTable(PythonRows, tables.Table):
    """One row per device; its rows are written in Python (`PythonRows`) from these columns."""

    serial = tables.Column(verbose_name="Serial")
    electronic_id = tables.Column(verbose_name="Electronic id")
    product = tables.Column(
        accessor="product__sku", verbose_name="Product", order_by=("product__sku", "serial")
    )
    state = tables.Column(verbose_name="State", order_by=("state", "status__name"))
    owner = tables.Column(
        verbose_name="Owner", order_by=("owner__name", "product__sku"), empty_values=()
    )
    holder = tables.Column(verbose_name="Holder", order_by=("holder__name",))
    location = tables.Column(
        verbose_name="Location", order_by=("location__warehouse__code", "location__code", "spot")
    )
    reserved_by = tables.Column(verbose_name="Reserved", orderable=False, default="")
    updated_at = tables.Column(verbose_name="Updated")

    class Meta:
        model = Device
        fields = []
        sequence = [
            "serial",
            "electronic_id",
            "product",
            "state",
            "owner",
            "holder",
            "location",
            "reserved_by",
            "updated_at",
        ]
        order_by = "product"
        attrs = {"id": "devices", "class": "devices"}
        row_attrs = {"data-serial": lambda record: record.serial}
        empty_text = "No devices match."

    @cached_property
    def _device_url(self):
        return detail_url_maker("devices:device_detail")

    def render_serial(self, value, record):
        return format_html(
            '<a hx-boost="false" href="{}">{}</a>', self._device_url(record.pk), value
        )

    def render_state(self, record):
        if not record.status_id:
            return record.get_state_display()
        return format_html(
            '{} <span class="badge">{}</span>', record.get_state_display(), record.status.name
        )

    def render_owner(self, value):
        return (
            value.name
            if value is not None
            else format_html('<span class="muted">{}</span>', "business")
        )

    def render_holder(self, value):
        return value.name

    def render_location(self, value, record):
        if not record.spot:
            return format_html("{}/{}", value.warehouse.code, value.code)
        return format_html(
            '{}/{} <span class="muted">· {}</span>', value.warehouse.code, value.code, record.spot
        )

    def render_reserved_by(self, value):
        return format_html('<span class="badge warn">Reserved · {}</span>', value)

    def render_updated_at(self, value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
