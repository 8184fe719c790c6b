"""Bulk imports of the warehouse: a good file applies, a bad one changes nothing and says why.

Every problem names the file, the row as a spreadsheet shows it (header = 1)
and the column; a second import of the same file changes nothing; opening
stock is booked through the ledger so positions, balances and FIFO layers agree.
"""

import importlib
import io
from collections import defaultdict
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError, OutputWrapper
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.warehouse.factories import (
    LocationFactory,
    PartyFactory,
    ProductFactory,
    WarehouseFactory,
    book_in,
    ledger_balances,
    storage_of,
)
from warehouse import services
from warehouse.imports import IMPORTERS, ImportProblem
from warehouse.models import (
    CostLayer,
    LayerConsumption,
    Location,
    Movement,
    Party,
    Product,
    StockConstraint,
    StockPosition,
    Warehouse,
    WarehouseStock,
)

pytestmark = pytest.mark.django_db
# The command's module is named `import`, a keyword: it is reached through importlib.
ProgressBar = importlib.import_module("warehouse.management.commands.import").ProgressBar
Kind = Location.Kind
D = Decimal


# --------------------------------------------------------------------------- helpers


def csv_file(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def xlsx_file(tmp_path, name: str, rows: list[list]):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def run(kind: str, path, *, dry_run=False, **kwargs):
    return IMPORTERS[kind](path=path, name=path.name, **kwargs).run(dry_run=dry_run)


def problems(result) -> set[tuple[int, str]]:
    """(row, column) of every problem."""
    return {(p.row, p.column) for p in result.problems}


def books_agree() -> None:
    """Positions = Σ ledger; balances = positions by kind; FIFO layers = what is owned."""
    positions = {
        (p.product_id, p.location_id): p.quantity for p in StockPosition.objects.all() if p.quantity
    }
    assert positions == {k: q for k, q in ledger_balances().items() if q}
    sums = defaultdict(Decimal)
    for p in StockPosition.objects.all():
        key = (p.product_id, p.warehouse_id)
        if p.location_kind in Location.REAL_KINDS:
            sums[(*key, "in_hand")] += p.quantity
        if p.location_kind == Kind.STORAGE:
            sums[(*key, "in_storage")] += p.quantity
    layers = {
        (r["product_id"], r["warehouse_id"]): r["left"]
        for r in CostLayer.objects.values("product_id", "warehouse_id").annotate(
            left=Sum("remaining")
        )
    }
    for s in WarehouseStock.objects.all():
        key = (s.product_id, s.warehouse_id)
        assert s.in_hand == sums[(*key, "in_hand")], s
        assert s.in_storage == sums[(*key, "in_storage")], s
        assert layers.get(key, D(0)) == s.ownership, f"{s}: layers disagree with ownership"


def snapshot():
    return (
        list(Product.objects.order_by("pk").values()),
        list(Party.objects.order_by("pk").values()),
        list(Location.objects.order_by("pk").values()),
        list(StockConstraint.objects.order_by("pk").values()),
        Movement.objects.count(),
        list(StockPosition.objects.order_by("pk").values_list("pk", "quantity")),
        list(WarehouseStock.objects.order_by("pk").values()),
        list(CostLayer.objects.order_by("pk").values_list("pk", "remaining")),
    )


@pytest.fixture
def main():
    """Warehouse main: STOCK and A-01 (storage), QUAR (quarantine), IN (incoming)."""
    warehouse = WarehouseFactory(code="main", name="Main warehouse")
    LocationFactory(warehouse=warehouse, code="A-01", kind=Kind.STORAGE)
    LocationFactory(warehouse=warehouse, code="QUAR", kind=Kind.QUARANTINE)
    LocationFactory(warehouse=warehouse, code="IN", kind=Kind.INCOMING)
    return warehouse


def loc(warehouse, code) -> Location:
    return Location.objects.get(warehouse=warehouse, code=code)


# --------------------------------------------------------------------------- reading files


def test_problem_reads_as_file_row_column_message():
    """A problem prints as file:row:column: message."""
    assert str(ImportProblem("p.csv", 3, "sku", "required.")) == "p.csv:3:sku: required."


def test_semicolons_a_bom_and_loose_header_names_are_understood(tmp_path):
    """Excel's “CSV UTF-8” with semicolons and “Sale price” headers reads like a plain CSV."""
    path = tmp_path / "products.csv"
    path.write_bytes("\ufeffSKU; Name ;Sale Price\nCAB-1;Cable;1.25\n".encode())
    result = run("products", path)
    assert result.ok, result.problems
    assert Product.objects.get(sku="CAB-1").sale_price == D("1.25")


def test_a_file_that_is_not_utf8_is_refused_with_its_row(tmp_path):
    path = tmp_path / "products.csv"
    path.write_bytes(b"sku,name\nCAB-1,Caf\xe9\n")
    result = run("products", path)
    assert not result.ok
    assert result.problems[0].row in (1, 2)
    assert "UTF-8" in result.problems[0].message
    assert not Product.objects.exists()


def test_a_file_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "products.xlsx"
    path.write_bytes(b"sku,name\n")
    result = run("products", path)
    assert [(p.row, p.message) for p in result.problems] == [(1, "not an XLSX workbook.")]


def test_an_empty_file_says_the_first_row_names_the_columns(tmp_path):
    result = run("products", csv_file(tmp_path, "products.csv", ""))
    assert problems(result) == {(1, "-")}


def test_blank_rows_are_skipped_but_row_numbers_stay_those_of_the_file(tmp_path):
    path = csv_file(tmp_path, "products.csv", "sku,name\nA,Alpha\n,\n\nB,\n")
    result = run("products", path)
    assert problems(result) == {(5, "name")}


# --------------------------------------------------------------------------- products

PRODUCTS = """
sku,name,unit,traceable,sale_price,rental_price,active,description
CAB-1,Cat6 cable,m,no,1.20,0,yes,By the metre
MOD-1,Modem,pcs,yes,89.00,6.50,yes,
SCR-1,Screws,box,,3.5,,no,
"""


def test_products_file_creates_every_product_with_its_columns(tmp_path):
    result = run("products", csv_file(tmp_path, "products.csv", PRODUCTS))
    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    cable = Product.objects.get(sku="CAB-1")
    assert (cable.name, cable.unit, cable.traceable) == ("Cat6 cable", "m", False)
    assert (cable.sale_price, cable.description) == (D("1.20"), "By the metre")
    modem = Product.objects.get(sku="MOD-1")
    assert modem.traceable
    assert modem.rental_price == D("6.50")
    screws = Product.objects.get(sku="SCR-1")
    assert (screws.unit, screws.active, screws.rental_price) == ("box", False, D("0"))


def test_products_from_xlsx_are_the_same_as_from_csv(tmp_path):
    rows = [
        ["SKU", "Name", "Unit", "Traceable", "Sale price", "Active"],
        ["CAB-1", "Cat6 cable", "metres", False, 1.2, True],
        ["MOD-1", "Modem", "pcs", True, 89, "yes"],
    ]
    result = run("products", xlsx_file(tmp_path, "products.xlsx", rows))
    assert result.ok, result.problems
    assert result.created == 2
    cable = Product.objects.get(sku="CAB-1")
    assert (cable.unit, cable.sale_price, cable.active) == ("m", D("1.20"), True)
    assert Product.objects.get(sku="MOD-1").traceable


def test_importing_products_twice_changes_nothing_the_second_time(tmp_path):
    path = csv_file(tmp_path, "products.csv", PRODUCTS)
    run("products", path)
    before = snapshot()
    again = run("products", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert snapshot() == before


def test_a_changed_row_updates_its_product_and_an_empty_cell_keeps_the_value(tmp_path):
    run("products", csv_file(tmp_path, "products.csv", PRODUCTS))
    changed = "sku,name,sale_price,description\nCAB-1,Cat6 cable UTP,1.30,\n"
    result = run("products", csv_file(tmp_path, "products2.csv", changed))
    assert (result.created, result.updated) == (0, 1)
    cable = Product.objects.get(sku="CAB-1")
    assert (cable.name, cable.sale_price) == ("Cat6 cable UTP", D("1.30"))
    assert cable.description == "By the metre"


def test_a_bad_products_file_applies_nothing_and_names_every_problem(tmp_path):
    bad = """
sku,name,unit,traceable,sale_price,active
CAB-1,Cable,m,no,abc,yes
CAB-2,,m,no,1,yes
CAB-3,Cable 3,litre,no,1,yes
CAB-4,Cable 4,m,maybe,1,yes
CAB-1,Again,m,no,1,yes
MOD-1,Modem,m,yes,1,yes
CAB-5,Cable 5,m,no,-2,yes
CAB-6,Cable 6,m,no,1.005,yes
"""
    ProductFactory(sku="OLD-1")
    before = snapshot()
    result = run("products", csv_file(tmp_path, "products.csv", bad))
    assert snapshot() == before
    assert problems(result) == {
        (2, "sale_price"),  # not a number
        (3, "name"),  # required
        (4, "unit"),  # not a choice
        (5, "traceable"),  # not yes or no
        (6, "sku"),  # given twice
        (7, "unit"),  # traceable must be in pieces
        (8, "sale_price"),  # negative
        (9, "sale_price"),  # too many decimals
    }
    by_where = {(p.row, p.column): p.message for p in result.problems}
    assert by_where[(2, "sale_price")] == "“abc” is not a number."
    assert by_where[(6, "sku")] == "“CAB-1” is given twice: first on row 2."
    assert all(p.file == "products.csv" for p in result.problems)


def test_a_missing_required_column_or_an_unknown_one_is_a_header_problem(tmp_path):
    result = run("products", csv_file(tmp_path, "products.csv", "sku,colour\nCAB-1,red\n"))
    assert problems(result) == {(1, "name"), (1, "colour")}
    assert not Product.objects.exists()


def test_traceability_cannot_change_once_stock_was_booked(tmp_path, main):
    cable = ProductFactory(sku="CAB-1")
    book_in(storage_of(main), cable, 5)
    result = run("products", csv_file(tmp_path, "p.csv", "sku,name,traceable\nCAB-1,Cable,yes\n"))
    assert problems(result) == {(2, "traceable")}
    assert not Product.objects.get(sku="CAB-1").traceable


# --------------------------------------------------------------------------- parties

PARTIES = """
name,kind,email,phone,address,vat_number
Alice Martin,contact,alice@example.com,+33 1 23,"12 rue des Lilas, Paris",
Acme Telecom,merchant,orders@acme.example,,1 Acme Way,GB123
"""


def test_parties_file_creates_parties_and_a_second_import_changes_nothing(tmp_path):
    path = csv_file(tmp_path, "parties.csv", PARTIES)
    result = run("parties", path)
    assert result.created == 2
    alice = Party.objects.get(name="Alice Martin")
    assert (alice.kind, alice.address) == ("contact", "12 rue des Lilas, Paris")
    assert Party.objects.get(name="Acme Telecom").vat_number == "GB123"
    before = snapshot()
    again = run("parties", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert snapshot() == before


def test_parties_from_xlsx(tmp_path):
    rows = [["Name", "Kind", "E-mail"], ["Bob", "contact", "bob@example.com"]]
    result = run("parties", xlsx_file(tmp_path, "parties.xlsx", rows))
    assert result.ok, result.problems
    assert Party.objects.get(name="Bob").email == "bob@example.com"


def test_a_bad_parties_file_applies_nothing_and_names_every_problem(tmp_path):
    PartyFactory(name="Twin", kind="contact")
    PartyFactory(name="Twin", kind="contact")
    bad = """
name,kind,email
Alice,contact,not-an-email
Bob,customer,
Alice,contact,
,contact,
Twin,contact,
"""
    before = snapshot()
    result = run("parties", csv_file(tmp_path, "parties.csv", bad))
    assert snapshot() == before
    assert problems(result) == {
        (2, "email"),
        (3, "kind"),
        (4, "name"),  # Alice (contact) twice
        (5, "name"),  # required
        (6, "name"),  # two existing parties share the name
    }


# --------------------------------------------------------------------------- locations


def test_locations_file_creates_a_missing_warehouse_with_its_virtual_locations(tmp_path):
    text = """
warehouse,code,name,kind,warehouse_name
north,N-01,North shelf,storage,North depot
north,N-Q,North quarantine,quarantine,North depot
north,STOCK,Main shelf,,North depot
"""
    result = run("locations", csv_file(tmp_path, "locations.csv", text))
    assert result.ok, result.problems
    north = Warehouse.objects.get(code="north")
    assert north.name == "North depot"
    kinds = set(north.locations.values_list("kind", flat=True))
    assert set(Location.VIRTUAL_KINDS) <= kinds
    assert loc(north, "N-Q").kind == Kind.QUARANTINE
    assert loc(north, "STOCK").name == "Main shelf"
    before = snapshot()
    again = run("locations", csv_file(tmp_path, "locations.csv", text))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert snapshot() == before


def test_locations_from_xlsx_update_an_existing_location(tmp_path, main):
    rows = [["Warehouse", "Code", "Name", "Kind"], ["main", "A-01", "Aisle A", "storage"]]
    result = run("locations", xlsx_file(tmp_path, "locations.xlsx", rows))
    assert (result.created, result.updated) == (0, 1)
    assert loc(main, "A-01").name == "Aisle A"


def test_a_bad_locations_file_applies_nothing_and_names_every_problem(tmp_path, main):
    book_in(loc(main, "A-01"), ProductFactory(), 1)
    bad = """
warehouse,code,kind
main,A-02,shelf
Main Depot,X-1,storage
main,~SUPPLIER,storage
main,A-01,quarantine
main,B-1,storage
main,B-1,storage
main,,storage
"""
    before = snapshot()
    result = run("locations", csv_file(tmp_path, "locations.csv", bad))
    assert snapshot() == before
    assert problems(result) == {
        (2, "kind"),  # not storage, incoming or quarantine
        (3, "warehouse"),  # not a code
        (4, "code"),  # kept for virtual locations
        (5, "kind"),  # stock was booked there
        (7, "code"),  # given twice
        (8, "code"),  # required
    }


NEW_WAREHOUSE = "warehouse,code,warehouse_name\nnorth,N-01,North depot\nmain,B-1,\n"
NO_NEW_WAREHOUSE = (
    "warehouse “north” does not exist; creating a warehouse needs the permission "
    "“warehouse.add_warehouse”."
)


def test_staff_cannot_create_a_warehouse_through_the_locations_page(staff_client, main):
    response = upload(staff_client, "locations", "locations.csv", NEW_WAREHOUSE.encode())

    assert response.status_code == 200
    assert [str(p) for p in response.context["result"].problems] == [
        f"locations.csv:2:warehouse: {NO_NEW_WAREHOUSE}"
    ]
    assert response.context["token"] is None  # nothing to apply
    assert not Warehouse.objects.filter(code="north").exists()
    assert not Location.objects.filter(code="B-1").exists()


def test_the_command_creates_a_warehouse_for_a_user_who_may_only(tmp_path, main, staff_user):
    path = csv_file(tmp_path, "locations.csv", NEW_WAREHOUSE)
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import", "locations", str(path), "--user", staff_user.username, stderr=err)
    assert err.getvalue().splitlines() == [f"{path}:2:warehouse: {NO_NEW_WAREHOUSE}"]
    assert not Warehouse.objects.filter(code="north").exists()

    staff_user.user_permissions.add(Permission.objects.get(codename="add_warehouse"))
    call_command("import", "locations", str(path), "--user", staff_user.username, stdout=err)
    assert Warehouse.objects.get(code="north").name == "North depot"


def test_the_command_without_a_user_is_its_operator_who_may_create_warehouses(tmp_path, main):
    path = csv_file(tmp_path, "locations.csv", NEW_WAREHOUSE)
    out = io.StringIO()

    call_command("import", "locations", str(path), stdout=out)

    assert "2 created" in out.getvalue()
    assert loc(Warehouse.objects.get(code="north"), "N-01").kind == Kind.STORAGE


# --------------------------------------------------------------------------- constraints


def test_constraints_file_sets_minimum_maximum_and_hard(tmp_path, main):
    ProductFactory(sku="CAB-1")
    ProductFactory(sku="PSU-1")
    text = "warehouse,sku,minimum,maximum,hard\nmain,CAB-1,10,100,yes\nmain,PSU-1,2,,\n"
    path = csv_file(tmp_path, "constraints.csv", text)
    result = run("constraints", path)
    assert result.created == 2
    cable = StockConstraint.objects.get(product__sku="CAB-1")
    assert (cable.minimum, cable.maximum, cable.hard) == (D("10"), D("100"), True)
    psu = StockConstraint.objects.get(product__sku="PSU-1")
    assert (psu.minimum, psu.maximum, psu.hard) == (D("2"), None, False)
    again = run("constraints", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_constraints_from_xlsx(tmp_path, main):
    ProductFactory(sku="CAB-1")
    rows = [["warehouse", "sku", "min", "max"], ["main", "CAB-1", 5, 50]]
    result = run("constraints", xlsx_file(tmp_path, "constraints.xlsx", rows))
    assert result.ok, result.problems
    assert StockConstraint.objects.get().maximum == D("50")


def test_a_bad_constraints_file_applies_nothing_and_names_every_problem(tmp_path, main):
    ProductFactory(sku="CAB-1")
    ProductFactory(sku="PSU-1")
    bad = """
warehouse,sku,minimum,maximum
main,NOPE,1,2
nowhere,CAB-1,1,2
main,CAB-1,5,2
main,PSU-1,x,
main,PSU-1,1,
"""
    result = run("constraints", csv_file(tmp_path, "constraints.csv", bad))
    assert not StockConstraint.objects.exists()
    assert problems(result) == {
        (2, "sku"),  # unknown product
        (3, "warehouse"),  # unknown warehouse
        (4, "maximum"),  # below the minimum
        (5, "minimum"),  # not a number
        (6, "sku"),  # PSU-1 in main twice
    }


# --------------------------------------------------------------------------- opening stock


@pytest.fixture
def goods(main):
    return {
        "cable": ProductFactory(sku="CAB-1", unit=Product.Unit.METRE),
        "psu": ProductFactory(sku="PSU-1"),
        "modem": ProductFactory(sku="MOD-1", traceable=True),
    }


OPENING = """
warehouse,location,sku,quantity,unit_cost
main,A-01,CAB-1,500,0.45
main,STOCK,CAB-1,250.5,0.50
main,A-01,PSU-1,40,7.80
main,QUAR,PSU-1,3,7.80
"""


def test_opening_stock_books_the_ledger_positions_balances_and_layers(tmp_path, main, goods):
    result = run("opening_stock", csv_file(tmp_path, "opening.csv", OPENING))
    assert result.ok, result.problems
    assert (result.rows, result.created, result.updated, result.unchanged) == (4, 4, 0, 0)
    cable, psu = goods["cable"], goods["psu"]
    movements = Movement.objects.filter(reference="opening.csv")
    assert movements.count() == 4
    assert {m.action for m in movements} == {Movement.Action.ADJUST_UP}
    adjustment = services.virtual_location(warehouse=main, kind=Kind.ADJUSTMENT)
    assert {m.source_id for m in movements} == {adjustment.pk}
    assert len({m.batch for m in movements}) == 1
    assert all(m.reason == "Opening stock import" for m in movements)
    assert StockPosition.objects.get(product=cable, location=loc(main, "STOCK")).quantity == D(
        "250.5"
    )
    cable_stock = WarehouseStock.objects.get(product=cable, warehouse=main)
    assert (cable_stock.in_hand, cable_stock.in_storage) == (D("750.5"), D("750.5"))
    # (500 × 0.45 + 250.5 × 0.50) / 750.5 = 0.46669
    assert cable_stock.average_cost == D("0.4667")
    psu_stock = WarehouseStock.objects.get(product=psu, warehouse=main)
    assert (psu_stock.in_hand, psu_stock.in_storage) == (D("43"), D("40"))
    layers = CostLayer.objects.filter(product=cable).order_by("unit_cost")
    assert [(lay.quantity, lay.unit_cost, lay.package_number) for lay in layers] == [
        (D("500"), D("0.45"), "opening.csv"),
        (D("250.5"), D("0.50"), "opening.csv"),
    ]
    assert CostLayer.objects.get(product=psu).quantity == D("43")  # one cost: one layer
    books_agree()


def test_an_opening_row_without_a_cost_is_valued_at_the_average_of_the_rows_before(
    tmp_path, main, goods
):
    """As the services value it: the average the file's earlier rows made, not the one before
    the file (which valued these 10 pieces at 0 and halved the average)."""
    text = """
warehouse,location,sku,quantity,unit_cost
main,A-01,PSU-1,10,7.80
main,STOCK,PSU-1,10,
"""
    result = run("opening_stock", csv_file(tmp_path, "opening.csv", text))

    assert result.ok, result.problems
    costs = Movement.objects.filter(product=goods["psu"]).order_by("id")
    assert [m.unit_cost for m in costs] == [D("7.80"), D("7.80")]
    stock = WarehouseStock.objects.get(product=goods["psu"], warehouse=main)
    assert stock.average_cost == D("7.80")
    books_agree()


def test_opening_rows_round_the_average_at_each_row_as_the_services_do(tmp_path, main, goods):
    """0.0001, then two rows at 0: 0.00005 rounds up to 0.0001 at the second row, and
    (2 × 0.0001 + 0) / 3 to 0.0001 at the third; one sum over the file made it 0."""
    text = """
warehouse,location,sku,quantity,unit_cost
main,A-01,PSU-1,1,0.0001
main,STOCK,PSU-1,1,0
main,QUAR,PSU-1,1,0
"""
    result = run("opening_stock", csv_file(tmp_path, "opening.csv", text))

    assert result.ok, result.problems
    stock = WarehouseStock.objects.get(product=goods["psu"], warehouse=main)
    assert stock.average_cost == D("0.0001")


def test_opening_stock_from_xlsx_books_the_same_as_the_csv(tmp_path, main, goods):
    rows = [
        ["Warehouse", "Location", "SKU", "Quantity", "Unit cost"],
        ["main", "A-01", "CAB-1", 500, 0.45],
        ["main", "STOCK", "CAB-1", 250.5, 0.5],
        ["main", "A-01", "PSU-1", 40, 7.8],
        ["main", "QUAR", "PSU-1", 3, 7.8],
    ]
    result = run("opening_stock", xlsx_file(tmp_path, "opening.xlsx", rows))
    assert result.ok, result.problems
    assert WarehouseStock.objects.get(product=goods["cable"]).in_hand == D("750.5")
    assert WarehouseStock.objects.get(product=goods["cable"]).average_cost == D("0.4667")
    # The same figures in CSV: nothing more to book.
    again = run("opening_stock", csv_file(tmp_path, "opening.csv", OPENING))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    books_agree()


def test_importing_opening_stock_twice_books_nothing_the_second_time(tmp_path, main, goods):
    path = csv_file(tmp_path, "opening.csv", OPENING)
    run("opening_stock", path)
    before = snapshot()
    again = run("opening_stock", path)
    assert again.ok, again.problems
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert snapshot() == before


def test_opening_stock_sets_what_a_location_holds_worked_example(tmp_path, main, goods):
    """Losses first at the average cost, consuming the oldest layer; gains then weighted in.

    Booked before: 10 PSU-1 in A-01 at 2.00 (one layer). The file says A-01
    holds 4 (a loss of 6) and STOCK holds 5 at 3.20 (a gain of 5):
    the loss leaves at 2.00 and takes 6 of the old layer (4 remain);
    average = (4 × 2.00 + 5 × 3.20) / (4 + 5) = 24 / 9 = 2.6667;
    layers: 4 at 2.00 and 5 at 3.20, adding up to the 9 owned.
    """
    psu, a01, stock = goods["psu"], loc(main, "A-01"), loc(main, "STOCK")
    book_in(a01, psu, 10, "2.00")
    text = (
        "warehouse,location,sku,quantity,unit_cost\n"
        "main,A-01,PSU-1,4,9.99\n"
        "main,STOCK,PSU-1,5,3.20\n"
    )
    result = run("opening_stock", csv_file(tmp_path, "opening.csv", text))
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    down = Movement.objects.get(reference="opening.csv", action=Movement.Action.ADJUST_DOWN)
    assert (down.source_id, down.quantity, down.unit_cost) == (a01.pk, D("6"), D("2.00"))
    up = Movement.objects.get(reference="opening.csv", action=Movement.Action.ADJUST_UP)
    assert (up.destination_id, up.quantity, up.unit_cost) == (stock.pk, D("5"), D("3.20"))
    balance = WarehouseStock.objects.get(product=psu, warehouse=main)
    assert (balance.in_hand, balance.average_cost) == (D("9"), D("2.6667"))
    layers = CostLayer.objects.filter(product=psu).order_by("received_at", "id")
    assert [(lay.remaining, lay.unit_cost) for lay in layers] == [
        (D("4"), D("2.00")),
        (D("5"), D("3.20")),
    ]
    consumption = LayerConsumption.objects.get(movement=down)
    assert (consumption.layer_id, consumption.quantity) == (layers[0].pk, D("6"))
    books_agree()


def test_a_bad_opening_stock_file_applies_nothing_and_names_every_problem(tmp_path, main, goods):
    book_in(loc(main, "A-01"), goods["psu"], 2)
    bad = """
warehouse,location,sku,quantity,unit_cost
main,A-01,CAB-1,abc,1
main,ZZ,CAB-1,5,1
nowhere,A-01,CAB-1,5,1
main,A-01,NOPE,5,1
main,A-01,MOD-1,1,1
main,IN,CAB-1,2,1
main,STOCK,PSU-1,2.5,1
main,QUAR,CAB-1,-1,1
main,QUAR,PSU-1,1.0001,1
main,STOCK,CAB-1,1,1.00001
main,A-01,PSU-1,1,x
main,A-01,PSU-1,2,1
main,,CAB-1,,1
"""
    before = snapshot()
    result = run("opening_stock", csv_file(tmp_path, "opening.csv", bad))
    assert snapshot() == before
    assert problems(result) == {
        (2, "quantity"),  # not a number
        (3, "location"),  # unknown location
        (4, "warehouse"),  # unknown warehouse
        (5, "sku"),  # unknown SKU
        (6, "sku"),  # traceable: the devices import
        (7, "location"),  # incoming
        (8, "quantity"),  # pieces are whole
        (9, "quantity"),  # negative
        (10, "quantity"),  # more than 3 decimals
        (11, "unit_cost"),  # more than 4 decimals
        (12, "unit_cost"),  # not a number
        (13, "sku"),  # main/A-01 PSU-1 twice
        (14, "location"),  # required
        (14, "quantity"),  # required
    }
    messages = {(p.row, p.column): p.message for p in result.problems}
    assert messages[(6, "sku")] == "MOD-1 is traceable: import its units with the devices import."
    assert messages[(13, "sku")] == "PSU-1 in main/A-01 is given twice: first on row 12."


def test_opening_stock_without_a_required_column_is_refused_at_the_header(tmp_path, main, goods):
    path = csv_file(tmp_path, "opening.csv", "warehouse,location,quantity\nmain,A-01,5\n")
    result = run("opening_stock", path)
    assert problems(result) == {(1, "sku")}


def test_opening_stock_may_not_take_storage_below_what_is_reserved(tmp_path, main, goods):
    psu = goods["psu"]
    book_in(loc(main, "A-01"), psu, 10)
    services.reservations_hold(
        document_type="order",
        document_id=1,
        document_number="ORD-1",
        warehouse=main,
        lines=[services.ReservationLine(line_id=1, product=psu, quantity=D(8))],
    )
    before = snapshot()
    path = csv_file(tmp_path, "o.csv", "warehouse,location,sku,quantity\nmain,A-01,PSU-1,5\n")
    result = run("opening_stock", path)
    assert problems(result) == {(2, "quantity")}
    assert "reserved" in result.problems[0].message
    assert snapshot() == before


def test_a_dry_run_checks_everything_and_applies_nothing(tmp_path, main, goods):
    before = snapshot()
    result = run("opening_stock", csv_file(tmp_path, "opening.csv", OPENING), dry_run=True)
    assert result.ok
    assert result.dry_run
    assert not result.applied
    assert (result.rows, result.created) == (4, 4)
    assert snapshot() == before


def test_the_problem_limit_stops_the_check_and_says_so(tmp_path, main, goods):
    rows = "".join(f"main,A-01,NOPE-{i},1,1\n" for i in range(30))
    path = csv_file(tmp_path, "o.csv", "warehouse,location,sku,quantity,unit_cost\n" + rows)
    result = run("opening_stock", path, max_errors=5)
    assert len(result.problems) == 5
    assert result.truncated
    assert [p.row for p in result.problems] == [2, 3, 4, 5, 6]


def test_twenty_thousand_lines_cost_a_bounded_number_of_statements(tmp_path, main):
    """Opening stock streams by COPY and books set-based: statements do not grow with rows."""
    products = Product.objects.bulk_create(
        Product(sku=f"P-{i:04d}", name=f"P {i}") for i in range(400)
    )
    Location.objects.bulk_create(
        Location(warehouse=main, code=f"S-{j:02d}", name=f"S {j}", kind=Kind.STORAGE)
        for j in range(50)
    )
    path = tmp_path / "opening.csv"
    with path.open("w") as f:
        f.write("warehouse,location,sku,quantity,unit_cost\n")
        for p in products:
            for j in range(50):
                # Three costs, each on a run of rows: a run of one cost is one layer.
                f.write(f"main,S-{j:02d},{p.sku},{j + 1},{1 + j // 17}.25\n")
    with CaptureQueriesContext(connection) as queries:
        result = run("opening_stock", path)
    assert result.ok, result.problems[:3]
    assert result.rows == result.created == 20_000
    assert len(queries) < 60
    assert Movement.objects.filter(reference="opening.csv").count() == 20_000
    assert CostLayer.objects.filter(package_number="opening.csv").count() == 400 * 3
    totals = WarehouseStock.objects.aggregate(total=Sum("in_hand"))
    assert totals["total"] == 400 * sum(range(1, 51))
    books_agree()


# --------------------------------------------------------------------------- the command


def test_the_command_imports_and_prints_a_summary(tmp_path, main, goods):
    out = io.StringIO()
    path = csv_file(tmp_path, "opening.csv", OPENING)
    call_command("import", "opening_stock", str(path), stdout=out, stderr=io.StringIO())
    assert "4 created, 0 updated, 0 unchanged of 4 rows" in out.getvalue()
    assert WarehouseStock.objects.filter(product=goods["cable"]).exists()


def test_the_command_prints_every_problem_and_exits_non_zero(tmp_path, main, goods):
    text = "warehouse,location,sku,quantity\nmain,A-01,NOPE,1\nmain,ZZ,CAB-1,x\n"
    path = csv_file(tmp_path, "opening.csv", text)
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import", "opening_stock", str(path), stdout=io.StringIO(), stderr=err)
    assert refused.value.returncode == 1
    assert "nothing imported" in str(refused.value)
    lines = err.getvalue().splitlines()
    assert lines == [
        f"{path}:2:sku: no product with SKU “NOPE”.",
        f"{path}:3:location: no location “ZZ” in warehouse main.",
        f"{path}:3:quantity: “x” is not a number.",
    ]
    assert not Movement.objects.exists()


def test_the_command_dry_run_and_max_errors(tmp_path, main, goods):
    out = io.StringIO()
    path = csv_file(tmp_path, "opening.csv", OPENING)
    call_command("import", "opening_stock", str(path), "--dry-run", stdout=out)
    assert "dry run" in out.getvalue()
    assert not Movement.objects.exists()
    bad = csv_file(tmp_path, "bad.csv", "sku,name\n" + "x,\n" * 10)
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", "products", str(bad), "--max-errors", "3", stderr=err)
    assert len(err.getvalue().splitlines()) == 3


def test_the_command_refuses_an_unknown_kind(tmp_path):
    path = csv_file(tmp_path, "x.csv", "a\n1\n")
    with pytest.raises(CommandError, match="Unknown kind"):
        call_command("import", "widgets", str(path))


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path, main, goods):
    err = io.StringIO()
    call_command(
        "import",
        "opening_stock",
        str(csv_file(tmp_path, "o.csv", OPENING)),
        stdout=io.StringIO(),
        stderr=err,
    )
    assert err.getvalue() == ""


def test_the_progress_bar_shows_rows_and_rows_per_second_on_one_line():
    stream = io.StringIO()
    bar = ProgressBar(OutputWrapper(stream), interval=0)
    bar("reading", 50_000, 0.5)
    bar("reading", 100_000, 1.0)
    bar.close()
    text = stream.getvalue()
    assert text.count("\r") == 2
    assert text.endswith("\n")
    assert "100,000 rows" in text
    assert "rows/s" in text
    assert "50%" in text


# --------------------------------------------------------------------------- the upload page


@pytest.fixture(autouse=True)
def uploads_in_tmp(settings, tmp_path):
    """Uploads of the import page go to the test's own folder."""
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"


def upload(client, kind, name, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("warehouse:imports"),
        {"kind": kind, "file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


def test_staff_validate_a_bad_file_and_see_every_problem_nothing_applied(staff_client, main):
    response = upload(staff_client, "products", "p.csv", b"sku,name,unit\nA,,m\nB,Bee,litre\n")
    assert response.status_code == 200
    html = response.content.decode()
    assert "p.csv:2:name" in html
    assert "p.csv:3:unit" in html
    assert "Apply" not in html
    assert not Product.objects.exists()


def test_staff_validate_then_apply_a_good_file(staff_client, main, tmp_path):
    response = upload(staff_client, "products", "p.csv", b"sku,name\nA,Alpha\nB,Beta\n")
    html = response.content.decode()
    assert "2 rows checked, no problems" in html
    assert not Product.objects.exists()  # validating applies nothing
    token = response.context["token"]
    applied = staff_client.post(reverse("warehouse:imports_apply"), {"token": token})
    assert applied.status_code == 302
    assert set(Product.objects.values_list("sku", flat=True)) == {"A", "B"}
    assert not list((tmp_path / "uploads").iterdir())  # the upload is deleted once applied
    # The token is spent: applying again does nothing.
    again = staff_client.post(reverse("warehouse:imports_apply"), {"token": token}, follow=True)
    assert "Nothing to apply" in again.content.decode()


def test_applying_needs_the_token_of_this_session(staff_client, main):
    upload(staff_client, "products", "p.csv", b"sku,name\nA,Alpha\n")
    staff_client.post(reverse("warehouse:imports_apply"), {"token": "guessed"})
    assert not Product.objects.exists()


def test_the_upload_page_needs_an_import_permission(client, main):
    from tests.warehouse.factories import UserFactory

    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse("warehouse:imports")).status_code == 403


def test_clerks_may_import_parties_but_not_products(clerk_client):
    page = clerk_client.get(reverse("warehouse:imports"))
    assert page.status_code == 200
    kinds = [value for value, _ in page.context["form"].fields["kind"].choices]
    assert "parties" in kinds
    assert "products" not in kinds
    assert "opening_stock" not in kinds
    response = upload(clerk_client, "products", "p.csv", b"sku,name\nA,Alpha\n")
    assert response.status_code == 200
    assert not Product.objects.exists()
