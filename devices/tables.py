"""django-tables2 tables of the devices pages: columns only."""

import django_tables2 as tables

from .models import Device


class DeviceTable(tables.Table):
    """Headers, sorting and paging; the rows are written out in its template."""

    serial = tables.Column(verbose_name="Serial")
    electronic_id = tables.Column(verbose_name="Electronic id")
    product = tables.Column(
        accessor="product__sku", verbose_name="Product", order_by=("product__sku", "serial")
    )
    state = tables.Column(verbose_name="State", order_by=("state", "status__name"))
    owner = tables.Column(verbose_name="Owner", order_by=("owner__name", "product__sku"))
    holder = tables.Column(verbose_name="Holder", order_by=("holder__name",))
    location = tables.Column(
        verbose_name="Location", order_by=("location__warehouse__code", "location__code", "spot")
    )
    reserved_by = tables.Column(verbose_name="Reserved", orderable=False)
    updated_at = tables.Column(verbose_name="Updated")

    class Meta:
        model = Device
        template_name = "devices/tables/device_table.html"
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
        empty_text = "No devices match."
