"""One serial, one electronic id, whatever the case, width or invisible characters.

What testers found, each now refused with a message naming the device that
exists, and what a person typing a serial in another form now finds.
"""

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains

from devices import services, stock_booking
from devices.exceptions import DuplicateElectronicId
from devices.models import Device, State
from tests.devices.factories import device_in_state, devices_in, world_create
from tests.warehouse.factories import ledger_snapshot
from warehouse.exceptions import InvalidSerials
from warehouse.imports import IMPORTERS
from warehouse.models import Movement
from warehouse.selectors import serials_at

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def w():
    return world_create()


def stock_in_post(location, lines) -> dict:
    """The POST of the stock-in page: the header form and its formset of lines."""
    data = {
        "location": location,
        "supplier": "",
        "reference": "",
        "reason": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for i, line in enumerate(lines):
        for name, value in line.items():
            data[f"lines-{i}-{name}"] = value
    return data


def books():
    return ledger_snapshot(), list(Device.objects.order_by("pk").values_list("serial", "state"))


# --------------------------------------------------------------------------- stock-in


@pytest.mark.parametrize(
    "typed", ["ltp0001008", "LTP0001008 ", "\uff2cTP0001008", "LTP\u200b0001008"]
)
def test_a_sold_serial_typed_in_another_form_is_not_booked_in_as_new(staff_client, w, typed):
    """`ltp0001008` was booked in as New while LTP0001008 was Sold: now refused, naming it."""
    device_in_state(w, State.SOLD, "LTP0001008")
    before = books()
    data = stock_in_post("main/STOCK", [{"product": "mod-1", "unit_cost": "5", "serials": typed}])

    response = staff_client.post(reverse("warehouse:stock_in"), data, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "MOD-1 already has these serial numbers: LTP0001008 (Sold).")
    assert books() == before


def test_one_serial_in_two_cases_on_one_stock_in_line_is_refused_on_that_line(staff_client, w):
    """`DUPX1` and `dupx1` on one line made two devices: now the line says it is given twice."""
    before = books()
    data = stock_in_post(
        "main/STOCK", [{"product": "MOD-1", "unit_cost": "5", "serials": "DUPX1\ndupx1"}]
    )

    response = staff_client.post(reverse("warehouse:stock_in"), data, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "Given twice on this line: DUPX1.")
    assert books() == before


def test_one_serial_in_two_cases_on_two_stock_in_lines_is_refused(staff_client, w):
    data = stock_in_post(
        "main/STOCK",
        [
            {"product": "MOD-1", "unit_cost": "5", "serials": "DUPX1"},
            {"product": "mod-1", "unit_cost": "5", "serials": "dupx1 "},
        ],
    )

    response = staff_client.post(reverse("warehouse:stock_in"), data, headers=HTMX)

    assertContains(response, "dupx1 is on line 1 already.")
    assert not Device.objects.exists()


def test_the_stock_in_service_refuses_one_serial_given_twice_in_two_cases(w):
    """Whatever calls the service (the API, a command) meets the same rule."""
    with pytest.raises(InvalidSerials, match="Serial numbers given twice: DUPX1."):
        devices_in(w.stock, w.modem, "DUPX1", "dupx1")
    assert not Device.objects.exists()


def test_a_serial_is_stored_clean_as_typed(w):
    (device,) = devices_in(w.stock, w.modem, " \uff2ctp\u200b0001008\ufeff ")
    assert device.serial == "Ltp0001008"
    assert Movement.objects.get(device_events__device=device).serial == "Ltp0001008"


# --------------------------------------------------------------------------- typed lookups


def test_a_device_typed_in_another_case_is_moved_and_the_ledger_keeps_its_serial(w):
    devices_in(w.stock, w.modem, "AB-1", "AB-2")

    stock_booking.stock_move(
        actor=None, product=w.modem, source=w.stock, destination=w.shelf, serials=["ab-1 "]
    )

    assert Device.objects.get(serial="AB-1").location == w.shelf
    assert serials_at(product=w.modem, location=w.shelf) == ["AB-1"]
    assert list(Movement.objects.filter(destination=w.shelf).values_list("serial", flat=True)) == [
        "AB-1"
    ]


def test_a_device_list_filtered_by_sku_in_another_case_shows_its_devices(staff_client, w):
    devices_in(w.stock, w.modem, "AB-1")

    response = staff_client.get(reverse("devices:device_list"), {"product": "\uff4dod-1"})

    assertContains(response, 'data-serial="AB-1"')


# --------------------------------------------------------------------------- own devices


def test_registering_a_stocked_serial_typed_in_lower_case_is_refused(clerk_client, w):
    """/devices/register/ took `ap0001025` while AP0001025 was in stock: now refused."""
    devices_in(w.stock, w.modem, "AP0001025")
    before = books()
    data = {"product": "MOD-1", "serial": "ap0001025", "party": "Alice", "reason": ""}

    response = clerk_client.post(reverse("devices:device_register"), data, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "MOD-1 #AP0001025 is New: “register as an own device” is not allowed.")
    assert books() == before


def test_registering_an_own_device_again_in_another_case_changes_its_owner(w):
    first = services.device_register_own(actor=None, product=w.modem, serial="OWN-1", party=w.alice)

    again = services.device_register_own(
        actor=None, product=w.modem, serial="own-1\u200b", party=w.bob
    )

    assert again.pk == first.pk
    assert (again.serial, again.owner) == ("OWN-1", w.bob)


# --------------------------------------------------------------------------- electronic ids


def test_a_second_device_cannot_take_an_electronic_id_in_another_case(staff_client, w):
    """A second device took `eid-dup-1` beside EID-DUP-1: now refused, naming the holder."""
    first, second = devices_in(w.stock, w.modem, "S-1", "S-2")
    services.device_details_set(device=first, actor=None, electronic_id="EID-DUP-1")

    response = staff_client.post(
        reverse("devices:device_details", args=[second.pk]),
        {"electronic_id": "eid-dup-1"},
        headers=HTMX,
    )

    assert response.status_code == 200
    assertContains(response, "Electronic id EID-DUP-1 already exists (MOD-1 #S-1, New).")
    assert Device.objects.get(pk=second.pk).electronic_id == ""


def test_registering_an_own_device_with_a_taken_electronic_id_is_refused(w):
    (stocked,) = devices_in(w.stock, w.modem, "S-1")
    services.device_details_set(device=stocked, actor=None, electronic_id="EID-DUP-1")

    with pytest.raises(DuplicateElectronicId, match=r"EID-DUP-1 already exists \(MOD-1 #S-1"):
        services.device_register_own(
            actor=None,
            product=w.modem,
            serial="OWN-1",
            party=w.alice,
            electronic_id=" \uff45id-dup-1",
        )
    assert Device.objects.count() == 1


def test_a_device_may_retype_its_own_electronic_id_in_another_case(w):
    (device,) = devices_in(w.stock, w.modem, "S-1")
    services.device_details_set(device=device, actor=None, electronic_id="eid-1")

    device = services.device_details_set(device=device, actor=None, electronic_id="EID-1 ")

    assert device.electronic_id == "EID-1"


# --------------------------------------------------------------------------- the devices import


def run_import(tmp_path, text):
    path = tmp_path / "devices.csv"
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return IMPORTERS["devices"](path=path, name=path.name).run()


def test_importing_a_serial_in_another_case_fills_in_the_existing_device(tmp_path, w):
    """The import reads `ltp0001008` as LTP0001008: it fills in, it books no twin."""
    (device,) = devices_in(w.stock, w.modem, "LTP0001008")
    before = Movement.objects.count()

    result = run_import(
        tmp_path,
        "serial,sku,state,warehouse,location,electronic_id\n"
        "ltp0001008 ,mod-1,new,main,STOCK,EID-7\n",
    )

    assert result.problems == []
    assert (result.created, result.updated) == (0, 1)
    assert list(Device.objects.values_list("serial", "electronic_id")) == [("LTP0001008", "EID-7")]
    assert Movement.objects.count() == before
    assert Device.objects.get().pk == device.pk


def test_importing_an_electronic_id_of_another_device_in_another_case_is_refused(tmp_path, w):
    (first,) = devices_in(w.stock, w.modem, "S-1")
    services.device_details_set(device=first, actor=None, electronic_id="EID-DUP-1")

    result = run_import(
        tmp_path,
        "serial,sku,state,warehouse,location,electronic_id\nS-2,MOD-1,new,main,STOCK,eid-dup-1\n",
    )

    assert [(p.row, p.column, p.message) for p in result.problems] == [
        (2, "electronic_id", "eid-dup-1 is the electronic id of another device: MOD-1 #S-1.")
    ]
    assert Device.objects.count() == 1


def test_one_serial_twice_in_one_devices_file_in_two_cases_is_named(tmp_path, w):
    result = run_import(
        tmp_path,
        "serial,sku,state,warehouse,location\nAB-1,MOD-1,new,main,STOCK\nab-1,mod-1,new,main,STOCK\n",
    )

    assert [(p.row, p.column) for p in result.problems] == [(3, "serial")]
    assert "given twice: first on row 2" in result.problems[0].message
    assert not Device.objects.exists()
