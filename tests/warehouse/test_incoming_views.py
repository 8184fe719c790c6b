"""The incoming, FIFO and stock-level pages as users see them: content, refusals, roles, cost.

Stock is booked through the services the site books with, so every page
reads a ledger, a balance and cost layers that agree.
"""

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from billing import services as billing
from devices import stock_booking
from devices.models import Device
from tests.warehouse.factories import (
    LocationFactory,
    PartyFactory,
    ProductFactory,
    WarehouseFactory,
    book_in,
    ledger_snapshot,
    storage_of,
)
from warehouse import services
from warehouse.models import (
    CostLayer,
    IncomingPackage,
    Location,
    Movement,
    Product,
    StockConstraint,
)

pytestmark = pytest.mark.django_db

D = Decimal
HTMX = {"HX-Request": "true"}
DAY1 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
DAY2 = datetime(2025, 3, 2, 9, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- helpers


def table(response, table_id: str) -> str:
    match = re.search(
        rf'<table id="{table_id}"[^>]*>(.*?)</table>', response.content.decode(), re.S
    )
    assert match, f"no table #{table_id} on the page"
    return match[1]


def table_rows(response, table_id: str) -> list[list[str]]:
    """The body rows of a table as lists of cell texts."""
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", table(response, table_id), re.S)[1]
    return [
        [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip() for c in row]
        for row in (
            re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)
            for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
        )
    ]


def package_in(location, product, quantity, price, number="", *, serials=(), now=DAY1, ref=""):
    return stock_booking.stock_in(
        actor=None,
        location=location,
        lines=[
            services.StockInLine(
                product=product,
                quantity=None if quantity is None else D(str(quantity)),
                unit_cost=None,
                serials=tuple(serials),
                package_number=number,
                package_price=D(str(price)),
            )
        ],
        supplier="Acme",
        reference=ref,
        now=now,
    )


def book_post(dock, product, **fields) -> dict:
    """The POST of the booking dialog."""
    return {
        "location": dock.pk,
        "supplier": "Acme",
        "reference": "DN-1",
        "product": product.sku,
        "quantity": "",
        "package_price": "",
        "package_number": "",
        "serials": "",
        **fields,
    }


@pytest.fixture
def stock(warehouse):
    return storage_of(warehouse)


@pytest.fixture
def dock(warehouse):
    return LocationFactory(
        warehouse=warehouse, code="IN", name="Goods in", kind=Location.Kind.INCOMING
    )


@pytest.fixture
def north(db):
    return WarehouseFactory(code="north", name="North depot")


@pytest.fixture
def bolt(db):
    return ProductFactory(sku="BOLT-1", name="Bolt", sale_price=D("9.00"))


@pytest.fixture
def modem(db):
    return ProductFactory(sku="MOD-1", name="Modem", traceable=True)


@pytest.fixture
def sold(warehouse, dock, stock, bolt):
    """The worked example: P1 10 for 20.00, P2 30 for 120.00, put away, 15 sold on INV-…."""
    package_in(dock, bolt, 10, "20.00", "P1", now=DAY1)
    package_in(dock, bolt, 30, "120.00", "P2", now=DAY2)
    stock_booking.stock_move(
        actor=None, product=bolt, source=dock, destination=stock, quantity=D(40)
    )
    invoice = billing.invoice_create(
        actor=None,
        party=PartyFactory(name="Alice"),
        warehouse=warehouse,
        lines=[billing.LineInput(product=bolt, quantity=D(15))],
    )
    return billing.invoice_post(invoice=invoice, actor=None)


# --------------------------------------------------------------------------- incoming list


def test_incoming_without_an_incoming_location_says_how_to_add_one(staff_client, warehouse):
    response = staff_client.get(reverse("warehouse:incoming"))

    assertContains(response, "No warehouse has an incoming location yet")
    assertContains(response, f'href="{reverse("warehouse:location_list")}"')
    assertNotContains(response, "Book a delivery")
    assertNotContains(response, 'id="packages"')


