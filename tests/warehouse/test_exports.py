"""“Export CSV” of every table page: the rows the page's filter selects, streamed, with a header.

Each export is the page's own address with `format=csv`, so it needs the page's permission.
"""

import csv
import io
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from billing.models import Order
from tests.billing.factories import invoice_create, order_create, sale, shop_create
from tests.devices.factories import devices_in
from tests.warehouse.factories import (
    LocationFactory,
    PartyFactory,
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    book_in,
    storage_of,
)
from warehouse import services
from warehouse.exports import cell
from warehouse.models import Location, Party, Product

pytestmark = pytest.mark.django_db


def csv_rows(response) -> list[list[str]]:
    """The CSV a streamed export sends, as rows (header first)."""
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def stocked():
    warehouse = WarehouseFactory(code="main")
    cable = ProductFactory(sku="CAB-1", name="Cable", unit="m")
    psu = ProductFactory(sku="PSU-1", name="Power supply")
    book_in(storage_of(warehouse), cable, "12.5", "0.40")
    book_in(storage_of(warehouse), psu, 3, "7.00")
    return warehouse


def test_balance_export_has_the_filtered_rows(staff_client, stocked):
    rows = csv_rows(staff_client.get(reverse("warehouse:balance"), {"q": "cab", "format": "csv"}))
    assert rows[0][:6] == ["sku", "name", "traceable", "warehouse", "ownership", "in_hand"]
    assert [r[0] for r in rows[1:]] == ["CAB-1"]
    assert rows[1][4:6] == ["12.500", "12.500"]
    per_warehouse = csv_rows(
        staff_client.get(reverse("warehouse:balance"), {"warehouse": stocked.pk, "format": "csv"})
    )
    assert [r[0] for r in per_warehouse[1:]] == ["CAB-1", "PSU-1"]
    assert {r[3] for r in per_warehouse[1:]} == {"main"}


def test_balance_export_follows_the_table_sort(staff_client, stocked):
    rows = csv_rows(
        staff_client.get(reverse("warehouse:balance"), {"sort": "-sku", "format": "csv"})
    )
    assert [r[0] for r in rows[1:]] == ["PSU-1", "CAB-1"]


def test_activity_export_has_the_filtered_movements(staff_client, stocked):
    url = reverse("warehouse:activity")
    rows = csv_rows(staff_client.get(url, {"product": "PSU-1", "format": "csv"}))
    assert rows[0][:5] == ["created_at", "action", "sku", "serial", "quantity"]
    assert [(r[1], r[2], r[4]) for r in rows[1:]] == [("Stock-in", "PSU-1", "3.000")]


def test_products_export_is_not_cut_and_reimports_as_a_products_file(staff_client):
    for i in range(3):
        ProductFactory(sku=f"P-{i}", name=f"Part {i}")
    ProductFactory(sku="X-1", name="Other")
    rows = csv_rows(
        staff_client.get(reverse("warehouse:product_list"), {"q": "P-", "format": "csv"})
    )
    assert rows[0] == [
        "sku",
        "name",
        "unit",
        "traceable",
        "sale_price",
        "rental_price",
        "active",
        "description",
    ]
    assert [r[0] for r in rows[1:]] == ["P-0", "P-1", "P-2"]


def test_products_export_has_every_filtered_product_in_the_table_order(staff_client):
    """The export is the filter's rows, sorted as the table, past one page and past 500."""
    Product.objects.bulk_create(
        Product(sku=f"T-{n:03d}", name=f"Tracker {n}", traceable=True) for n in range(510)
    )
    ProductFactory(sku="CAB-1", name="Cable")
    ProductFactory(sku="T-OLD", name="Old tracker", traceable=True, active=False)
    url = reverse("warehouse:product_list")

    rows = csv_rows(staff_client.get(url, {"traceable": "true", "active": "true", "format": "csv"}))
    newest_first = csv_rows(
        staff_client.get(url, {"q": "tracker", "sort": "-sku", "page": 2, "format": "csv"})
    )

    assert [r[0] for r in rows[1:]] == [f"T-{n:03d}" for n in range(510)]
    assert [r[0] for r in newest_first[1:4]] == ["T-OLD", "T-509", "T-508"]
    assert len(newest_first) == 1 + 511


def test_locations_export(staff_client, stocked):
    rows = csv_rows(staff_client.get(reverse("warehouse:location_list"), {"format": "csv"}))
    assert rows[0][:4] == ["warehouse", "code", "name", "kind"]
    stock = next(r for r in rows[1:] if r[1] == "STOCK")
    assert (stock[0], stock[3], stock[5], stock[6]) == ("main", "storage", "2", "15.500")


