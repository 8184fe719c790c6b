"""django-tables2 tables of the devices pages: columns only."""

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .models import Device


class DeviceTable(tables.Table):
    # hx-boost off: the list's boosted area swaps the table only, a device opens a page.
    serial = tables.Column(verbose_name="Serial", linkify=True, attrs={"a": {"hx-boost": "false"}})
    electronic_id = tables.Column(verbose_name="Electronic id", default="—")
    product = tables.Column(
        accessor="product__sku", verbose_name="Product", order_by=("product__sku", "serial")
    )
    state = tables.Column(verbose_name="State", order_by=("state", "status__name"))
    owner = tables.Column(
        verbose_name="Owner", empty_values=(), order_by=("owner__name", "product__sku")
    )
    holder = tables.Column(verbose_name="Holder", default="—", order_by=("holder__name",))
    location = tables.Column(
        verbose_name="Location",
        empty_values=(),
        order_by=("location__warehouse__code", "location__code", "spot"),
    )
    reserved_by = tables.Column(verbose_name="Reserved", empty_values=(), orderable=False)
    updated_at = tables.DateTimeColumn(verbose_name="Updated", format="Y-m-d H:i")

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

    def render_state(self, record):
        if record.status_id:
            return format_html(
                '{} <span class="badge">{}</span>', record.get_state_display(), record.status.name
            )
        return record.get_state_display()

    def render_owner(self, record):
        if record.owner_id is None:
            return mark_safe('<span class="muted">business</span>')  # noqa: S308 - a constant
        return record.owner.name

    def render_location(self, record):
        if record.location_id is None:
            return "—"
        if record.spot:
            return format_html('{} <span class="muted">· {}</span>', record.location, record.spot)
        return str(record.location)

    def render_reserved_by(self, record):
        if not record.reserved_by:
            return ""
        return format_html('<span class="badge warn">Reserved · {}</span>', record.reserved_by)
