"""Whatever file an integrator uploads, an import answers with file:row:column problems.

Each kind × each column × each bad value (NUL, numbers past the columns,
exponents, overlong and odd text, formulas), and files that are not sheets
at all (an XLSX declaring A1:XFD1048576, a zip bomb, an unclosed quote, binary
data, a lone BOM, a 10 MB line): no exception escapes, the problems name the
file, the row and the column, and nothing is applied.
"""

import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.db import transaction

from devices.models import Characteristic, Device
from tests.devices.factories import CharacteristicFactory
from tests.warehouse.factories import ProductFactory, WarehouseFactory, storage_of
from warehouse.imports import IMPORTERS, ImportProblem
from warehouse.models import (
    CostLayer,
    Location,
    Movement,
    Party,
    Product,
    StockConstraint,
    StockPosition,
    Warehouse,
)

pytestmark = pytest.mark.django_db

# A row of each kind that imports cleanly: the bad value then replaces one cell.
GOOD = {
    "products": {
        "sku": "NEW-1",
        "name": "New thing",
        "unit": "pcs",
        "traceable": "no",
        "sale_price": "1.20",
        "rental_price": "0",
        "active": "yes",
        "description": "Sold by the piece",
    },
    "parties": {
        "name": "Dora",
        "kind": "contact",
        "email": "dora@example.com",
        "phone": "+33 1",
        "address": "1 rue",
        "vat_number": "FR1",
        "active": "yes",
    },
    "locations": {
        "warehouse": "main",
        "code": "A-01",
        "name": "Aisle A",
        "kind": "storage",
        "active": "yes",
        "warehouse_name": "Main",
    },
    "constraints": {
        "warehouse": "main",
        "sku": "CAB-1",
        "minimum": "1",
        "maximum": "10",
        "hard": "no",
    },
    "opening_stock": {
        "warehouse": "main",
        "location": "STOCK",
        "sku": "CAB-1",
        "quantity": "5",
        "unit_cost": "0.50",
    },
    "devices": {
        "serial": "X-1",
        "sku": "MOD-1",
        "state": "new",
        "owner": "",
        "holder": "",
        "warehouse": "main",
        "location": "STOCK",
        "electronic_id": "00:1A",
        "status": "",
        "unit_cost": "42.00",
        "char:Speed": "100",
    },
}
NUMBER_COLUMNS = {"sale_price", "rental_price", "minimum", "maximum", "quantity", "unit_cost"}
NUMBER_COLUMNS |= {"char:Speed"}

BAD = {
    "nul": "a\x00b",
    "huge": "99999999999999999999",
    "beyond": "99999999999",
    "negative": "-1",
    "exponent": "1e1000000",
    "nan": "NaN",
    "infinity": "Infinity",
    "hex": "0x10",
    "overlong": "x" * 10_001,
    "rtl": "\u202eabc",
    "zwj": "a\u200db",
    "combining": "e\u0301\u0301",
    "emoji": "\U0001f4a9",
    "fullwidth": "１２",
    "formula": "=cmd|'/c calc'!A1",
    "at_formula": "@SUM(1)",
    "newline": "a\nb",
}
# What every column must refuse; number columns refuse every non-number too.
REFUSED = {"nul", "overlong"}
NUMBER_REFUSED = REFUSED | {"huge", "beyond", "negative", "exponent", "nan", "infinity", "hex"}
NUMBER_REFUSED |= {"rtl", "zwj", "combining", "emoji", "formula", "at_formula", "newline"}


QUANTITY_COLUMNS = {"minimum", "maximum", "quantity"}  # at most 999,999,999.999


def _refused(column: str, label: str) -> bool:
    if label == "beyond":  # 99999999999: past a quantity's limit, a fine price
        return column in QUANTITY_COLUMNS
    if column in NUMBER_COLUMNS:
        # A characteristic is any number of up to 40 characters, negative or large.
        free = column == "char:Speed" and label in ("negative", "huge")
        return label in NUMBER_REFUSED and not free
    return label in REFUSED


@pytest.fixture
def world(db):
    warehouse = WarehouseFactory(code="main", name="Main")
    storage_of(warehouse)
    ProductFactory(sku="CAB-1", name="Cable")
    modem = ProductFactory(sku="MOD-1", name="Modem", traceable=True)
    CharacteristicFactory(product=modem, name="Speed", type=Characteristic.Type.NUMBER)