def test_incoming_lists_the_waiting_packages_with_their_figures(staff_client, dock, stock, bolt):
    package_in(dock, bolt, 10, "25.00", "P1", now=DAY1)
    package_in(dock, bolt, 4, "12.00", "P2", now=DAY2)
    stock_booking.stock_move(
        actor=None, product=bolt, source=dock, destination=stock, quantity=D(3)
    )

    response = staff_client.get(reverse("warehouse:incoming"))

    assert [row[:9] for row in table_rows(response, "packages")] == [
        ["P1", "BOLT-1 Bolt", "main/IN", "2025-03-01", "10", "3", "7", "2.50", "Acme"],
        ["P2", "BOLT-1 Bolt", "main/IN", "2025-03-02", "4", "0", "4", "3.00", "Acme"],
    ]
    put_away_url = reverse(
        "warehouse:package_put_away", args=[IncomingPackage.objects.get(number="P1").pk]
    )
    assertContains(response, f'href="{put_away_url}" hx-get="{put_away_url}" hx-target="#dialog"')
    book_url = reverse("warehouse:incoming_book")
    assertContains(response, f'href="{book_url}" hx-get="{book_url}"')


def test_incoming_shows_a_billing_clerk_no_booking_or_put_away(clerk_client, dock, bolt):
    package_in(dock, bolt, 10, "25.00", "P1")

    response = clerk_client.get(reverse("warehouse:incoming"))

    assert table_rows(response, "packages")[0][0] == "P1"
    assertNotContains(response, "Put away")
    assertNotContains(response, "Book a delivery")


# --------------------------------------------------------------------------- booking dialog


def test_booking_dialog_by_htmx_is_only_the_dialog(staff_client, dock):
    response = staff_client.get(reverse("warehouse:incoming_book"), headers=HTMX)

    assert response.status_code == 200
    assertNotContains(response, "<html")
    assertContains(response, '<h2 id="dialog-title">Book a delivery</h2>')
    assertContains(response, f'<option value="{dock.pk}">main/IN · Goods in (Incoming)</option>')
    for name in ("supplier", "product", "quantity", "package_price", "package_number", "serials"):
        assertContains(response, f'name="{name}"')


def test_booking_dialog_without_javascript_is_a_whole_page(staff_client, dock, stock):
    response = staff_client.get(reverse("warehouse:incoming_book"))

    assertContains(response, "<html")
    assertContains(response, 'id="incoming-book"')
    assertNotContains(response, f'<option value="{stock.pk}"')  # incoming locations only


