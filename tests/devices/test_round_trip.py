"""Re-importing the devices export gives the same devices, in every state.

The device list's `?format=csv` starts with the devices import's columns;
its last ones (spot, reserved by, updated) are the page's figures, which the
import reads past. Imported again, every device is reported unchanged and
its row, its history and the ledger are as they were.
"""

import pytest
from django.urls import reverse

from devices import services
from devices.models import Device, DeviceEvent, State
from tests.devices.factories import DeviceStatusFactory, device_in_state, world_create
from warehouse.imports import IMPORTERS
from warehouse.models import Movement

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        list(Device.objects.order_by("pk").values()),
        DeviceEvent.objects.count(),
        Movement.objects.count(),
    )


def test_reimporting_the_devices_export_changes_nothing(admin_client, tmp_path):
    w = world_create()
    boxed = DeviceStatusFactory(state=State.NEW, name="=boxed, sealed")
    new = device_in_state(w, State.NEW, "=S-1")
    services.device_status_set(device=new, status=boxed, actor=None)
    services.device_details_set(
        device=new, actor=None, electronic_id="+49-IMEI-1", spot='Shelf "A", bin 3'
    )
    used = device_in_state(w, State.USED, "Ü-2")
    services.device_transition(device=used, action="move", location=w.quarantine, actor=None)
    for n, state in enumerate(
        [State.BLOCKED, State.DISPATCHED, State.RENTED, State.SOLD, State.OWN, State.WRITTEN_OFF]
    ):
        device_in_state(w, state, f"S-{n + 3}")
    before = snapshot()

    response = admin_client.get(reverse("devices:device_list"), {"format": "csv"})
    path = tmp_path / "devices.csv"
    path.write_bytes(b"".join(response.streaming_content))
    result = IMPORTERS["devices"](path=path, name=path.name).run()

    assert result.ok, [str(p) for p in result.problems]
    assert (result.created, result.updated, result.unchanged) == (0, 0, Device.objects.count())
    assert snapshot() == before


def test_an_import_leaves_a_written_off_device_written_off_but_creates_none(tmp_path):
    w = world_create()
    device_in_state(w, State.WRITTEN_OFF, "S-1")
    path = tmp_path / "devices.csv"
    path.write_text(
        "serial,sku,state,warehouse,location\n"
        "S-1,MOD-1,written_off,main,\n"
        "S-2,MOD-1,written off,main,\n"
        "S-1,MOD-1,Written off,main,STOCK\n",
        encoding="utf-8",
    )
    before = snapshot()

    result = IMPORTERS["devices"](path=path, name=path.name).run()

    assert [str(p) for p in result.problems] == [
        "devices.csv:3:state: no device MOD-1 #S-2 to leave written off: an import creates new, "
        "used, blocked, dispatched, rented, sold or own devices.",
        "devices.csv:4:serial: “MOD-1 #S-1” is given twice: first on row 2.",
        "devices.csv:4:location: leave it empty for a written-off device: "
        "it is not on a shelf of ours.",
    ]
    assert snapshot() == before
