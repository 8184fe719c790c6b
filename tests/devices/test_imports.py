"""The devices import: every state, booked so that devices, ledger and balances agree.

Also the samples of the README: imported in order on an empty database they
all succeed, and a second import of each changes nothing.
"""

import io
from collections import Counter
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.db.models import Sum

from devices.models import Device, DeviceEvent, State
from tests.devices.factories import CharacteristicFactory, DeviceStatusFactory, devices_in
from tests.warehouse.factories import (
    LocationFactory,
    PartyFactory,
    ProductFactory,
    WarehouseFactory,
    ledger_balances,
    storage_of,
)
from warehouse.imports import IMPORTERS
from warehouse.models import (
    CostLayer,
    Location,
    Movement,
    Party,
    Product,
    StockPosition,
    WarehouseStock,
)
from warehouse.services import OWNED_KINDS, virtual_location

pytestmark = pytest.mark.django_db
Kind = Location.Kind
D = Decimal
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def csv_file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def run(path, *, dry_run=False, **kwargs):
    return IMPORTERS["devices"](path=path, name=path.name, **kwargs).run(dry_run=dry_run)


def problems(result):
    return {(p.row, p.column) for p in result.problems}


def snapshot():
    return (
        list(Device.objects.order_by("pk").values()),
        DeviceEvent.objects.count(),
        Movement.objects.count(),
        list(StockPosition.objects.order_by("pk").values_list("pk", "quantity")),
        list(WarehouseStock.objects.order_by("pk").values()),
    )


def devices_and_books_agree():
    """Device counts = positions = ledger in every place; balances count the devices;
    FIFO layers add up to what is owned; each device's last ledger line brought it there."""
    devices = Counter(
        Device.objects.exclude(location=None).values_list("product_id", "location_id")
    )
    positions = {(p.product_id, p.location_id): p.quantity for p in StockPosition.objects.all()}
    ledger = ledger_balances()
    for location in Location.objects.filter(kind__in=[*OWNED_KINDS, Kind.SOLD]):
        for product in Product.objects.filter(traceable=True):
            key = (product.pk, location.pk)
            assert devices[key] == positions.get(key, 0) == ledger.get(key, 0), location
    for row in WarehouseStock.objects.filter(product__traceable=True):
        here = Device.objects.filter(product=row.product, location__warehouse=row.warehouse)
        assert row.in_hand == here.filter(location_kind__in=Location.REAL_KINDS).count(), row
        assert row.in_storage == here.filter(location_kind=Kind.STORAGE).count(), row
        assert (
            row.blocked == here.filter(location_kind=Kind.STORAGE, state=State.BLOCKED).count()
        ), row
        assert row.dispatched == here.filter(location_kind=Kind.DISPATCHED).count(), row
        assert row.rented == here.filter(location_kind=Kind.RENTED).count(), row
        layers = CostLayer.objects.filter(product=row.product, warehouse=row.warehouse)
        assert (layers.aggregate(s=Sum("remaining"))["s"] or 0) == row.ownership, row
    last = {}
    for m in Movement.objects.exclude(serial="").order_by("id"):
        last[(m.product_id, m.serial)] = m.destination_id
    for device in Device.objects.all():
        if device.state == State.OWN:
            assert (device.product_id, device.serial) not in last
        else:
            assert last[(device.product_id, device.serial)] == device.location_id, device


@pytest.fixture
def place():
    warehouse = WarehouseFactory(code="main", name="Main warehouse")
    return {
        "warehouse": warehouse,
        "stock": storage_of(warehouse),
        "quar": LocationFactory(warehouse=warehouse, code="QUAR", kind=Kind.QUARANTINE),
        "in": LocationFactory(warehouse=warehouse, code="IN", kind=Kind.INCOMING),
        "modem": ProductFactory(sku="MOD-1", traceable=True),
        "cable": ProductFactory(sku="CAB-1"),
        "alice": PartyFactory(name="Alice", kind=Party.Kind.CONTACT),
        "acme": PartyFactory(name="Acme", kind=Party.Kind.MERCHANT),
    }