def test_locations_export_has_the_filtered_locations(staff_client, stocked):
    north = WarehouseFactory(code="north")
    LocationFactory(warehouse=stocked, code="Q-01", kind=Location.Kind.QUARANTINE)
    for n in range(30):
        LocationFactory(warehouse=north, code=f"N-{n:02d}")
    url = reverse("warehouse:location_list")

    quarantine = csv_rows(staff_client.get(url, {"kind": "quarantine", "format": "csv"}))
    in_north = csv_rows(
        staff_client.get(url, {"warehouse": north.pk, "sort": "-code", "format": "csv"})
    )

    assert [(r[0], r[1], r[3]) for r in quarantine[1:]] == [("main", "Q-01", "quarantine")]
    assert [r[1] for r in in_north[1:]] == ["STOCK"] + [f"N-{n:02d}" for n in range(29, -1, -1)]


def test_devices_export_has_the_filtered_devices(staff_client, stocked):
    modem = ProductFactory(sku="MOD-1", traceable=True)
    devices_in(storage_of(stocked), modem, "S1", "S2")
    ProductFactory(sku="RTR-1", traceable=True)
    rows = csv_rows(staff_client.get(reverse("devices:device_list"), {"q": "S2", "format": "csv"}))
    assert rows[0][:7] == ["serial", "sku", "state", "owner", "holder", "warehouse", "location"]
    assert [r[:7] for r in rows[1:]] == [["S2", "MOD-1", "new", "", "", "main", "STOCK"]]


def test_parties_export_has_the_filtered_parties(staff_client):
    PartyFactory(name="Alice", kind=Party.Kind.CONTACT)
    PartyFactory(name="Acme", kind=Party.Kind.MERCHANT, email="a@acme.example")
    rows = csv_rows(
        staff_client.get(reverse("billing:party_list"), {"kind": "merchant", "format": "csv"})
    )
    assert rows[0] == ["name", "kind", "email", "phone", "address", "vat_number", "active"]
    assert [r[:3] for r in rows[1:]] == [["Acme", "merchant", "a@acme.example"]]


def test_orders_and_invoices_exports_have_the_filtered_documents(clerk_client):
    shop = shop_create()
    book_in(shop.stock, shop.router, 5)
    order = order_create(shop, sale(shop.router, 1))
    order_create(shop, sale(shop.router, 2), party=PartyFactory(name="Zed"))
    invoice = invoice_create(shop, sale(shop.router, 1))
    rows = csv_rows(
        clerk_client.get(reverse("billing:order_list"), {"party": "Alice", "format": "csv"})
    )
    assert rows[0] == ["number", "party", "warehouse", "status", "total", "created_at"]
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [(order.number, "Alice", Order.Status.DRAFT)]
    assert rows[1][4] == "80.00"
    invoices = csv_rows(clerk_client.get(reverse("billing:invoice_list"), {"format": "csv"}))
    assert [r[0] for r in invoices[1:]] == [invoice.number]


@pytest.mark.parametrize(
    "url",
    [
        "warehouse:balance",
        "warehouse:activity",
        "warehouse:product_list",
        "warehouse:location_list",
        "devices:device_list",
        "billing:party_list",
        "billing:order_list",
        "billing:invoice_list",
    ],
)
def test_an_export_needs_the_permission_of_its_page(client, url):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse(url), {"format": "csv"}).status_code == 403


def test_every_table_page_links_its_export_with_its_filter(staff_client, stocked):
    page = staff_client.get(reverse("warehouse:balance"), {"q": "cab"})
    assert 'href="?q=cab&amp;format=csv"' in page.content.decode()
    urls = ("warehouse:activity", "warehouse:product_list", "warehouse:location_list")
    for url in (*urls, "devices:device_list"):
        assert "format=csv" in staff_client.get(reverse(url)).content.decode(), url


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted():
    assert cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert cell("-12.5") == "-12.5"
    assert cell(True) == "yes"
    assert cell(None) == ""


FORMULAS = ["=1+2", "+1+2", "-1+2", "@SUM(A1)", "\t=1+2", "\r=1+2"]


def test_the_fifo_report_export_quotes_what_a_spreadsheet_would_run(staff_client):
    """Product names and package numbers come from users: none runs as a formula in Excel."""
    warehouse = WarehouseFactory(code="main")
    dock = LocationFactory(warehouse=warehouse, code="DOCK", kind=Location.Kind.INCOMING)
    for n, formula in enumerate(FORMULAS):
        product = ProductFactory(sku=f"F-{n}", name=formula)
        services.stock_in(
            actor=None,
            location=dock,
            lines=[
                services.StockInLine(
                    product=product,
                    quantity=Decimal(1),
                    unit_cost=None,
                    package_number=f"{formula.strip()[0]}P{n}",  # the service trims it
                    package_price=Decimal("1.00"),
                )
            ],
        )

    rows = csv_rows(staff_client.get(reverse("warehouse:fifo_report"), {"format": "csv"}))

    assert rows[0][:4] == ["product", "name", "warehouse", "package"]
    by_sku = {row[0]: row for row in rows[1:]}
    for n, formula in enumerate(FORMULAS):
        sku, name, _, package = by_sku[f"F-{n}"][:4]
        assert (name, package) == ("'" + formula, f"'{formula.strip()[0]}P{n}")
    assert by_sku["F-0"][5:7] == ["1", "1.00"]  # numbers stay numbers
