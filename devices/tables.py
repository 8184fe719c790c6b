"""django-tables2 tables of the devices pages: columns, and the device list's rows."""

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import escape

from warehouse.web import detail_url_maker, table_rows_html

from .models import Device


class DeviceTable(tables.Table):
    """Headers, sorting and paging; the rows are written by `rows_html`."""

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

    def rows_html(self):
        """One row per device: the same cells as the columns above, in their order."""
        device_url = detail_url_maker("devices:device_detail")

        def row(d):
            serial = escape(d.serial)
            state = escape(d.get_state_display())
            if d.status_id:
                state += f' <span class="badge">{escape(d.status.name)}</span>'
            owner = escape(d.owner.name) if d.owner_id else '<span class="muted">business</span>'
            holder = escape(d.holder.name) if d.holder_id else "—"
            place = "—"
            if d.location_id:
                place = f"{escape(d.location.warehouse.code)}/{escape(d.location.code)}"
                if d.spot:
                    place += f' <span class="muted">· {escape(d.spot)}</span>'
            reserved = (
                f'<span class="badge warn">Reserved · {escape(d.reserved_by)}</span>'
                if d.reserved_by
                else ""
            )
            updated = timezone.localtime(d.updated_at).strftime("%Y-%m-%d %H:%M")
            return (
                f'<tr data-serial="{serial}">\n'
                f'<td><a hx-boost="false" href="{device_url(d.pk)}">{serial}</a></td>\n'
                f"<td>{escape(d.electronic_id) if d.electronic_id else '—'}</td>\n"
                f"<td>{escape(d.product.sku)}</td>\n"
                f"<td>{state}</td>\n"
                f"<td>{owner}</td>\n"
                f"<td>{holder}</td>\n"
                f"<td>{place}</td>\n"
                f"<td>{reserved}</td>\n"
                f"<td>{updated}</td>\n</tr>"
            )

        return table_rows_html(self, row)