EVERY_STATE = """
serial,sku,state,owner,holder,warehouse,location,electronic_id,unit_cost
S1,MOD-1,new,,,main,STOCK,00:01,40
S2,MOD-1,used,,,main,QUAR,,30
S3,MOD-1,blocked,,,main,STOCK,,40
S4,MOD-1,dispatched,,Acme,main,,,40
S5,MOD-1,rented,,Alice,main,,,40
S6,MOD-1,sold,Acme,,main,,,40
S7,MOD-1,own,Alice,,,,00:07,
"""


def test_devices_in_every_state_are_booked_where_their_state_says(tmp_path, place):
    result = run(csv_file(tmp_path, "devices.csv", EVERY_STATE))
    assert result.ok, result.problems
    assert (result.rows, result.created) == (7, 7)
    w = place["warehouse"]
    device = {d.serial: d for d in Device.objects.select_related("location")}
    assert (device["S1"].state, device["S1"].location, device["S1"].electronic_id) == (
        State.NEW,
        place["stock"],
        "00:01",
    )
    assert device["S2"].location == place["quar"]
    assert device["S3"].state == State.BLOCKED
    assert device["S4"].location == virtual_location(warehouse=w, kind=Kind.DISPATCHED)
    assert device["S4"].holder == place["acme"]
    assert device["S4"].owner is None
    assert device["S5"].location == virtual_location(warehouse=w, kind=Kind.RENTED)
    assert device["S5"].holder == place["alice"]
    assert device["S6"].location == virtual_location(warehouse=w, kind=Kind.SOLD)
    assert device["S6"].owner == place["acme"]
    assert (device["S7"].state, device["S7"].owner, device["S7"].location) == (
        State.OWN,
        place["alice"],
        None,
    )
    stock = WarehouseStock.objects.get(product=place["modem"], warehouse=w)
    assert (stock.in_hand, stock.in_storage, stock.blocked) == (3, 2, 1)
    assert (stock.dispatched, stock.rented, stock.ownership) == (1, 1, 5)
    # (4 × 40 + 1 × 30) / 5
    assert stock.average_cost == D("38.0000")
    assert DeviceEvent.objects.filter(action="import").count() == 7
    moves = Movement.objects.filter(reference="devices.csv")
    assert moves.count() == 6  # not the own device
    assert {m.source.kind for m in moves} == {Kind.SUPPLIER}
    devices_and_books_agree()


def test_devices_from_xlsx(tmp_path, place):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Serial", "SKU", "State", "Warehouse", "Location"])
    sheet.append([1001, "MOD-1", "New", "main", "STOCK"])
    sheet.append(["1002", "MOD-1", "Used", "main", "QUAR"])
    path = tmp_path / "devices.xlsx"
    workbook.save(path)
    result = run(path)
    assert result.ok, result.problems
    assert set(Device.objects.values_list("serial", "state")) == {
        ("1001", State.NEW),
        ("1002", State.USED),
    }
    devices_and_books_agree()


def test_importing_devices_twice_books_nothing_the_second_time(tmp_path, place):
    path = csv_file(tmp_path, "devices.csv", EVERY_STATE)
    run(path)
    before = snapshot()
    again = run(path)
    assert again.ok, again.problems
    assert (again.created, again.updated, again.unchanged) == (0, 0, 7)
    assert snapshot() == before


def test_a_known_device_gets_its_details_but_stays_where_it_is(tmp_path, place):
    CharacteristicFactory(product=place["modem"], name="Firmware")
    status = DeviceStatusFactory(state=State.NEW, name="tested")
    (device,) = devices_in(place["stock"], place["modem"], "S1")
    text = """
serial,sku,state,warehouse,location,electronic_id,status,char:Firmware
S1,MOD-1,new,main,STOCK,AA:BB,tested,2.1
"""
    moves = Movement.objects.count()
    result = run(csv_file(tmp_path, "devices.csv", text))
    assert (result.created, result.updated) == (0, 1), result.problems
    device.refresh_from_db()
    assert (device.electronic_id, device.status, device.characteristics) == (
        "AA:BB",
        status,
        {"Firmware": "2.1"},
    )
    assert Movement.objects.count() == moves