MODELS = (Movement, Device, Product, Party, Location, Warehouse, StockConstraint, StockPosition)
MODELS += (CostLayer,)


def snapshot():
    return tuple(m.objects.count() for m in MODELS)


def csv_of(tmp_path, name, rows) -> str:
    path = tmp_path / name
    with open(path, "w", encoding="utf-8", newline="") as f:
        import csv

        csv.writer(f).writerows(rows)
    return path


class Undo(Exception):
    pass


def run(kind, path, **kwargs):
    """Run an import in a savepoint rolled back afterwards; its result and what it changed."""
    before = snapshot()
    try:
        with transaction.atomic():
            result = IMPORTERS[kind](path=path, name=path.name, **kwargs).run()
            raise Undo(result, snapshot())
    except Undo as done:
        result, after = done.args
    return result, after != before


def test_every_good_row_imports(world, tmp_path):
    """The rows the bad values go into import cleanly, so a refusal is the bad cell's."""
    for kind, good in GOOD.items():
        path = csv_of(tmp_path, f"{kind}.csv", [list(good), list(good.values())])
        result, changed = run(kind, path)
        assert result.problems == [], kind
        assert result.applied, kind
        assert changed, kind


def test_every_column_of_every_import_refuses_each_bad_value_by_file_row_column(world, tmp_path):
    """Each kind × column × bad value: no exception; a refused cell is named; nothing applied."""
    tried = 0
    failures = []
    for kind, good in GOOD.items():
        for column in good:
            for label, value in BAD.items():
                row = {**good, column: value}
                path = csv_of(tmp_path, f"{kind}-{label}.csv", [list(row), list(row.values())])
                result, changed = run(kind, path)
                tried += 1
                where = f"{kind}.{column}={label}"
                if result.problems and (changed or result.applied):
                    failures.append(f"{where}: problems, yet applied")
                if _refused(column, label):
                    named = {(p.row, p.column) for p in result.problems}
                    if (2, column) not in named:
                        failures.append(f"{where}: not refused at row 2 ({result.problems[:2]})")
                    if changed or result.applied:
                        failures.append(f"{where}: applied")
                for problem in result.problems:
                    assert str(problem).startswith(f"{path.name}:{problem.row}:{problem.column}: ")
    print(f"\nimports: {len(GOOD)} kinds, {tried} kind × column × value files")
    assert failures == [], "\n".join(failures)


def test_a_dry_run_refuses_what_the_apply_would_refuse(world, tmp_path):
    """A NUL or a too large quantity is found by the check: the dry run says so."""
    for kind, column, value in (
        ("products", "description", "a\x00b"),
        ("locations", "name", "a\x00b"),
        ("opening_stock", "quantity", "99999999999"),
        ("opening_stock", "sku", "CAB\x00-1"),
    ):
        row = {**GOOD[kind], column: value}
        path = csv_of(tmp_path, f"{kind}.csv", [list(row), list(row.values())])
        result, _ = run(kind, path, max_errors=100)
        dry = IMPORTERS[kind](path=path, name=path.name).run(dry_run=True)
        assert (2, column) in {(p.row, p.column) for p in dry.problems}, (kind, column)
        assert not result.applied


def test_opening_stock_whose_total_would_not_fit_is_refused_before_booking(world, tmp_path):
    """Rows each below the limit whose sum passes what the balance holds: refused by the check."""
    for code in ("A", "B"):
        Location.objects.create(warehouse=Warehouse.objects.get(), code=code, name=code)
    rows = [list(GOOD["opening_stock"])]
    rows += [["main", c, "CAB-1", "999999999", "1"] for c in ("STOCK", "A", "B")] * 1
    path = csv_of(tmp_path, "sum.csv", rows)
    result, changed = run("opening_stock", path)
    assert result.problems == []  # three billion fit
    assert changed

    more = [["main", f"L{i}", "CAB-1", "999999999", "1"] for i in range(101)]
    for i in range(101):
        Location.objects.create(warehouse=Warehouse.objects.get(), code=f"L{i}", name=f"L{i}")
    path = csv_of(tmp_path, "sum.csv", [list(GOOD["opening_stock"]), *more])
    result, changed = run("opening_stock", path)
    assert not changed
    assert not result.applied
    assert result.problems[0].column == "quantity"
    assert "too large" in result.problems[0].message