def test_booking_a_package_opens_it_at_its_package_price(staff_client, warehouse, dock, bolt):
    response = staff_client.post(
        reverse("warehouse:incoming_book"),
        book_post(dock, bolt, quantity="8", package_price="30.00", package_number="PK-1"),
        headers=HTMX,
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("warehouse:incoming")
    package = IncomingPackage.objects.get()
    assert (package.number, package.quantity, package.package_price, package.unit_cost) == (
        "PK-1",
        D(8),
        D("30.00"),
        D("3.75"),
    )
    assert (package.location, package.supplier) == (dock, "Acme")
    assert CostLayer.objects.get().unit_cost == D("3.75")
    assert Movement.objects.get().reference == "DN-1"
    followed = staff_client.get(reverse("warehouse:incoming"))
    assertContains(followed, "Booked package PK-1: 8 × BOLT-1 at 3.75 per unit.")


def test_booking_without_a_package_number_numbers_it_from_the_reference(staff_client, dock, bolt):
    response = staff_client.post(
        reverse("warehouse:incoming_book"), book_post(dock, bolt, quantity="2", package_price="5")
    )

    assertRedirects(response, reverse("warehouse:incoming"), fetch_redirect_response=False)
    assert IncomingPackage.objects.get().number == "DN-1"


def test_booking_a_traceable_package_creates_a_device_per_serial(staff_client, dock, modem):
    response = staff_client.post(
        reverse("warehouse:incoming_book"),
        book_post(dock, modem, package_price="90.00", serials="M-1\nM-2\nM-3"),
    )

    assert response.status_code == 302
    package = IncomingPackage.objects.get()
    assert (package.quantity, package.unit_cost) == (D(3), D("30.00"))
    assert sorted(Device.objects.values_list("serial", "location")) == [
        ("M-1", dock.pk),
        ("M-2", dock.pk),
        ("M-3", dock.pk),
    ]


@pytest.mark.parametrize(
    ("product", "fields", "message"),
    [
        ("modem", {"quantity": "2", "package_price": "10"}, "MOD-1 is traceable: give its serial"),
        (
            "modem",
            {"quantity": "2", "package_price": "10", "serials": "M-1"},
            "1 serial numbers given: the quantity is their count.",
        ),
        ("bolt", {"quantity": "2", "package_price": "10", "serials": "X"}, "is not traceable"),
        ("bolt", {"quantity": "", "package_price": "10"}, "Give a quantity greater than zero."),
        ("bolt", {"quantity": "2", "package_price": "-1"}, "greater than or equal to 0"),
        ("bolt", {"quantity": "2", "package_price": ""}, "This field is required."),
        ("bolt", {"quantity": "2.5", "package_price": "10"}, "2.5 is not whole."),
        (
            "bolt",
            {"quantity": "2", "package_price": "10", "package_number": "OLD"},
            "Package OLD of BOLT-1 was booked already in this warehouse.",
        ),
    ],
)
def test_booking_refusals_come_back_in_the_form_and_book_nothing(
    staff_client, dock, bolt, modem, product, fields, message
):
    package_in(dock, bolt, 1, "1", "OLD")
    before = ledger_snapshot()

    response = staff_client.post(
        reverse("warehouse:incoming_book"),
        book_post(dock, {"bolt": bolt, "modem": modem}[product], **fields),
        headers=HTMX,
    )

    assert response.status_code == 200
    assertContains(response, message)
    assert ledger_snapshot() == before
    assert IncomingPackage.objects.count() == 1


def test_booking_above_a_soft_maximum_asks_then_books_when_confirmed(
    staff_client, warehouse, dock, bolt
):
    services.constraint_set(product=bolt, warehouse=warehouse, minimum=D(0), maximum=D(5))
    url = reverse("warehouse:incoming_book")
    data = book_post(dock, bolt, quantity="8", package_price="16")

    response = staff_client.post(url, data, headers=HTMX)

    assert response.status_code == 200
    assertContains(
        response,
        "BOLT-1 in Main warehouse would hold 8, above its maximum of 5. Confirm to book anyway.",
    )
    assertContains(response, 'type="checkbox" name="allow_over_maximum"')
    assertContains(response, "Book anyway above the maximum")
    assert not Movement.objects.exists()

    response = staff_client.post(url, {**data, "allow_over_maximum": "on"}, headers=HTMX)

    assert response["HX-Redirect"] == reverse("warehouse:incoming")
    assert IncomingPackage.objects.get().quantity == 8


def test_booking_above_a_hard_maximum_is_refused_without_a_confirmation(
    staff_client, warehouse, dock, bolt
):
    services.constraint_set(
        product=bolt, warehouse=warehouse, minimum=D(0), maximum=D(5), hard=True
    )
    data = book_post(dock, bolt, quantity="8", package_price="16", allow_over_maximum="on")

    response = staff_client.post(reverse("warehouse:incoming_book"), data, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "above its maximum of 5. Refused: the maximum is hard.")
    assertNotContains(response, 'type="checkbox" name="allow_over_maximum"')
    assert not Movement.objects.exists()


def test_the_dialog_shows_the_average_cost_as_the_reference_price(staff_client, dock, stock, bolt):
    """40 owned at 3.50; a package of 10 for 50.00 (5.00 each) makes it (140 + 50) ÷ 50 = 3.80."""
    package_in(dock, bolt, 10, "20.00", "P1")
    package_in(dock, bolt, 30, "120.00", "P2")
    url = reverse("warehouse:incoming_reference")

    response = staff_client.get(url, {"product": bolt.sku, "location": dock.pk}, headers=HTMX)

    assertContains(response, '<div id="reference-price"')
    assertNotContains(response, "<form")
    assertContains(response, "<strong data-average>3.50</strong>")
    assertContains(response, "(40 owned)")

    response = staff_client.get(
        url,
        {"product": bolt.sku, "location": dock.pk, "quantity": "10", "package_price": "50"},
        headers=HTMX,
    )

    assertContains(response, "<strong data-unit-cost>5.00</strong>")
    assertContains(response, "<strong data-new-average>3.80</strong>")


def test_the_reference_price_counts_the_serials_of_a_traceable_product(staff_client, dock, modem):
    response = staff_client.get(
        reverse("warehouse:incoming_reference"),
        {"product": modem.sku, "location": dock.pk, "package_price": "90", "serials": "A\nB\nC"},
    )

    assertContains(response, "<strong data-average>0.00</strong>")
    assertContains(response, "<strong data-unit-cost>30.00</strong>")
    assertContains(response, "<strong data-new-average>30.00</strong>")


def test_the_reference_price_asks_for_a_product_and_location_first(staff_client, dock):
    response = staff_client.get(reverse("warehouse:incoming_reference"), {"product": "nope"})

    assertContains(response, "Choose the incoming location and the product")


def test_the_booking_dialog_reloads_the_reference_when_a_field_changes(staff_client, dock, bolt):
    url = reverse("warehouse:incoming_book") + f"?location={dock.pk}&product={bolt.sku}"

    response = staff_client.get(url, headers=HTMX)

    html = response.content.decode()
    reference = reverse("warehouse:incoming_reference")
    assert re.search(
        rf'hx-get="{reference}" hx-trigger="change, input delay:400ms"\s+hx-include="closest form"',
        html,
    )
    assertContains(response, "<strong data-average>0.00</strong>")  # the first package


# --------------------------------------------------------------------------- put away


def test_put_away_dialog_offers_the_waiting_quantity_and_storage_of_the_warehouse(
    staff_client, warehouse, dock, stock, north, bolt
):
    package_in(dock, bolt, 10, "20.00", "P1")
    package = IncomingPackage.objects.get()
    quarantine = LocationFactory(warehouse=warehouse, code="Q", kind=Location.Kind.QUARANTINE)

    response = staff_client.get(
        reverse("warehouse:package_put_away", args=[package.pk]), headers=HTMX
    )

    assertNotContains(response, "<html")
    assertContains(response, "Put away package P1")
    assertContains(response, 'name="quantity" value="10"')
    # The destination is typed; its suggestions are the package's warehouse's storage.
    suggest = f"/locations/suggest/?kind=storage&amp;warehouse={warehouse.pk}&amp;field=destination"
    assertContains(response, f'hx-get="{suggest}"')
    for other in (dock, quarantine, storage_of(north)):
        refused = staff_client.post(
            reverse("warehouse:package_put_away", args=[package.pk]),
            {"destination": str(other), "quantity": "1"},
            headers=HTMX,
        )
        assertContains(refused, f"No storage location “{other}” in this warehouse.")
    assert package.movements.count() == 1


def test_putting_part_of_a_package_away_moves_it_to_storage(staff_client, dock, stock, bolt):
    package_in(dock, bolt, 10, "20.00", "P1")
    package = IncomingPackage.objects.get()

    response = staff_client.post(
        reverse("warehouse:package_put_away", args=[package.pk]),
        {"destination": str(stock), "quantity": "4", "reason": ""},
        headers=HTMX,
    )

    assert response["HX-Redirect"] == reverse("warehouse:incoming")
    package.refresh_from_db()
    assert (package.put_away, package.waiting) == (D(4), D(6))
    move = Movement.objects.get(action=Movement.Action.MOVE)
    assert (move.source, move.destination, move.quantity, move.reason) == (
        dock,
        stock,
        D(4),
        "Put away package P1",
    )
    followed = staff_client.get(reverse("warehouse:incoming"))
    assertContains(followed, "Put away 4 × BOLT-1 of package P1 into main/STOCK.")


def test_putting_more_than_the_package_holds_is_refused(staff_client, dock, stock, bolt):
    package_in(dock, bolt, 10, "20.00", "P1")
    package = IncomingPackage.objects.get()
    before = ledger_snapshot()

    response = staff_client.post(
        reverse("warehouse:package_put_away", args=[package.pk]),
        {"destination": str(stock), "quantity": "11"},
        headers=HTMX,
    )

    assert response.status_code == 200
    assertContains(response, "Package P1 has 10 waiting.")
    assert ledger_snapshot() == before


def test_a_package_put_away_already_cannot_be_put_away_again(staff_client, dock, stock, bolt):
    package_in(dock, bolt, 2, "2.00", "P1")
    package = IncomingPackage.objects.get()
    url = reverse("warehouse:package_put_away", args=[package.pk])
    staff_client.post(url, {"destination": str(stock), "quantity": "2"})
    before = ledger_snapshot()

    response = staff_client.post(url, {"destination": str(stock), "quantity": "1"}, headers=HTMX)

    assertContains(response, "Package P1 is put away already.")
    assert ledger_snapshot() == before


def test_put_away_of_a_traceable_package_offers_only_its_devices_still_incoming(
    staff_client, dock, stock, modem
):
    package_in(dock, modem, None, "90", "M1", serials=["S-1", "S-2", "S-3"])
    package_in(dock, modem, None, "60", "M2", serials=["S-4", "S-5"])
    stock_booking.stock_move(
        actor=None, product=modem, source=dock, destination=stock, serials=["S-2"]
    )
    package = IncomingPackage.objects.get(number="M1")
    url = reverse("warehouse:package_put_away", args=[package.pk])

    response = staff_client.get(url)

    offered = re.findall(r'name="serials" value="([^"]+)"', response.content.decode())
    assert offered == ["S-1", "S-3"]

    response = staff_client.post(url, {"destination": str(stock), "serials": ["S-3"]})

    assert response.status_code == 302
    assert Device.objects.get(serial="S-3").location == stock
    package.refresh_from_db()
    assert (package.put_away, package.waiting) == (D(2), D(1))
    assert IncomingPackage.objects.get(number="M2").put_away == 0


def test_put_away_refuses_a_serial_not_in_the_package(staff_client, dock, stock, modem):
    package_in(dock, modem, None, "90", "M1", serials=["S-1"])
    package_in(dock, modem, None, "60", "M2", serials=["S-4"])
    package = IncomingPackage.objects.get(number="M1")
    before = ledger_snapshot()

    response = staff_client.post(
        reverse("warehouse:package_put_away", args=[package.pk]),
        {"destination": str(stock), "serials": ["S-4"]},
    )

    assert response.status_code == 200
    assertContains(response, "Select a valid choice. S-4 is not one of the available choices.")
    assert ledger_snapshot() == before


# --------------------------------------------------------------------------- above maximum


def test_the_move_dialog_asks_to_confirm_a_move_above_a_soft_maximum(
    staff_client, warehouse, stock, north, bolt
):
    book_in(stock, bolt, 10)
    services.constraint_set(product=bolt, warehouse=north, minimum=D(0), maximum=D(3))
    url = reverse("warehouse:stock_move", args=[bolt.pk])
    data = {"source": str(stock), "destination": str(storage_of(north)), "quantity": "4"}
    before = ledger_snapshot()

    response = staff_client.post(url, data, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "BOLT-1 in North depot would hold 4, above its maximum of 3.")
    assertContains(response, 'type="checkbox" name="allow_over_maximum"')
    assert ledger_snapshot() == before

    response = staff_client.post(url, {**data, "allow_over_maximum": "on"}, headers=HTMX)

    assert response["HX-Redirect"] == bolt.get_absolute_url()
    assert Movement.objects.filter(action=Movement.Action.MOVE).count() == 1


def test_the_move_dialog_refuses_a_move_above_a_hard_maximum(
    staff_client, warehouse, stock, north, bolt
):
    book_in(stock, bolt, 10)
    services.constraint_set(product=bolt, warehouse=north, minimum=D(0), maximum=D(3), hard=True)
    before = ledger_snapshot()

    response = staff_client.post(
        reverse("warehouse:stock_move", args=[bolt.pk]),
        {
            "source": str(stock),
            "destination": str(storage_of(north)),
            "quantity": "4",
            "allow_over_maximum": "on",
        },
        headers=HTMX,
    )

    assertContains(response, "Refused: the maximum is hard.")
    assert ledger_snapshot() == before


def test_the_stock_in_page_asks_to_confirm_above_a_soft_maximum(
    staff_client, warehouse, stock, bolt
):
    services.constraint_set(product=bolt, warehouse=warehouse, minimum=D(0), maximum=D(5))
    data = {
        "location": str(stock),
        "supplier": "",
        "reference": "",
        "reason": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-product": bolt.sku,
        "lines-0-quantity": "6",
        "lines-0-unit_cost": "1",
        "lines-0-serials": "",
    }

    response = staff_client.post(reverse("warehouse:stock_in"), data)

    assert response.status_code == 200
    assertContains(response, "would hold 6, above its maximum of 5. Confirm to book anyway.")
    assertContains(response, 'type="checkbox" name="allow_over_maximum"')
    assert not Movement.objects.exists()

    response = staff_client.post(
        reverse("warehouse:stock_in"), {**data, "allow_over_maximum": "on"}
    )

    assert response.status_code == 302
    assert Movement.objects.get().quantity == 6


# --------------------------------------------------------------------------- FIFO report


def test_fifo_report_shows_each_package_with_totals_beside_the_moving_average(staff_client, sold):
    response = staff_client.get(reverse("warehouse:fifo_report"))

    assert [row[1:] for row in table_rows(response, "fifo")] == [
        ["main", "P1", "2025-03-01", "10", "20.00", "10", "0", "0.00"],
        ["main", "P2", "2025-03-02", "30", "120.00", "5", "25", "100.00"],
    ]
    assert table_rows(response, "fifo")[0][0] == "BOLT-1 Bolt"
    assertContains(response, '<strong data-total="remaining">25</strong>')
    assertContains(response, '<strong data-total="value">100.00</strong>')
    assertContains(response, '<span data-total="owned">25</span>')
    assertContains(response, '<span data-total="owned-value">87.50</span>')
    assertContains(response, "quantities agree")
    foot = re.search(r"<tfoot[^>]*>(.*?)</tfoot>", table(response, "fifo"), re.S)[1]
    assert [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", foot, re.S)
    ][-2:] == ["25", "100.00"]


def test_fifo_report_filters_by_sku_in_place_and_pushes_the_url(staff_client, sold, dock):
    package_in(dock, ProductFactory(sku="NUT-1"), 5, "5", "N1")
    url = reverse("warehouse:fifo_report")

    page = staff_client.get(url)
    assertContains(page, f'hx-get="{url}" hx-target="#fifo-table" hx-swap="outerHTML"')
    assertContains(page, 'hx-push-url="true"')

    response = staff_client.get(url, {"product": "nut-1"}, headers=HTMX)

    assertNotContains(response, "<html")
    assert [row[2] for row in table_rows(response, "fifo")] == ["N1"]
    assertContains(response, '<strong data-total="remaining">5</strong>')
    assertContains(response, '<span data-total="owned">5</span>')


def test_fifo_report_filters_by_warehouse_and_dates(staff_client, sold, warehouse, north, stock):
    bolt = sold.lines.get().product
    stock_booking.stock_move(
        actor=None, product=bolt, source=stock, destination=storage_of(north), quantity=D(2)
    )
    url = reverse("warehouse:fifo_report")

    by_warehouse = staff_client.get(url, {"warehouse": north.pk})
    by_date = staff_client.get(url, {"date_from": "2025-03-02", "date_to": "2025-03-02"})

    assert [row[1:3] for row in table_rows(by_warehouse, "fifo")] == [["north", "P2"]]
    assert [row[1:3] for row in table_rows(by_date, "fifo")] == [["main", "P2"], ["north", "P2"]]
    assertContains(by_date, "for all dates")


def test_fifo_report_with_an_unknown_sku_says_so(staff_client, sold):
    response = staff_client.get(reverse("warehouse:fifo_report"), {"product": "NOPE"})

    assert response.status_code == 200
    assertContains(response, "No product has this SKU.")
    assertContains(response, "No cost layer matches.")


def test_fifo_report_exports_the_current_filter_as_csv(staff_client, sold, dock):
    package_in(dock, ProductFactory(sku="NUT-1", name="Nut"), 5, "5", "N1")

    response = staff_client.get(
        reverse("warehouse:fifo_report"), {"product": "BOLT-1", "format": "csv"}
    )

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="fifo-report.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows == [
        [
            "product",
            "name",
            "warehouse",
            "package",
            "received",
            "received_qty",
            "received_value",
            "consumed_qty",
            "remaining_qty",
            "remaining_value",
        ],
        ["BOLT-1", "Bolt", "main", "P1", "2025-03-01", "10", "20.00", "10", "0", "0.00"],
        ["BOLT-1", "Bolt", "main", "P2", "2025-03-02", "30", "120.00", "5", "25", "100.00"],
    ]


