"""CSV export of the device list, with the page's filter applied."""

from warehouse.exports import csv_response, stream, table_rows

from . import selectors
from .tables import DeviceTable


def devices_csv(request):
    """Every device the list's filter selects; the devices import's columns first."""
    _, devices = selectors.device_search(request.GET)
    devices = table_rows(request, DeviceTable, devices)
    header = [
        "serial",
        "sku",
        "state",
        "owner",
        "holder",
        "warehouse",
        "location",
        "electronic_id",
        "status",
        "spot",
        "reserved_by",
        "updated_at",
    ]
    rows = (
        (
            d.serial,
            d.product.sku,
            d.state,
            d.owner.name if d.owner_id else "",
            d.holder.name if d.holder_id else "",
            d.location.warehouse.code if d.location_id else "",
            d.location.code if d.location_id and d.location.is_real else "",
            d.electronic_id,
            d.status.name if d.status_id else "",
            d.spot,
            d.reserved_by,
            d.updated_at,
        )
        for d in stream(devices)
    )
    return csv_response("devices.csv", header, rows)
