"""Re-importing an export gives the same data: products, parties and locations.

Each test builds awkward records (commas, quotes, newlines, non-ASCII,
decimals, empty optional fields, text a spreadsheet would run as a formula),
downloads the page's `?format=csv`, imports that file, and expects the
import to report every row unchanged and every record to be field for field
what it was. The export quotes a formula with one apostrophe; the import
takes exactly that apostrophe off again.
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.warehouse.factories import (
    LocationFactory,
    PartyFactory,
    ProductFactory,
    WarehouseFactory,
    book_in,
)
from warehouse.exports import formula_neutralise, formula_restore
from warehouse.imports import IMPORTERS
from warehouse.models import Location, Party, Product

pytestmark = pytest.mark.django_db

Kind = Location.Kind
# What users type that a spreadsheet would run, or that only looks like it.
FORMULA_LIKE = ["=1+2", "+41 44 123 45 67", "-5 °C", "@home", "'=quoted", "''+twice"]


def export_then_import(client, url_name, kind, tmp_path, **params):
    """The page's CSV export, imported again by the importer of `kind`: its result."""
    response = client.get(reverse(url_name), {**params, "format": "csv"})
    assert response.status_code == 200
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(b"".join(response.streaming_content))
    return IMPORTERS[kind](path=path, name=path.name).run()


def rows_of(model) -> list[dict]:
    return list(model.objects.order_by("pk").values())


@pytest.mark.parametrize("text", [*FORMULA_LIKE, "-12.5", "plain", "'plain", "", "'"])
def test_an_exported_cell_reads_back_as_it_was(text):
    assert formula_restore(formula_neutralise(text)) == text


def test_reimporting_the_products_export_changes_nothing(admin_client, tmp_path):
    ProductFactory(
        sku="CAB-1",
        name='Cable, "cat 6", 3 m',
        unit=Product.Unit.METRE,
        sale_price=Decimal("2.50"),
        rental_price=Decimal("0.05"),
        description="Grey\nshielded; ± 0,5 mm",
    )
    ProductFactory(sku="MOD-Ü", name="Modem für Büro", traceable=True, active=False)
    for n, text in enumerate(FORMULA_LIKE):
        ProductFactory(sku=f"F-{n}", name=text, description=text)
    ProductFactory(sku="=SKU", name="Formula SKU")
    book_in(_storage(), Product.objects.get(sku="CAB-1"), 3)
    before = rows_of(Product)

    result = export_then_import(admin_client, "warehouse:product_list", "products", tmp_path)

    assert result.ok, [str(p) for p in result.problems]
    assert (result.created, result.updated, result.unchanged) == (0, 0, len(before))
    assert rows_of(Product) == before


def test_reimporting_the_parties_export_changes_nothing(admin_client, tmp_path):
    PartyFactory(
        name="Müller & Söhne, GmbH",
        kind=Party.Kind.MERCHANT,
        email="info@mueller.example",
        phone="+49 30 1234",
        address='Hauptstraße 1\n10115 Berlin\n"Hinterhaus"',
        vat_number="DE123456789",
    )
    PartyFactory(name="Zoë", email="", phone="", address="")
    for text in FORMULA_LIKE:
        PartyFactory(name=f"Party {text}", phone=text, address=text)
    before = rows_of(Party)

    result = export_then_import(admin_client, "billing:party_list", "parties", tmp_path)

    assert result.ok, [str(p) for p in result.problems]
    assert (result.created, result.updated, result.unchanged) == (0, 0, len(before))
    assert rows_of(Party) == before


def test_reimporting_the_locations_export_changes_nothing(admin_client, tmp_path):
    """Its figures (products, quantity) are the page's: the import reads past them."""
    warehouse = WarehouseFactory(code="main", name="Main")
    north = WarehouseFactory(code="north", name="North")
    LocationFactory(warehouse=warehouse, code="A-01", name='Aisle A, "top"')
    LocationFactory(warehouse=warehouse, code="Q", name="Quarantäne", kind=Kind.QUARANTINE)
    LocationFactory(warehouse=north, code="IN", name='=Dock; "2"', kind=Kind.INCOMING)
    LocationFactory(warehouse=north, code="+OLD", name="-old shelf", active=False)
    book_in(Location.objects.get(code="A-01"), ProductFactory(unit=Product.Unit.METRE), "2.5")
    before = rows_of(Location)

    result = export_then_import(admin_client, "warehouse:location_list", "locations", tmp_path)

    assert result.ok, [str(p) for p in result.problems]
    real = Location.objects.filter(kind__in=Location.REAL_KINDS).count()
    assert (result.created, result.updated, result.unchanged) == (0, 0, real)
    assert rows_of(Location) == before


def _storage():
    return WarehouseFactory(code="main").locations.get(code="STOCK")