def test_fifo_report_links_its_export_with_the_current_filter(staff_client, sold):
    response = staff_client.get(
        reverse("warehouse:fifo_report"), {"product": "BOLT-1", "page": "1"}
    )

    assertContains(response, 'href="/reports/fifo/?product=BOLT-1&amp;format=csv"')


def test_fifo_package_page_lists_the_movements_that_consumed_it(staff_client, sold):
    bolt = sold.lines.get().product

    response = staff_client.get(reverse("warehouse:fifo_package", args=[bolt.pk, "P2"]))

    assertContains(response, "Package P2 · BOLT-1")
    assert [row[1:] for row in table_rows(response, "layers")] == [
        ["2025-03-02 09:00", "Acme", "30", "4.00", "5", "25", "100.00"]
    ]
    [row] = table_rows(response, "consumptions")
    assert row[1:8] == ["Sell", "main/STOCK", "main/~SOLD", "5", "4.00", "20.00", sold.number]
    assertContains(response, f'href="{reverse("warehouse:activity")}?reference={sold.number}"')


def test_fifo_report_links_unnumbered_layers_to_their_own_page(staff_client, stock, bolt):
    book_in(stock, bolt, 3, "2.00")  # a stock-in without reference or package number

    report = staff_client.get(reverse("warehouse:fifo_report"))
    url = reverse("warehouse:fifo_unnumbered", args=[bolt.pk])
    assertContains(report, f'<a href="{url}" hx-boost="false">(no number)</a>')

    response = staff_client.get(url)
    assert table_rows(response, "layers")[0][3:5] == ["3", "2.00"]