def test_a_bad_devices_file_applies_nothing_and_names_every_problem(tmp_path, place):
    CharacteristicFactory(product=place["modem"], name="RAM", type="number")
    devices_in(place["stock"], place["modem"], "OLD-1")
    Device.objects.filter(serial="OLD-1").update(electronic_id="EE:01")
    bad = """
serial,sku,state,owner,holder,warehouse,location,electronic_id,char:RAM,char:Colour
A1,MOD-1,new,,,main,,,,
A2,MOD-1,rented,,Alice,main,STOCK,,,
A3,MOD-1,sold,,,main,,,,
A4,MOD-1,own,Alice,,main,,,,
A5,MOD-1,new,Alice,,main,STOCK,,,
A6,NOPE,new,,,main,STOCK,,,
A7,CAB-1,new,,,main,STOCK,,,
A8,MOD-1,lost,,,main,STOCK,,,
A9,MOD-1,new,,,main,IN,,,
A10,MOD-1,new,,,nowhere,STOCK,,,
A11,MOD-1,own,Acme,,,,,,
A12,MOD-1,rented,,Nobody,main,,,,
A1,MOD-1,new,,,main,STOCK,,,
A13,MOD-1,new,,,main,STOCK,EE:01,,
A14,MOD-1,new,,,main,STOCK,FF:01,,
A15,MOD-1,new,,,main,STOCK,FF:01,,
A16,MOD-1,new,,,main,STOCK,,lots,
A17,MOD-1,new,,,main,STOCK,,,red
OLD-1,MOD-1,used,,,main,QUAR,,,
"""
    before = snapshot()
    result = run(csv_file(tmp_path, "devices.csv", bad))
    assert snapshot() == before
    assert problems(result) == {
        (2, "location"),  # a new device is on a shelf
        (3, "location"),  # a rented one is not
        (4, "owner"),  # a sold one has an owner
        (5, "warehouse"),  # an own one never enters the warehouse
        (6, "owner"),  # the business owns new devices
        (7, "sku"),  # unknown product
        (8, "sku"),  # not traceable
        (9, "state"),  # not a state
        (10, "location"),  # incoming
        (11, "warehouse"),  # unknown warehouse
        (12, "owner"),  # a merchant does not register an own device
        (13, "holder"),  # unknown party
        (14, "serial"),  # A1 given twice
        (15, "electronic_id"),  # another device's electronic id
        (17, "electronic_id"),  # given twice in the file
        (18, "char:RAM"),  # not a number
        (19, "char:Colour"),  # no such characteristic
        (20, "state"),  # exists already, elsewhere and in another state
    }


def test_devices_import_without_a_required_column(tmp_path, place):
    result = run(csv_file(tmp_path, "devices.csv", "serial,sku\nS1,MOD-1\n"))
    assert problems(result) == {(1, "state")}


def test_a_devices_dry_run_applies_nothing(tmp_path, place):
    before = snapshot()
    result = run(csv_file(tmp_path, "devices.csv", EVERY_STATE), dry_run=True)
    assert result.ok
    assert result.created == 7
    assert snapshot() == before


# --------------------------------------------------------------------------- the samples


def test_the_samples_import_in_order_on_an_empty_database_and_again_change_nothing():
    """locations, products, parties, constraints, opening stock, devices: the README's order."""
    order = ["locations", "products", "parties", "constraints", "opening_stock", "devices"]
    for kind in order:
        out = io.StringIO()
        call_command("import", kind, str(SAMPLES / f"{kind}.csv"), stdout=out)
        assert " 0 unchanged" in out.getvalue(), out.getvalue()
    devices_and_books_agree()
    movements = Movement.objects.count()
    for kind in order:
        out = io.StringIO()
        call_command("import", kind, str(SAMPLES / f"{kind}.csv"), stdout=out)
        assert "0 created, 0 updated" in out.getvalue(), out.getvalue()
    out = io.StringIO()
    call_command("import", "opening_stock", str(SAMPLES / "opening_stock.xlsx"), stdout=out)
    assert "0 created, 0 updated" in out.getvalue(), out.getvalue()
    assert Movement.objects.count() == movements