# --------------------------------------------------------------------------- whole files


def _xlsx_declaring(tmp_path, dimension: str):
    """A small workbook whose sheet claims `dimension` (as a hostile or broken tool writes)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(GOOD["products"]))
    sheet.append(list(GOOD["products"].values()))
    buffer = io.BytesIO()
    book.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    path = tmp_path / "wide.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                text = data.decode()
                start = text.index('<dimension ref="') + len('<dimension ref="')
                end = text.index('"', start)
                data = (text[:start] + dimension + text[end:]).encode()
            out.writestr(item, data)
    return path


def test_a_workbook_declaring_the_whole_grid_reads_only_its_stored_rows(world, tmp_path):
    """`A1:XFD1048576` in a 5 KB file: the two stored rows are read, as fast as any file."""
    path = _xlsx_declaring(tmp_path, "A1:XFD1048576")
    assert path.stat().st_size < 10_000

    result, changed = run("products", path)

    assert result.problems == []
    assert result.rows == 1
    assert changed


def test_a_zip_bomb_is_refused_as_too_large(world, tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("[Content_Types].xml", "<Types/>")
        out.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (64 * 1024 * 1024) + b"/>")
    assert path.stat().st_size < 2 * 1024 * 1024

    result, changed = run("products", path)

    assert not changed
    assert [(p.row, p.column) for p in result.problems] == [(1, "-")]
    assert "too large" in result.problems[0].message


def test_an_unclosed_quote_is_refused_with_its_row_not_swallowing_the_rows_after(world, tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text(
        'sku,name\nA-1,Good\nA-2,"Open quote\nA-3,Swallowed\nA-4,Swallowed too\n', encoding="utf-8"
    )

    result, changed = run("products", path)

    assert not changed
    assert [(p.row, p.column) for p in result.problems] == [(3, "-")]
    assert "unbalanced quote" in result.problems[0].message


def test_a_closed_quote_holding_rows_is_refused_where_a_line_break_cannot_be(world, tmp_path):
    path = tmp_path / "late.csv"
    path.write_text('sku,name\nA-1,"Open\nA-2,Swallowed"\nA-3,Fine\n', encoding="utf-8")

    result, changed = run("products", path)

    assert not changed
    assert (2, "name") in {(p.row, p.column) for p in result.problems}
    assert "line break" in str(result.problems[0])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(256)) * 40, "not UTF-8"),
        (b"\xef\xbb\xbf", "empty"),
        (b"x" * (10 * 1024 * 1024) + b"\n", "longer than"),
        (b"a," * (1024 * 1024) + b"\n", "columns"),
        (b"PK\x03\x04not a zip at all", "XLSX"),
    ],
    ids=["binary", "bom-only", "10MB-line", "million-columns", "fake-zip"],
)
def test_a_file_that_is_no_sheet_is_one_problem_and_nothing_applied(
    world, tmp_path, content, message
):
    path = tmp_path / "odd.xlsx" if content.startswith(b"PK") else tmp_path / "odd.csv"
    path.write_bytes(content)

    for kind in GOOD:
        result, changed = run(kind, path)
        assert not changed, kind
        assert not result.applied, kind
        assert result.problems, kind
        assert all(isinstance(p, ImportProblem) for p in result.problems)
        assert message in " ".join(p.message for p in result.problems), (kind, result.problems)


def test_a_number_cell_is_parsed_in_bounded_time_whatever_its_exponent():
    """1e1000000 and a 40-digit number are refused or read without Decimal blowing up."""
    from warehouse.imports import decimal_value

    for text in ("1e1000000", "1E+999999999", "9" * 41, "NaN", "-Infinity", "１２", "0x10"):
        with pytest.raises(ValueError, match="not a number|too long"):
            decimal_value(text, places=3)
    with pytest.raises(ValueError, match="too large"):
        decimal_value("9" * 30, places=3)
    assert decimal_value("99999999999.999", places=3, digits=15) == Decimal("99999999999.999")