# --------------------------------------------------------------------------- constraints page


def test_constraints_page_sets_the_levels_per_warehouse(staff_client, warehouse, north, bolt):
    url = reverse("warehouse:product_constraints", args=[bolt.pk])
    page = staff_client.get(url)
    assertContains(page, f'name="w{warehouse.pk}-minimum"')
    assertContains(page, f'name="w{north.pk}-minimum"')

    response = staff_client.post(
        url,
        {
            f"w{warehouse.pk}-minimum": "5",
            f"w{warehouse.pk}-maximum": "20",
            f"w{warehouse.pk}-hard": "on",
            f"w{north.pk}-minimum": "0",
            f"w{north.pk}-maximum": "",
        },
    )

    assertRedirects(response, bolt.get_absolute_url(), fetch_redirect_response=False)
    assert list(
        StockConstraint.objects.values_list("warehouse__code", "minimum", "maximum", "hard")
    ) == [("main", D(5), D(20), True)]
    again = staff_client.get(url)
    assertContains(again, f'name="w{warehouse.pk}-maximum" value="20"')


def test_constraints_page_refuses_a_maximum_below_the_minimum(staff_client, warehouse, bolt):
    response = staff_client.post(
        reverse("warehouse:product_constraints", args=[bolt.pk]),
        {f"w{warehouse.pk}-minimum": "10", f"w{warehouse.pk}-maximum": "5"},
    )

    assert response.status_code == 200
    assertContains(response, "The maximum cannot be below the minimum.")
    assert not StockConstraint.objects.exists()


