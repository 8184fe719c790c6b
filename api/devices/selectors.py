"""Reads the API needs that the devices' selectors do not have yet (candidates to move there)."""

from django.db.models import QuerySet

from devices.models import Device, DeviceEvent
from devices.selectors import device_list
from warehouse.identity import identity_clean


def device_history_all(*, device: Device) -> QuerySet[DeviceEvent]:
    """A device's whole history with who and where joined, unordered and unsliced.

    `devices.selectors.device_history` slices to the page's 200 lines; a
    cursor pages this one (newest first) instead.
    """
    return DeviceEvent.objects.filter(device=device).select_related(
        "actor",
        "from_location__warehouse",
        "to_location__warehouse",
        "from_owner",
        "to_owner",
    )


def devices_by_serial(*, serial: str) -> QuerySet[Device]:
    """The devices of every product with this serial (unique per product), any case or form."""
    serial = identity_clean(serial)
    return device_list().filter(serial__identity=serial) if serial else Device.objects.none()