def test_low_stock_list_shows_what_to_reorder(staff_client, warehouse, stock, bolt):
    book_in(stock, bolt, 3)
    services.constraint_set(product=bolt, warehouse=warehouse, minimum=D(5), maximum=D(12))

    response = staff_client.get(reverse("warehouse:low_stock"))

    assert table_rows(response, "low-stock") == [["BOLT-1 Bolt", "main", "3", "5", "12", "9"]]


def test_product_page_shows_its_levels_and_open_layers(staff_client, sold, warehouse):
    bolt = sold.lines.get().product
    services.constraint_set(
        product=bolt, warehouse=warehouse, minimum=D(5), maximum=D(50), hard=True
    )

    response = staff_client.get(bolt.get_absolute_url())

    assert table_rows(response, "constraints") == [["Main warehouse", "5", "50", "refused"]]
    assert table_rows(response, "layers") == [["Main warehouse", "P2", "2025-03-02", "25", "4.00"]]
    assertContains(response, reverse("warehouse:fifo_package", args=[bolt.pk, "P2"]))
    assertContains(response, reverse("warehouse:product_constraints", args=[bolt.pk]))


# --------------------------------------------------------------------------- query counts


def _grow_packages(warehouse, count):
    dock = Location.objects.get(warehouse=warehouse, code="IN")
    start = IncomingPackage.objects.count()
    for n in range(count):
        package_in(dock, ProductFactory(), 2, "4", f"G-{start + n:03d}")


def _grow_low(warehouse, count):
    for _ in range(count):
        services.constraint_set(
            product=ProductFactory(), warehouse=warehouse, minimum=D(3), maximum=D(9)
        )


def _grow_layers(warehouse, count):
    dock = Location.objects.get(warehouse=warehouse, code="IN")
    product = Product.objects.filter(sku="SAME").first() or ProductFactory(sku="SAME")
    start = IncomingPackage.objects.filter(product=product).count()
    for n in range(count):
        package_in(dock, product, 1, "1", f"L-{start + n:03d}")


PAGES = {
    "incoming": (lambda product: reverse("warehouse:incoming"), {}, _grow_packages, "packages"),
    "fifo-report": (
        lambda product: reverse("warehouse:fifo_report"),
        {"per_page": 100},
        _grow_packages,
        "fifo",
    ),
    "low-stock": (lambda product: reverse("warehouse:low_stock"), {}, _grow_low, "low-stock"),
    "product-layers": (
        lambda product: product.get_absolute_url(),
        {},
        _grow_layers,
        "layers",
    ),
    "fifo-package": (
        lambda product: reverse("warehouse:fifo_package", args=[product.pk, "L-000"]),
        {},
        _grow_layers,
        None,
    ),
}


@pytest.mark.parametrize("page", PAGES)
def test_page_query_count_does_not_grow_with_rows(
    staff_client, warehouse, dock, django_assert_num_queries, page
):
    """Each page costs the same number of queries with 5 rows as with 50."""
    url, query, grow, table_id = PAGES[page]
    grow(warehouse, 5)
    product = Product.objects.filter(sku="SAME").first()
    with CaptureQueriesContext(connection) as five:
        response = staff_client.get(url(product), query)
    assert response.status_code == 200
    grow(warehouse, 45)

    with django_assert_num_queries(len(five)):
        response = staff_client.get(url(product), query)
    assert response.status_code == 200
    if table_id:
        assert len(table_rows(response, table_id)) >= 50


# --------------------------------------------------------------------------- roles


@pytest.fixture
def report_urls(sold):
    bolt = sold.lines.get().product
    return [
        reverse("warehouse:incoming"),
        reverse("warehouse:fifo_report"),
        reverse("warehouse:fifo_report") + "?format=csv",
        reverse("warehouse:fifo_package", args=[bolt.pk, "P1"]),
        reverse("warehouse:fifo_unnumbered", args=[bolt.pk]),
        reverse("warehouse:low_stock"),
        bolt.get_absolute_url(),
    ]


@pytest.fixture
def booking_urls(sold, dock):
    bolt = sold.lines.get().product
    package_in(dock, bolt, 1, "1", "WAIT")
    return [
        reverse("warehouse:incoming_book"),
        reverse("warehouse:incoming_reference"),
        reverse("warehouse:package_put_away", args=[IncomingPackage.objects.get(number="WAIT").pk]),
        reverse("warehouse:product_constraints", args=[bolt.pk]),
    ]


def test_a_billing_clerk_reads_the_reports(clerk_client, report_urls):
    for url in report_urls:
        assert clerk_client.get(url).status_code == 200, url


def test_a_billing_clerk_may_not_book_put_away_or_set_levels(
    clerk_client, booking_urls, dock, stock, warehouse
):
    before = (ledger_snapshot(), StockConstraint.objects.count())
    data = {
        "location": dock.pk,
        "destination": str(stock),
        "quantity": "1",
        "package_price": "1",
        f"w{warehouse.pk}-minimum": "1",
    }
    for url in booking_urls:
        assert clerk_client.get(url).status_code == 403, url
        assert clerk_client.get(url, headers=HTMX).status_code == 403, url
        # The reference price is read only: a POST is not allowed to anyone.
        refused = 405 if url == reverse("warehouse:incoming_reference") else 403
        assert clerk_client.post(url, data).status_code == refused, url
    assert (ledger_snapshot(), StockConstraint.objects.count()) == before


def test_warehouse_staff_may_open_every_new_page(staff_client, report_urls, booking_urls):
    for url in report_urls + booking_urls:
        assert staff_client.get(url).status_code == 200, url


def test_an_anonymous_visitor_is_sent_to_log_in(client, report_urls, booking_urls):
    for url in report_urls + booking_urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url
