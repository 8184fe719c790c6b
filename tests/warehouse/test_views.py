"""The warehouse pages as a user sees them: what they show, what they book, who may use them.

Stock is always booked through the services, so every page reads a ledger
and a balance that agree.
"""

import re
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape as html_text

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from devices import stock_booking
from devices.models import Device
from tests.paging import follow, link
from tests.warehouse.factories import (
    LocationFactory,
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    book_in,
    storage_of,
)
from warehouse import services
from warehouse.forms import LocationForm
from warehouse.models import Location, Movement, Product, StockPosition

HTMX = {"HX-Request": "true"}

# --------------------------------------------------------------------------- helpers


def balance_skus(response) -> list[str]:
    """The SKUs of the balance table, in the order shown."""
    return re.findall(r'<tr data-sku="([^"]+)"', response.content.decode())


def balance_row(response, sku: str) -> dict[str, str]:
    """One balance row as {column: text}."""
    html = response.content.decode()
    match = re.search(rf'<tr data-sku="{re.escape(sku)}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"{sku} is not in the balance table"
    cells = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", match[1], re.S)
    ]
    columns = ["sku", "name", "traceable", "ownership", "in_hand", "reserved", "available"]
    columns += ["dispatched", "rented", "average_cost"]
    return dict(zip(columns, cells, strict=False))  # later columns: links


def table(response, table_id: str) -> str:
    """The HTML of the table with that id."""
    html = response.content.decode()
    match = re.search(rf'<table id="{table_id}"[^>]*>(.*?)</table>', html, re.S)
    assert match, f"no table #{table_id} on the page"
    return match[1]


def table_rows(response, table_id: str) -> list[list[str]]:
    """The body rows of a table as lists of cell texts."""
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", table(response, table_id), re.S)[1]
    return [
        [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip() for c in row]
        for row in (
            re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
            for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
        )
    ]


def link_tag(response, href: str) -> str:
    """The opening <a> tag of the first link to `href`."""
    match = re.search(rf'<a [^>]*href="{re.escape(href)}"[^>]*>', response.content.decode())
    assert match, f"no link to {href}"
    return match[0]


def activity_skus(response) -> list[str]:
    """The product SKU of each row of the activity log."""
    return re.findall(r'<a href="/products/\d+/"[^>]*>([^<]+)</a>', table(response, "activity"))


def quantity_at(product: Product, location: Location) -> Decimal:
    position = StockPosition.objects.filter(product=product, location=location).first()
    return position.quantity if position else Decimal("0")


def stock_in_post(location, lines, **fields) -> dict:
    """The POST of the stock-in page: the header form and its formset of lines."""
    data = {
        "location": str(location),
        "supplier": "",
        "reference": "",
        "reason": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for i, line in enumerate(lines):
        for name, value in line.items():
            data[f"lines-{i}-{name}"] = value
    return data


@pytest.fixture
def cable(storage):
    """A counted product with 10 pieces in storage at 2.50 each."""
    product = ProductFactory(sku="CAB-1", name="Patch cable")
    book_in(storage, product, 10, "2.50")
    return product


@pytest.fixture
def router(storage):
    """A traceable product with three devices in storage (booked as the site books them)."""
    product = ProductFactory(sku="RTR-1", name="Router", traceable=True)
    stock_booking.stock_in(
        actor=None,
        location=storage,
        lines=[
            services.StockInLine(
                product=product,
                quantity=Decimal(3),
                unit_cost=Decimal("80.00"),
                serials=("R-1", "R-2", "R-3"),
            )
        ],
    )
    return product


# --------------------------------------------------------------------------- balance


def test_balance_shows_each_product_with_its_columns(staff_client, cable, router):
    """The balance lists each product with in hand, available, ownership and average cost."""
    response = staff_client.get(reverse("warehouse:balance"))

    assert response.status_code == 200
    assert balance_skus(response) == ["CAB-1", "RTR-1"]
    row = balance_row(response, "CAB-1")
    assert row["in_hand"] == "10"
    assert row["available"] == "10"
    assert row["ownership"] == "10"
    assert row["average_cost"] == "2.50"
    assert balance_row(response, "RTR-1")["traceable"] == "Traceable"
    assertContains(response, "2 products across all warehouses.")


def test_balance_escapes_product_names(staff_client, storage):
    """A product name with markup in it is shown as text; its devices link stays one link."""
    product = ProductFactory(sku="A&B<1>", name="<b>Bold</b> & Co", traceable=True)

    response = staff_client.get(reverse("warehouse:balance"))

    html = response.content.decode()
    assert "<b>Bold" not in html
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html
    assert html_text(balance_row(response, "A&amp;B&lt;1&gt;")["name"]) == "<b>Bold</b> & Co"
    assert f'href="{product.get_absolute_url()}">A&amp;B&lt;1&gt;</a>' in html
    assert "?product=A%26B%3C1%3E" in html


def test_balance_labels_the_warehouse_filter(staff_client, cable):
    """The filter says "Warehouse" next to its select, not a placeholder."""
    response = staff_client.get(reverse("warehouse:balance"))

    assertContains(response, "<label>Warehouse ")
    assertNotContains(response, "[invalid name]")


def test_balance_filtered_by_warehouse_shows_only_that_warehouse(staff_client, cable, storage):
    """Choosing a warehouse shows its own quantities; all warehouses shows their sum."""
    other = WarehouseFactory(code="north", name="North depot")
    book_in(storage_of(other), cable, 4, "2.50")

    everywhere = staff_client.get(reverse("warehouse:balance"))
    north = staff_client.get(reverse("warehouse:balance"), {"warehouse": other.pk})
    main = staff_client.get(reverse("warehouse:balance"), {"warehouse": storage.warehouse.pk})

    assert balance_row(everywhere, "CAB-1")["in_hand"] == "14"
    assert balance_row(north, "CAB-1")["in_hand"] == "4"
    assert balance_row(main, "CAB-1")["in_hand"] == "10"
    assertContains(north, "Stock balance · North depot")
    assertContains(north, "1 product in North depot.")


def test_balance_filtered_by_text_matches_sku_or_name(staff_client, cable, router):
    """The search box finds products by part of the SKU or of the name, in any case."""
    by_sku = staff_client.get(reverse("warehouse:balance"), {"q": "cab"})
    by_name = staff_client.get(reverse("warehouse:balance"), {"q": "ROUTER"})
    nothing = staff_client.get(reverse("warehouse:balance"), {"q": "no such thing"})

    assert balance_skus(by_sku) == ["CAB-1"]
    assert balance_skus(by_name) == ["RTR-1"]
    assert balance_skus(nothing) == []
    assertContains(nothing, "No products match.")


def test_balance_filtered_by_traceable_or_counted(staff_client, cable, router):
    """The traceable filter separates serial-numbered products from counted ones."""
    traceable = staff_client.get(reverse("warehouse:balance"), {"traceable": "true"})
    counted = staff_client.get(reverse("warehouse:balance"), {"traceable": "false"})

    assert balance_skus(traceable) == ["RTR-1"]
    assert balance_skus(counted) == ["CAB-1"]


def test_balance_hides_inactive_products_until_asked(staff_client, storage):
    """Inactive products are hidden by default and shown, marked, when the status filter asks."""
    ProductFactory(sku="OLD-1", active=False)
    ProductFactory(sku="NEW-1")

    default = staff_client.get(reverse("warehouse:balance"))
    inactive = staff_client.get(reverse("warehouse:balance"), {"active": "false"})

    assert balance_skus(default) == ["NEW-1"]
    assert balance_skus(inactive) == ["OLD-1"]
    assertContains(inactive, '<span class="badge">inactive</span>')


def test_balance_sorts_by_a_column(staff_client, storage):
    """Clicking a column heading sorts by it, either way."""
    for sku, quantity in [("A-1", 5), ("B-1", 20), ("C-1", 1)]:
        book_in(storage, ProductFactory(sku=sku), quantity)

    ascending = staff_client.get(reverse("warehouse:balance"), {"sort": "in_hand"})
    descending = staff_client.get(reverse("warehouse:balance"), {"sort": "-in_hand"})
    by_sku = staff_client.get(reverse("warehouse:balance"), {"sort": "-sku"})

    assert balance_skus(ascending) == ["C-1", "A-1", "B-1"]
    assert balance_skus(descending) == ["B-1", "A-1", "C-1"]
    assert balance_skus(by_sku) == ["C-1", "B-1", "A-1"]


def test_balance_pages_through_products(staff_client, storage):
    """With more products than one page holds, Next shows the rest; Previous comes back."""
    products = [ProductFactory(sku=f"P-{n:02d}") for n in range(30)]
    services.stock_in(
        actor=None,
        location=storage,
        lines=[
            services.StockInLine(product=p, quantity=Decimal(1), unit_cost=Decimal(1))
            for p in products
        ],
    )

    first = staff_client.get(reverse("warehouse:balance"))
    second = follow(staff_client, first, "next")
    back = follow(staff_client, second, "prev")
    bigger = staff_client.get(reverse("warehouse:balance"), {"per_page": 50})

    assert balance_skus(first) == [f"P-{n:02d}" for n in range(25)]
    assert balance_skus(second) == [f"P-{n:02d}" for n in range(25, 30)]
    assert balance_skus(back) == balance_skus(first)
    assert link(second, "next") is None
    assert len(balance_skus(bigger)) == 30
    assertContains(first, "Products 1–25 across all warehouses; more on the next pages.")
    assertContains(second, "Products 26–30 across all warehouses.")
    assertContains(bigger, "30 products across all warehouses.")


def test_balance_answers_htmx_with_the_table_only(staff_client, cable, router):
    """A filter change sent by htmx gets only the #balance-table part, not a whole page."""
    response = staff_client.get(reverse("warehouse:balance"), {"q": "CAB"}, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="balance-table"')
    assert "<html" not in html
    assert '<form class="filters' not in html  # the filter form stays; the pager comes along
    assert balance_skus(response) == ["CAB-1"]


def test_balance_product_links_open_the_whole_product_page(staff_client, cable):
    """The table pages and sorts in place (boosted), but a product link leaves the page."""
    response = staff_client.get(reverse("warehouse:balance"))

    assertContains(response, '<div id="balance-table" hx-boost="true"')
    assert 'hx-boost="false"' in link_tag(response, cable.get_absolute_url())


def test_balance_history_restore_gets_the_whole_page(staff_client, cable):
    """When htmx restores a page from history it gets the whole page, not the table alone."""
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    response = staff_client.get(reverse("warehouse:balance"), {"q": "CAB"}, headers=headers)

    assertContains(response, "<html")
    assertContains(response, 'id="balance-table"')
    assert balance_skus(response) == ["CAB-1"]


# --------------------------------------------------------------------------- product page


def test_product_page_breaks_stock_down_by_warehouse_and_location(staff_client, cable, storage):
    """The product page shows each warehouse's balance and each location's quantity."""
    shelf = LocationFactory(warehouse=storage.warehouse, code="A-01")
    services.stock_move(
        actor=None, product=cable, source=storage, destination=shelf, quantity=Decimal(3)
    )
    north = WarehouseFactory(code="north", name="North depot")
    book_in(storage_of(north), cable, 4, "4.00")

    response = staff_client.get(reverse("warehouse:product_detail", args=[cable.pk]))

    assert response.status_code == 200
    by_warehouse = {row[0]: row for row in table_rows(response, "warehouse-balance")}
    assert by_warehouse["Main warehouse"][1:3] == ["10", "10"]  # ownership, in hand
    assert by_warehouse["North depot"][1:3] == ["4", "4"]
    by_location = {row[0].split(" ")[0]: row[1:3] for row in table_rows(response, "locations")}
    assert by_location == {
        "main/A-01": ["Storage", "3"],
        "main/STOCK": ["Storage", "7"],
        "north/STOCK": ["Storage", "4"],
    }


def test_product_page_lists_its_latest_movements(staff_client, cable):
    """The product page ends with the product's latest movements and a link to all of them."""
    response = staff_client.get(reverse("warehouse:product_detail", args=[cable.pk]))

    assertContains(response, "Stock-in")
    assertContains(response, reverse("warehouse:activity") + "?product=CAB-1")


def test_product_page_offers_stock_actions_to_staff_only(staff_client, clerk_user, cable):
    """Staff see the Remove / Move / Isolate / Adjust buttons; a billing clerk does not."""
    url = reverse("warehouse:product_detail", args=[cable.pk])
    remove = reverse("warehouse:stock_remove", args=[cable.pk])

    assertContains(staff_client.get(url), f'hx-get="{remove}"')
    staff_client.force_login(clerk_user)
    assertNotContains(staff_client.get(url), f'hx-get="{remove}"')


def test_unknown_product_is_not_found(staff_client, db):
    assert staff_client.get(reverse("warehouse:product_detail", args=[999999])).status_code == 404


# --------------------------------------------------------------------------- stock-in


def test_stock_in_page_offers_storage_and_incoming_locations(staff_client, storage):
    """Goods can be booked into storage or incoming, never into quarantine."""
    LocationFactory(warehouse=storage.warehouse, code="IN", kind=Location.Kind.INCOMING)
    LocationFactory(warehouse=storage.warehouse, code="Q", kind=Location.Kind.QUARANTINE)

    cable = ProductFactory(sku="CAB-1")

    response = staff_client.get(reverse("warehouse:stock_in"))
    suggested = staff_client.get(
        reverse("warehouse:location_suggest"), {"q": "main/", "kind": "storage,incoming"}
    )
    line = {"product": cable.sku, "quantity": "1", "unit_cost": "1"}
    refused = staff_client.post(
        reverse("warehouse:stock_in"), stock_in_post("main/Q", [line]), headers=HTMX
    )

    assert response.status_code == 200
    assertContains(response, "/locations/suggest/?kind=storage%2Cincoming&amp;field=location")
    assertContains(response, 'name="lines-TOTAL_FORMS"')
    assertContains(suggested, '<option value="main/IN">')
    assertContains(suggested, '<option value="main/STOCK">Main storage · Storage</option>')
    assertNotContains(suggested, "main/Q")
    assertContains(refused, "No storage or incoming location “main/Q”.")
    assert not Movement.objects.exists()


def test_stock_in_books_several_products_in_one_post(staff_client, storage):
    """One post books every line together, traceable serials pasted one per line."""
    cable = ProductFactory(sku="CAB-1")
    screws = ProductFactory(sku="SCR-1", unit=Product.Unit.BOX)
    router = ProductFactory(sku="RTR-1", traceable=True)
    data = stock_in_post(
        storage,
        [
            {"product": cable.sku, "quantity": "12", "unit_cost": "2.50"},
            {"product": screws.sku, "quantity": "1.5", "unit_cost": "9"},
            {
                "product": router.sku,
                "quantity": "",
                "unit_cost": "80",
                "serials": "R-1\r\nR-2\r\n\r\n R-3 \r\n",
            },
        ],
        supplier="Acme",
        reference="DN-7",
    )

    response = staff_client.post(reverse("warehouse:stock_in"), data, follow=True)

    movements = Movement.objects.filter(action=Movement.Action.ADD)
    batch = movements.first().batch
    assertRedirects(response, reverse("warehouse:activity") + f"?batch={batch}")
    assert quantity_at(cable, storage) == 12
    assert quantity_at(screws, storage) == Decimal("1.5")
    assert quantity_at(router, storage) == 3
    assert sorted(movements.filter(product=router).values_list("serial", flat=True)) == [
        "R-1",
        "R-2",
        "R-3",
    ]
    assert set(movements.values_list("batch", flat=True)) == {batch}
    assert set(movements.values_list("supplier", "reference")) == {("Acme", "DN-7")}
    assert set(movements.values_list("actor__username", flat=True)) == {"stella"}
    assertContains(response, "Booked 3 products into main/STOCK.")


def test_stock_in_by_htmx_redirects_the_browser_to_the_booking(staff_client, storage):
    """Booked from the htmx form, the answer tells the browser to open the booking's activity."""
    cable = ProductFactory(sku="CAB-1")
    data = stock_in_post(storage, [{"product": cable.sku, "quantity": "2", "unit_cost": "1"}])

    response = staff_client.post(reverse("warehouse:stock_in"), data, headers=HTMX)

    batch = Movement.objects.get().batch
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("warehouse:activity") + f"?batch={batch}"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"serials": "X-1"}, "SCR-1 is not traceable: no serial numbers."),
        ({"quantity": ""}, "Give a quantity greater than zero."),
        ({"quantity": "1.5"}, "SCR-1 is counted in pieces: 1.5 is not whole."),
        ({"quantity": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"unit_cost": ""}, "This field is required."),
    ],
    ids=["serials-on-counted", "no-quantity", "fraction-of-pieces", "negative", "no-cost"],
)
def test_stock_in_with_a_bad_line_shows_its_error_and_books_nothing(
    staff_client, storage, line, message
):
    """One bad line stops the whole booking: the form says why and no line is booked."""
    cable = ProductFactory(sku="CAB-1")
    screws = ProductFactory(sku="SCR-1")
    data = stock_in_post(
        storage,
        [
            {"product": cable.sku, "quantity": "5", "unit_cost": "1"},
            {"product": screws.sku, "quantity": "3", "unit_cost": "1", **line},
        ],
    )

    for headers in ({}, HTMX):
        response = staff_client.post(reverse("warehouse:stock_in"), data, headers=headers)

        assert response.status_code == 200
        assertContains(response, message)
    assert not Movement.objects.exists()


def test_stock_in_of_a_serial_already_in_stock_is_refused(staff_client, storage, router):
    """A serial that is already on a shelf cannot be booked in again; nothing is booked."""
    cable = ProductFactory(sku="CAB-1")
    before = Movement.objects.count()
    data = stock_in_post(
        storage,
        [
            {"product": cable.sku, "quantity": "5", "unit_cost": "1"},
            {"product": router.sku, "unit_cost": "80", "serials": "R-9\nR-2"},
        ],
    )

    response = staff_client.post(reverse("warehouse:stock_in"), data, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "RTR-1 already has these serial numbers: R-2 (New).")
    assertNotContains(response, "<html")
    assert Movement.objects.count() == before


def test_stock_in_traceable_without_serials_is_refused(staff_client, storage):
    router = ProductFactory(sku="RTR-1", traceable=True)
    data = stock_in_post(storage, [{"product": router.sku, "quantity": "2", "unit_cost": "80"}])

    response = staff_client.post(reverse("warehouse:stock_in"), data)

    assertContains(response, "RTR-1 is traceable: give its serial numbers.")
    assert not Movement.objects.exists()


def test_stock_in_without_any_line_asks_for_one(staff_client, storage):
    data = stock_in_post(storage, [{}, {}])

    response = staff_client.post(reverse("warehouse:stock_in"), data)

    assertContains(response, "Add at least one product to book.")
    assert not Movement.objects.exists()


def test_stock_in_does_not_offer_inactive_products(staff_client, storage):
    """An inactive product typed by its SKU is refused on its line; nothing is booked."""
    old = ProductFactory(sku="OLD-1", active=False)

    page = staff_client.get(reverse("warehouse:stock_in"))
    response = staff_client.post(
        reverse("warehouse:stock_in"),
        stock_in_post(storage, [{"product": old.sku, "quantity": "1", "unit_cost": "1"}]),
    )

    assertNotContains(page, "OLD-1")
    assertContains(response, "No active product has SKU “OLD-1”.")
    assert not Movement.objects.exists()


# --------------------------------------------------------------------------- stock dialogs

DIALOGS = {
    "stock_remove": "Remove stock",
    "stock_move": "Move stock",
    "stock_isolate": "Isolate into quarantine",
    "stock_adjust": "Adjust to a count",
}


@pytest.fixture
def quarantine(warehouse):
    return LocationFactory(
        warehouse=warehouse, code="Q", name="Quarantine", kind=Location.Kind.QUARANTINE
    )


@pytest.fixture
def shelf(warehouse):
    return LocationFactory(warehouse=warehouse, code="A-01", name="Shelf A")


def dialog_post(name, storage, quantity, *, shelf=None, quarantine=None, reason="Broken") -> dict:
    """A filled-in dialog for `quantity` of the cable taken from storage."""
    return {
        "stock_remove": {"location": str(storage), "quantity": quantity, "reason": reason},
        "stock_move": {
            "source": str(storage),
            "destination": str(shelf) if shelf else "",
            "quantity": quantity,
            "reason": reason,
        },
        "stock_isolate": {
            "location": str(storage),
            "quarantine": quarantine.pk if quarantine else "",
            "quantity": quantity,
            "reason": reason,
        },
        "stock_adjust": {
            "location": str(storage),
            "counted": quantity,
            "unit_cost": "",
            "reason": reason,
        },
    }[name]


@pytest.mark.parametrize("name", DIALOGS)
def test_dialog_opened_by_htmx_is_only_the_dialog(staff_client, cable, name):
    """Opened from the product page, a dialog answers with its form alone, for the <dialog>."""
    response = staff_client.get(reverse(f"warehouse:{name}", args=[cable.pk]), headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<form")
    assert "<html" not in html
    assertContains(response, f"{DIALOGS[name]} · CAB-1")
    assertContains(response, 'hx-target="#dialog"')


@pytest.mark.parametrize("name", DIALOGS)
def test_dialog_without_javascript_is_a_whole_page(staff_client, cable, name):
    """Without htmx the same link opens a full page with the form: it works without JavaScript."""
    response = staff_client.get(reverse(f"warehouse:{name}", args=[cable.pk]))

    assertContains(response, "<html")
    assertContains(response, f"{DIALOGS[name]} · CAB-1")


@pytest.mark.parametrize("name", ["stock_remove", "stock_move", "stock_isolate"])
def test_dialog_opened_from_a_location_has_it_chosen(staff_client, cable, storage, name):
    """The Move / Isolate / Remove button of a location row opens the dialog with that location."""
    url = reverse(f"warehouse:{name}", args=[cable.pk])

    response = staff_client.get(url, {"location": storage.pk}, headers=HTMX)

    field = "source" if name == "stock_move" else "location"
    assertContains(response, f'name="{field}" value="main/STOCK"')


@pytest.mark.parametrize(
    ("name", "quantity", "expected"),
    [
        ("stock_remove", "3", {"STOCK": 7, "A-01": 0, "Q": 0}),
        ("stock_move", "3", {"STOCK": 7, "A-01": 3, "Q": 0}),
        ("stock_isolate", "3", {"STOCK": 7, "A-01": 0, "Q": 3}),
        ("stock_adjust", "7", {"STOCK": 7, "A-01": 0, "Q": 0}),
    ],
)
def test_dialog_booked_by_htmx_sends_the_browser_to_the_product(
    staff_client, cable, storage, shelf, quarantine, name, quantity, expected
):
    """A valid dialog books the movement and tells htmx to open the product page."""
    data = dialog_post(name, storage, quantity, shelf=shelf, quarantine=quarantine)

    response = staff_client.post(reverse(f"warehouse:{name}", args=[cable.pk]), data, headers=HTMX)

    assert response.status_code == 200
    assert response["HX-Redirect"] == cable.get_absolute_url()
    assert {loc.code: quantity_at(cable, loc) for loc in (storage, shelf, quarantine)} == expected
    assert Movement.objects.filter(product=cable).latest("id").actor.username == "stella"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("stock_remove", "Remove: 3 × CAB-1."),
        ("stock_move", "Move: 3 × CAB-1."),
        ("stock_isolate", "Isolate: 3 × CAB-1."),
        ("stock_adjust", "Adjusted CAB-1 in main/STOCK by −7."),
    ],
)
def test_dialog_booked_without_javascript_redirects_with_a_message(
    staff_client, cable, storage, shelf, quarantine, name, message
):
    """Posted without htmx, a valid dialog redirects to the product page saying what it booked."""
    data = dialog_post(name, storage, "3", shelf=shelf, quarantine=quarantine)

    response = staff_client.post(reverse(f"warehouse:{name}", args=[cable.pk]), data, follow=True)

    assertRedirects(response, cable.get_absolute_url())
    assertContains(response, message)


@pytest.mark.parametrize("name", ["stock_remove", "stock_move", "stock_isolate"])
def test_dialog_asking_more_than_in_stock_is_refused_in_the_form(
    staff_client, cable, storage, shelf, quarantine, name
):
    """Asking more than the location holds answers the dialog again with why, and books nothing."""
    before = Movement.objects.count()
    data = dialog_post(name, storage, "11", shelf=shelf, quarantine=quarantine)

    response = staff_client.post(reverse(f"warehouse:{name}", args=[cable.pk]), data, headers=HTMX)

    assert response.status_code == 200
    assert "HX-Redirect" not in response
    assertContains(
        response, "Not enough CAB-1 (Patch cable) in main/STOCK: 10 available, 11 asked."
    )
    assertContains(response, 'class="errorlist"')
    assertNotContains(response, "<html")
    assert Movement.objects.count() == before
    assert quantity_at(cable, storage) == 10


@pytest.mark.parametrize("name", DIALOGS)
def test_dialog_without_a_reason_is_refused_in_the_form(
    staff_client, cable, storage, shelf, quarantine, name
):
    """A required field left empty answers 200 with the field's error and books nothing."""
    before = Movement.objects.count()
    data = dialog_post(name, storage, "1", shelf=shelf, quarantine=quarantine, reason="")
    if name == "stock_move":
        data["destination"] = ""  # the reason of a move is optional; its destination is not

    response = staff_client.post(reverse(f"warehouse:{name}", args=[cable.pk]), data, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "This field is required.")
    assert Movement.objects.count() == before


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        (
            "stock_move",
            {"destination": "storage"},
            "The destination is the location the goods are already in.",
        ),
        ("stock_remove", {"quantity": "0.5"}, "CAB-1 is counted in pieces: 0.5 is not whole."),
        (
            "stock_isolate",
            {"quarantine": "other"},
            "The quarantine must be in the same warehouse as the goods.",
        ),
        ("stock_adjust", {"counted": "-1"}, "Ensure this value is greater than or equal to 0."),
    ],
)
def test_dialog_refused_by_the_rules_answers_with_the_reason(
    staff_client, cable, storage, shelf, quarantine, name, change, message
):
    """What the service refuses comes back in the dialog, nothing booked."""
    before = Movement.objects.count()
    other_quarantine = LocationFactory(code="Q2", kind=Location.Kind.QUARANTINE)
    places = {"storage": str(storage), "other": other_quarantine.pk}
    data = dialog_post(name, storage, "1", shelf=shelf, quarantine=quarantine)
    data.update({k: places.get(v, v) for k, v in change.items()})

    response = staff_client.post(reverse(f"warehouse:{name}", args=[cable.pk]), data, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, message)
    assert Movement.objects.count() == before


def test_remove_of_devices_takes_their_serials(staff_client, router, storage):
    """A traceable product is removed by serial number, pasted one per line."""
    url = reverse("warehouse:stock_remove", args=[router.pk])

    form = staff_client.get(url, headers=HTMX)
    response = staff_client.post(
        url,
        {"location": str(storage), "serials": "R-1\r\nR-3\r\n", "reason": "Broken"},
        headers=HTMX,
    )

    assertContains(form, 'name="serials"')
    assertNotContains(form, 'name="quantity"')
    assert response["HX-Redirect"] == router.get_absolute_url()
    assert quantity_at(router, storage) == 1
    removed = Movement.objects.filter(product=router, action=Movement.Action.REMOVE)
    assert sorted(removed.values_list("serial", flat=True)) == ["R-1", "R-3"]


def test_remove_of_a_device_that_is_not_there_is_refused(staff_client, router, storage):
    before = Movement.objects.count()

    response = staff_client.post(
        reverse("warehouse:stock_remove", args=[router.pk]),
        {"location": str(storage), "serials": "R-1\nR-9", "reason": "Broken"},
        headers=HTMX,
    )

    assert response.status_code == 200
    assertContains(response, "RTR-1 has no device R-9.")
    assert Movement.objects.count() == before


def test_adjust_of_a_traceable_product_is_refused(staff_client, router, storage):
    """Devices are not adjusted by a count: the dialog says so and nothing is booked."""
    before = Movement.objects.count()

    response = staff_client.post(
        reverse("warehouse:stock_adjust", args=[router.pk]),
        {"location": str(storage), "counted": "5", "reason": "Count"},
        headers=HTMX,
    )

    assert response.status_code == 200
    assertContains(response, "RTR-1 is traceable: adjust its devices one by one, not by a count.")
    assert Movement.objects.count() == before


def test_adjust_up_books_the_gain_at_the_given_cost(staff_client, cable, storage):
    response = staff_client.post(
        reverse("warehouse:stock_adjust", args=[cable.pk]),
        {"location": str(storage), "counted": "12", "unit_cost": "3", "reason": "Found"},
        follow=True,
    )

    assertContains(response, "Adjusted CAB-1 in main/STOCK by +2.")
    gain = Movement.objects.get(action=Movement.Action.ADJUST_UP)
    assert (gain.quantity, gain.unit_cost) == (2, 3)
    assert quantity_at(cable, storage) == 12


def test_adjust_to_the_booked_quantity_books_nothing(staff_client, cable, storage):
    before = Movement.objects.count()

    response = staff_client.post(
        reverse("warehouse:stock_adjust", args=[cable.pk]),
        {"location": str(storage), "counted": "10", "reason": "Stocktake"},
        follow=True,
    )

    assertContains(
        response, "The count of CAB-1 in main/STOCK agrees with the books: nothing booked."
    )
    assert Movement.objects.count() == before


# --------------------------------------------------------------------------- activity


@pytest.fixture
def history(staff_user, storage, shelf):
    """Three days of bookings by two users, in two locations."""
    cable = ProductFactory(sku="CAB-1")
    router = ProductFactory(sku="RTR-1", traceable=True)
    other = UserFactory(username="olga")
    book_in(storage, cable, 10, actor=staff_user, now=datetime(2025, 3, 1, 9, tzinfo=UTC))
    book_in(
        storage,
        router,
        None,
        actor=other,
        serials=["R-1"],
        reference="PO-77",
        now=datetime(2025, 3, 2, 9, tzinfo=UTC),
    )
    services.stock_move(
        actor=other,
        product=cable,
        source=storage,
        destination=shelf,
        quantity=Decimal(4),
        now=datetime(2025, 3, 3, 9, tzinfo=UTC),
    )
    return cable, router


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ({}, ["CAB-1", "RTR-1", "CAB-1"]),
        ({"product": "rtr-1"}, ["RTR-1"]),
        ({"product": "R-1"}, ["RTR-1"]),
        ({"product": " r-1 "}, ["RTR-1"]),
        ({"product": "\uff52\u200b-1"}, ["RTR-1"]),
        ({"product": "ｒtr-1"}, ["RTR-1"]),
        ({"product": "R-404"}, []),
        ({"action": "move"}, ["CAB-1"]),
        ({"actor": "STELLA"}, ["CAB-1"]),
        ({"actor": "olga"}, ["CAB-1", "RTR-1"]),
        ({"reference": "po-7"}, ["RTR-1"]),
        ({"date_from": "2025-03-02"}, ["CAB-1", "RTR-1"]),
        ({"date_to": "2025-03-02"}, ["RTR-1", "CAB-1"]),
        ({"date_from": "2025-03-02", "date_to": "2025-03-02"}, ["RTR-1"]),
        ({"date_from": "2025-04-01"}, []),
    ],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else None,
)
def test_activity_filters_movements(staff_client, history, query, shown):
    """Newest first, narrowed by product or serial, action, user, reference and dates."""
    response = staff_client.get(reverse("warehouse:activity"), query)

    assert response.status_code == 200
    assert activity_skus(response) == shown


def test_activity_filters_by_location_on_either_side(staff_client, history, shelf, storage):
    """A location typed as CODE or WAREHOUSE/CODE, in any case, shows what came and went."""
    url = reverse("warehouse:activity")
    on_shelf = staff_client.get(url, {"location": shelf.code})
    in_storage = staff_client.get(
        url, {"location": f"{storage.warehouse.code}/{storage.code}".lower()}
    )
    elsewhere = staff_client.get(url, {"location": f"NOWHERE/{storage.code}"})

    assert activity_skus(on_shelf) == ["CAB-1"]
    assert activity_skus(in_storage) == ["CAB-1", "RTR-1", "CAB-1"]
    assert activity_skus(elsewhere) == []
    assertContains(on_shelf, "<label>Location ")
    assertContains(elsewhere, "No movement matches.")


def test_activity_pages_without_counting_the_ledger(staff_client, history):
    """The activity page never counts the ledger: its cost is its page, not the ledger."""
    url = reverse("warehouse:activity")
    with CaptureQueriesContext(connection) as first:
        page_one = staff_client.get(url, {"per_page": 5})
    with CaptureQueriesContext(connection) as all_rows:
        staff_client.get(url, {"per_page": 500})

    assert not [
        q for q in first.captured_queries if "COUNT(*)" in q["sql"] and "movement" in q["sql"]
    ]
    assert len(first) == len(all_rows)
    assertContains(page_one, "3 movements.")


def test_activity_shows_one_booking_by_its_batch(staff_client, storage):
    """After a stock-in, the activity page shows that booking's lines only."""
    book_in(storage, ProductFactory(sku="OLD-1"), 1)
    movements = services.stock_in(
        actor=None,
        location=storage,
        lines=[
            services.StockInLine(
                product=ProductFactory(sku=sku), quantity=Decimal(2), unit_cost=Decimal(1)
            )
            for sku in ("NEW-1", "NEW-2")
        ],
    )

    response = staff_client.get(reverse("warehouse:activity"), {"batch": str(movements[0].batch)})

    assert sorted(activity_skus(response)) == ["NEW-1", "NEW-2"]
    assertContains(response, "Showing one booking.")


def test_activity_links_leave_the_boosted_table(staff_client, history):
    """Product links and "Show all activity" load whole pages, not a page inside the table."""
    cable, _ = history
    one = Movement.objects.filter(product=cable).first()

    response = staff_client.get(
        reverse("warehouse:activity"), {"batch": str(one.batch)}, headers=HTMX
    )

    assert 'hx-boost="false"' in link_tag(response, cable.get_absolute_url())
    assert 'hx-boost="false"' in link_tag(response, "/activity/")


def test_activity_with_a_malformed_batch_shows_nothing(staff_client, storage):
    book_in(storage, ProductFactory(sku="CAB-1"), 1)

    response = staff_client.get(reverse("warehouse:activity"), {"batch": "not-a-batch"})

    assert response.status_code == 200
    assert activity_skus(response) == []


def test_activity_answers_htmx_with_the_table_only(staff_client, history):
    response = staff_client.get(reverse("warehouse:activity"), {"action": "move"}, headers=HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="activity-table"')
    assert "<html" not in html
    assert activity_skus(response) == ["CAB-1"]


def test_activity_names_who_moved_what_and_why(staff_client, history):
    response = staff_client.get(reverse("warehouse:activity"), {"product": "RTR-1"})

    row = table_rows(response, "activity")[0]
    assert row[1:4] == ["Stock-in", "RTR-1 #R-1", "1"]
    assert row[4:6] == ["main/~SUPPLIER", "main/STOCK"]
    assert row[7:] == ["olga", "PO-77"]


# --------------------------------------------------------------------------- incoming


def test_incoming_lists_goods_waiting_with_a_put_away_link(staff_client, warehouse):
    """Goods booked into incoming are listed with a Put away button that opens the move dialog."""
    dock = LocationFactory(warehouse=warehouse, code="IN", kind=Location.Kind.INCOMING)
    cable = ProductFactory(sku="CAB-1", name="Patch cable")
    book_in(dock, cable, 6)
    book_in(storage_of(warehouse), ProductFactory(sku="ELSEWHERE"), 1)

    response = staff_client.get(reverse("warehouse:incoming"))

    assert [row[:3] for row in table_rows(response, "incoming")] == [
        ["main/IN", "CAB-1 Patch cable", "6"]
    ]
    move_url = reverse("warehouse:stock_move", args=[cable.pk]) + f"?location={dock.pk}"
    assertContains(response, f'href="{move_url}"')
    assertContains(response, f'hx-get="{move_url}"')
    dialog = staff_client.get(move_url, headers=HTMX)
    assertContains(dialog, 'name="source" value="main/IN"')


def test_incoming_put_away_empties_the_list(staff_client, warehouse, storage):
    dock = LocationFactory(warehouse=warehouse, code="IN", kind=Location.Kind.INCOMING)
    cable = ProductFactory(sku="CAB-1")
    book_in(dock, cable, 6)

    staff_client.post(
        reverse("warehouse:stock_move", args=[cable.pk]),
        {"source": str(dock), "destination": str(storage), "quantity": "6"},
    )
    response = staff_client.get(reverse("warehouse:incoming"))

    assertContains(response, "Nothing waiting to be put away.")
    assert quantity_at(cable, storage) == 6


def test_incoming_shows_no_put_away_to_a_billing_clerk(clerk_client, warehouse):
    dock = LocationFactory(warehouse=warehouse, code="IN", kind=Location.Kind.INCOMING)
    book_in(dock, ProductFactory(sku="CAB-1"), 6)

    response = clerk_client.get(reverse("warehouse:incoming"))

    assertContains(response, "CAB-1")
    assertNotContains(response, "Put away")


# --------------------------------------------------------------------------- products


def logged_in(user) -> Client:
    """A client of its own for `user` (staff_client and clerk_client share one)."""
    client = Client()
    client.force_login(user)
    return client


def product_skus(response) -> list[str]:
    """The SKUs of the products table, in the order shown."""
    return [row[0] for row in table_rows(response, "products")]


def test_product_list_shows_and_searches_products(staff_client, db):
    """Each product with its unit, traceability and status, its SKU linking to its page."""
    cable = ProductFactory(sku="CAB-1", name="Patch cable")
    ProductFactory(sku="RTR-1", name="Router", traceable=True)

    everything = staff_client.get(reverse("warehouse:product_list"))
    found = staff_client.get(reverse("warehouse:product_list"), {"q": "patch"})
    by_sku = staff_client.get(reverse("warehouse:product_list"), {"q": "rtr"})

    assert table_rows(everything, "products") == [
        ["CAB-1", "Patch cable", "pieces", "", "active", "Edit"],
        ["RTR-1", "Router", "pieces", "traceable", "active", "Edit"],
    ]
    assert 'hx-boost="false"' in link_tag(everything, cable.get_absolute_url())
    assert product_skus(found) == ["CAB-1"]
    assert product_skus(by_sku) == ["RTR-1"]
    assertContains(everything, "2 products.")


def test_product_list_shows_inactive_products_until_filtered(staff_client, db):
    """Every product is listed by default, inactive ones marked; the status filter narrows."""
    ProductFactory(sku="NEW-1")
    ProductFactory(sku="OLD-1", active=False)

    default = staff_client.get(reverse("warehouse:product_list"))
    active = staff_client.get(reverse("warehouse:product_list"), {"active": "true"})
    inactive = staff_client.get(reverse("warehouse:product_list"), {"active": "false"})

    assert product_skus(default) == ["NEW-1", "OLD-1"]
    assert table_rows(default, "products")[1][4] == "inactive"
    assert product_skus(active) == ["NEW-1"]
    assert product_skus(inactive) == ["OLD-1"]


def test_product_list_filtered_by_traceable_or_counted(staff_client, db):
    ProductFactory(sku="CAB-1")
    ProductFactory(sku="RTR-1", traceable=True)

    traceable = staff_client.get(reverse("warehouse:product_list"), {"traceable": "true"})
    counted = staff_client.get(reverse("warehouse:product_list"), {"traceable": "false"})
    nothing = staff_client.get(reverse("warehouse:product_list"), {"q": "no such thing"})

    assert product_skus(traceable) == ["RTR-1"]
    assert product_skus(counted) == ["CAB-1"]
    assert product_skus(nothing) == ["No product matches."]


def test_product_list_pages_through_the_catalogue(staff_client, db):
    """25 products a page by default; the next page shows the following ones."""
    Product.objects.bulk_create(Product(sku=f"P-{n:02d}", name=f"Part {n}") for n in range(30))

    first = staff_client.get(reverse("warehouse:product_list"))
    second = follow(staff_client, first, "next")
    bigger = staff_client.get(reverse("warehouse:product_list"), {"per_page": 50})

    assert product_skus(first) == [f"P-{n:02d}" for n in range(25)]
    assert product_skus(second) == [f"P-{n:02d}" for n in range(25, 30)]
    assert len(product_skus(bigger)) == 30
    assertContains(first, "Products 1–25; more on the next pages.")
    assert link(first, "next").startswith("/products/?after=")
    assertContains(second, "Products 26–30.")


def test_product_list_sorts_by_a_column(staff_client, db):
    """Clicking a heading sorts by it, either way; ties fall back to the SKU."""
    ProductFactory(sku="A-1", name="Zebra")
    ProductFactory(sku="B-1", name="Apple")
    ProductFactory(sku="C-1", name="Mango", traceable=True)

    by_name = staff_client.get(reverse("warehouse:product_list"), {"sort": "name"})
    by_sku_desc = staff_client.get(reverse("warehouse:product_list"), {"sort": "-sku"})
    traceable_last = staff_client.get(reverse("warehouse:product_list"), {"sort": "traceable"})

    assert product_skus(by_name) == ["B-1", "C-1", "A-1"]
    assert product_skus(by_sku_desc) == ["C-1", "B-1", "A-1"]
    assert product_skus(traceable_last) == ["A-1", "B-1", "C-1"]
    assertContains(by_name, 'href="?sort=-name"')


def test_product_list_answers_htmx_with_the_table_only(staff_client, db):
    """A filter change sent by htmx gets the #product-table part, its export link filtered."""
    ProductFactory(sku="CAB-1")
    ProductFactory(sku="RTR-1")

    response = staff_client.get(reverse("warehouse:product_list"), {"q": "CAB"}, headers=HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="product-table"')
    assert '<form class="filters' not in html
    assert product_skus(response) == ["CAB-1"]
    assert 'href="?q=CAB&amp;format=csv"' in html


def test_product_list_offers_edit_only_to_who_may_edit(staff_user, clerk_user):
    product = ProductFactory(sku="CAB-1")
    edit = reverse("warehouse:product_edit", args=[product.pk])

    staff = logged_in(staff_user).get(reverse("warehouse:product_list"))
    clerk = logged_in(clerk_user).get(reverse("warehouse:product_list"))

    assertContains(staff, f'href="{edit}"')
    assertContains(staff, "New product")
    assertNotContains(clerk, f'href="{edit}"')
    assertNotContains(clerk, "New product")
    assert product_skus(clerk) == ["CAB-1"]


def test_product_and_location_forms_lead_back_where_they_came_from(staff_client, cable):
    """Each form page has Back and Cancel: to the products list, the product, the locations."""
    pages = {
        reverse("warehouse:product_create"): reverse("warehouse:product_list"),
        reverse("warehouse:product_edit", args=[cable.pk]): cable.get_absolute_url(),
        reverse("warehouse:location_create"): reverse("warehouse:location_list"),
    }
    for page, back in pages.items():
        html = staff_client.get(page).content.decode()
        assert f'<a href="{back}">← Back</a>' in html, page
        assert f'<a class="button" href="{back}">Cancel</a>' in html, page


def test_product_create_opens_the_new_product(staff_client, db):
    response = staff_client.post(
        reverse("warehouse:product_create"),
        {"sku": "CAB-9", "name": "Cable", "description": "", "unit": "m", "active": "on"},
        follow=True,
    )

    product = Product.objects.get(sku="CAB-9")
    assertRedirects(response, product.get_absolute_url())
    assertContains(response, "Saved CAB-9 · Cable.")
    assert (product.unit, product.traceable, product.active) == ("m", False, True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sku": "CAB-1"}, "SKU CAB-1 already exists ("),
        ({"sku": "cab-1\u200b"}, "SKU CAB-1 already exists ("),
        ({"traceable": "on", "unit": "m"}, "A traceable product is counted in pieces."),
        ({"name": ""}, "This field is required."),
    ],
)
def test_product_create_refuses_bad_input(staff_client, db, data, message):
    ProductFactory(sku="CAB-1")
    before = Product.objects.count()

    response = staff_client.post(
        reverse("warehouse:product_create"),
        {"sku": "NEW-1", "name": "New", "unit": "pcs", "active": "on", **data},
    )

    assert response.status_code == 200
    assertContains(response, message)
    assert Product.objects.count() == before


def test_product_edit_saves_changes(staff_client, cable):
    response = staff_client.post(
        reverse("warehouse:product_edit", args=[cable.pk]),
        {"sku": "CAB-1", "name": "Patch cable, blue", "unit": "pcs", "active": "on"},
    )

    assertRedirects(response, cable.get_absolute_url(), fetch_redirect_response=False)
    cable.refresh_from_db()
    assert cable.name == "Patch cable, blue"


def test_product_traceability_cannot_change_once_stock_was_booked(staff_client, cable):
    """Once stock was booked, the product stays counted (or traceable)."""
    response = staff_client.post(
        reverse("warehouse:product_edit", args=[cable.pk]),
        {"sku": "CAB-1", "name": "Patch cable", "unit": "pcs", "traceable": "on", "active": "on"},
    )

    assert response.status_code == 200
    assertContains(response, "Stock has been booked: traceability can no longer change.")
    cable.refresh_from_db()
    assert not cable.traceable


def test_product_traceability_can_change_before_any_stock(staff_client, db):
    product = ProductFactory(sku="NEW-1")

    staff_client.post(
        reverse("warehouse:product_edit", args=[product.pk]),
        {"sku": "NEW-1", "name": "New", "unit": "pcs", "traceable": "on", "active": "on"},
    )

    product.refresh_from_db()
    assert product.traceable


# --------------------------------------------------------------------------- locations


def test_location_list_shows_real_locations_with_their_stock(staff_client, cable, shelf, storage):
    """Locations list the real places with how many products and how much they hold."""
    services.stock_move(
        actor=None, product=cable, source=storage, destination=shelf, quantity=Decimal(4)
    )

    response = staff_client.get(reverse("warehouse:location_list"))

    rows = {row[1]: row for row in table_rows(response, "location-list")}
    assert set(rows) == {"STOCK", "A-01"}  # no virtual locations
    assert rows["A-01"][2:6] == ["Shelf A", "Storage", "1", "4"]
    assert rows["STOCK"][4:6] == ["1", "6"]
    assertContains(response, "2 locations.")


def location_codes(response) -> list[str]:
    """The codes of the locations table, in the order shown."""
    return [row[1] for row in table_rows(response, "location-list")]


def test_location_list_counts_only_products_still_held(staff_client, cable, shelf, storage):
    """A location emptied of a product no longer counts it; an empty one shows 0."""
    services.stock_move(
        actor=None, product=cable, source=storage, destination=shelf, quantity=Decimal(10)
    )

    rows = {
        row[1]: row
        for row in table_rows(staff_client.get(reverse("warehouse:location_list")), "location-list")
    }

    assert rows["STOCK"][4:6] == ["0", "0"]
    assert rows["A-01"][4:6] == ["1", "10"]


def test_location_list_filters_by_warehouse_text_kind_and_status(staff_client, warehouse):
    north = WarehouseFactory(code="north", name="North depot")
    LocationFactory(warehouse=warehouse, code="A-01", name="Shelf A")
    LocationFactory(warehouse=warehouse, code="Q-01", name="Broken", kind=Location.Kind.QUARANTINE)
    LocationFactory(warehouse=warehouse, code="OLD", name="Old shelf", active=False)
    LocationFactory(warehouse=north, code="B-01", name="Shelf B")
    url = reverse("warehouse:location_list")

    def codes(**query):
        return location_codes(staff_client.get(url, query))

    assert codes() == ["A-01", "OLD", "Q-01", "STOCK", "B-01", "STOCK"]
    assert codes(warehouse=north.pk) == ["B-01", "STOCK"]
    assert codes(q="shelf") == ["A-01", "OLD", "B-01"]
    assert codes(q="q-0") == ["Q-01"]
    assert codes(kind="quarantine") == ["Q-01"]
    assert codes(active="false") == ["OLD"]
    assert codes(active="true", warehouse=warehouse.pk, kind="storage") == ["A-01", "STOCK"]
    nothing = staff_client.get(url, {"q": "nothing like it"})
    assert table_rows(nothing, "location-list") == [["No location matches."]]
    inactive = table_rows(staff_client.get(url, {"active": "false"}), "location-list")[0]
    assert inactive[2] == "Old shelf inactive"


def test_location_list_pages_and_sorts(staff_client, cable, storage):
    """25 locations a page; the next page shows the rest; a heading sorts by its column."""
    for n in range(29):
        LocationFactory(warehouse=storage.warehouse, code=f"S-{n:02d}")
    services.stock_move(
        actor=None,
        product=cable,
        source=storage,
        destination=Location.objects.get(code="S-07"),
        quantity=Decimal(3),
    )
    url = reverse("warehouse:location_list")

    first = staff_client.get(url)
    second = staff_client.get(url, {"page": 2})
    fullest = staff_client.get(url, {"sort": "-quantity", "per_page": 5})
    last_by_code = staff_client.get(url, {"sort": "-code", "page": 2})

    assert location_codes(first) == [f"S-{n:02d}" for n in range(25)]
    assert location_codes(second) == ["S-25", "S-26", "S-27", "S-28", "STOCK"]
    assertContains(first, "30 locations.")
    assertContains(first, 'href="?page=2"')
    assert location_codes(fullest)[:2] == ["STOCK", "S-07"]
    assert table_rows(fullest, "location-list")[1][5] == "3"
    assert location_codes(last_by_code) == ["S-04", "S-03", "S-02", "S-01", "S-00"]


def test_location_list_answers_htmx_with_the_table_only(staff_client, shelf):
    response = staff_client.get(reverse("warehouse:location_list"), {"q": "A-"}, headers=HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="location-table"')
    assert "<form" not in html
    assert location_codes(response) == ["A-01"]


def test_location_list_offers_edit_only_to_who_may_edit(staff_user, clerk_user, shelf):
    edit = reverse("warehouse:location_edit", args=[shelf.pk])

    staff = logged_in(staff_user).get(reverse("warehouse:location_list"))
    clerk = logged_in(clerk_user).get(reverse("warehouse:location_list"))

    assertContains(staff, f'href="{edit}"')
    assertContains(staff, "New location")
    assertNotContains(clerk, f'href="{edit}"')
    assertNotContains(clerk, "New location")
    assert "A-01" in location_codes(clerk)


def test_location_create_adds_a_shelf(staff_client, warehouse):
    response = staff_client.post(
        reverse("warehouse:location_create"),
        {
            "warehouse": warehouse.pk,
            "code": "B-02",
            "name": "Shelf B",
            "kind": "storage",
            "active": "on",
        },
    )

    assertRedirects(response, reverse("warehouse:location_list"), fetch_redirect_response=False)
    assert Location.objects.get(code="B-02").kind == Location.Kind.STORAGE


def test_location_create_refuses_a_code_already_in_the_warehouse(staff_client, warehouse):
    response = staff_client.post(
        reverse("warehouse:location_create"),
        {"warehouse": warehouse.pk, "code": "STOCK", "name": "Again", "kind": "storage"},
    )

    assert response.status_code == 200
    assertContains(response, "Location with this Warehouse and Code already exists.")
    assert not Location.objects.filter(name="Again").exists()


def test_location_create_offers_real_kinds_only(staff_client, warehouse):
    response = staff_client.post(
        reverse("warehouse:location_create"),
        {"warehouse": warehouse.pk, "code": "X", "name": "X", "kind": "supplier", "active": "on"},
    )

    assert response.status_code == 200
    assertContains(response, "Select a valid choice.")
    assert not Location.objects.filter(code="X").exists()


def test_location_kind_cannot_change_once_stock_was_booked(staff_client, cable, storage):
    """A storage location that held stock cannot become a quarantine."""
    response = staff_client.post(
        reverse("warehouse:location_edit", args=[storage.pk]),
        {
            "warehouse": storage.warehouse_id,
            "code": "STOCK",
            "name": "Main storage",
            "kind": "quarantine",
            "active": "on",
        },
    )

    assert response.status_code == 200
    assertContains(response, "Stock has been booked here: the kind can no longer change.")
    storage.refresh_from_db()
    assert storage.kind == Location.Kind.STORAGE


@pytest.mark.parametrize("code", ["~SOLD", " ~X"])
def test_location_form_keeps_tilde_codes_for_virtual_locations(staff_client, shelf, code):
    """`~` codes name the virtual locations: neither a new nor an edited location takes one."""
    data = {"warehouse": shelf.warehouse_id, "name": "Sneaky", "kind": "storage", "active": "on"}
    created = staff_client.post(reverse("warehouse:location_create"), {**data, "code": code})
    edited = staff_client.post(
        reverse("warehouse:location_edit", args=[shelf.pk]), {**data, "code": code}
    )

    for response in (created, edited):
        assert response.status_code == 200
        assert response.context["form"].errors["code"] == [
            "Codes starting with ~ are kept for virtual locations."
        ]
    shelf.refresh_from_db()
    assert shelf.code == "A-01"
    assert not Location.objects.filter(name="Sneaky").exists()


def test_location_edit_turns_no_real_location_into_a_virtual_one(staff_client, shelf):
    response = staff_client.post(
        reverse("warehouse:location_edit", args=[shelf.pk]),
        {"warehouse": shelf.warehouse_id, "code": "A-01", "name": "A", "kind": "installed"},
    )

    assert response.status_code == 200
    assert "kind" in response.context["form"].errors
    shelf.refresh_from_db()
    assert shelf.kind == Location.Kind.STORAGE


def test_a_virtual_location_has_no_edit_page(staff_client, warehouse):
    installed = Location.objects.get(warehouse=warehouse, kind=Location.Kind.INSTALLED)
    url = reverse("warehouse:location_edit", args=[installed.pk])
    assert staff_client.post(url, {"kind": "storage"}).status_code == 404
    installed.refresh_from_db()
    assert installed.kind == Location.Kind.INSTALLED


def test_the_location_form_keeps_a_virtual_location_virtual(warehouse):
    """The admin edits locations with the same form: its rule names the virtual location."""
    installed = Location.objects.get(warehouse=warehouse, kind=Location.Kind.INSTALLED)
    form = LocationForm(
        {"warehouse": warehouse.pk, "code": installed.code, "name": "x", "kind": "storage"},
        instance=installed,
    )

    assert not form.is_valid()
    assert form.errors["kind"] == [f"{installed} is a virtual location: its kind cannot change."]


def test_location_kind_can_change_while_empty(staff_client, shelf):
    response = staff_client.post(
        reverse("warehouse:location_edit", args=[shelf.pk]),
        {
            "warehouse": shelf.warehouse_id,
            "code": "A-01",
            "name": "Shelf A",
            "kind": "quarantine",
            "active": "on",
        },
    )

    assert response.status_code == 302
    shelf.refresh_from_db()
    assert shelf.kind == Location.Kind.QUARANTINE


def test_virtual_locations_cannot_be_edited(staff_client, warehouse):
    supplier = Location.objects.get(warehouse=warehouse, kind=Location.Kind.SUPPLIER)

    assert (
        staff_client.get(reverse("warehouse:location_edit", args=[supplier.pk])).status_code == 404
    )


# --------------------------------------------------------------------------- query counts


def _grow_products(storage, count):
    """`count` more products, each with stock in `storage` (one stock-in)."""
    start = Product.objects.count()
    products = [ProductFactory(sku=f"G-{start + n:03d}") for n in range(count)]
    services.stock_in(
        actor=None,
        location=storage,
        lines=[
            services.StockInLine(product=p, quantity=Decimal(2), unit_cost=Decimal(1))
            for p in products
        ],
    )


def _grow_movements(storage, count, actor):
    for _ in range(count):
        book_in(storage, ProductFactory(), 1, actor=actor)


def _grow_locations(storage, count):
    product = Product.objects.first() or ProductFactory()
    for _ in range(count):
        book_in(LocationFactory(warehouse=storage.warehouse), product, 1)


def _grow_incoming(storage, count):
    dock = Location.objects.filter(warehouse=storage.warehouse, kind=Location.Kind.INCOMING).first()
    dock = dock or LocationFactory(
        warehouse=storage.warehouse, code="IN", kind=Location.Kind.INCOMING
    )
    _grow_products(dock, count)


PAGES = {
    "balance": ("warehouse:balance", {"per_page": 100}, _grow_products),
    "balance-one-warehouse": (
        "warehouse:balance",
        {"per_page": 100, "warehouse": "mine"},
        _grow_products,
    ),
    "activity": ("warehouse:activity", {"per_page": 100}, _grow_movements),
    "product-list": ("warehouse:product_list", {"per_page": 100}, _grow_products),
    "location-list": ("warehouse:location_list", {"per_page": 100}, _grow_locations),
    "incoming": ("warehouse:incoming", {}, _grow_incoming),
}


@pytest.mark.parametrize("page", PAGES)
def test_list_page_query_count_does_not_grow_with_rows(
    staff_client, staff_user, storage, django_assert_num_queries, page
):
    """A list page costs the same number of queries with 5 rows as with 50."""
    name, query, grow = PAGES[page]
    query = {k: storage.warehouse_id if v == "mine" else v for k, v in query.items()}
    url = reverse(name)
    args = (staff_user,) if grow is _grow_movements else ()

    grow(storage, 5, *args)
    with CaptureQueriesContext(connection) as five:
        response = staff_client.get(url, query)
    assert response.status_code == 200
    grow(storage, 45, *args)

    with django_assert_num_queries(len(five)):
        response = staff_client.get(url, query)
    assert response.status_code == 200
    rows = len(re.findall(r"<tr[ >]", response.content.decode())) - 1  # less the heading
    assert rows >= 50


# --------------------------------------------------------------------------- roles


@pytest.fixture
def stock_urls(cable):
    return [reverse("warehouse:stock_in")] + [
        reverse(f"warehouse:{name}", args=[cable.pk]) for name in DIALOGS
    ]


def test_billing_clerk_reads_balance_activity_and_products(clerk_client, cable):
    """A billing clerk sees the balance, the activity log, the product page, incoming and lists."""
    for name, args in [
        ("balance", []),
        ("activity", []),
        ("incoming", []),
        ("product_list", []),
        ("location_list", []),
        ("product_detail", [cable.pk]),
    ]:
        response = clerk_client.get(reverse(f"warehouse:{name}", args=args))
        assert response.status_code == 200, name
    assertNotContains(clerk_client.get(reverse("warehouse:balance")), "Stock-in")


def test_billing_clerk_is_refused_every_stock_action(clerk_client, cable, storage, stock_urls):
    """Every stock action answers 403 to a billing clerk, shown or posted; nothing is booked."""
    before = Movement.objects.count()
    for url in stock_urls:
        assert clerk_client.get(url).status_code == 403, url
        assert clerk_client.get(url, headers=HTMX).status_code == 403, url
        data = {"location": str(storage), "quantity": "1", "counted": "0", "reason": "x"}
        assert clerk_client.post(url, data).status_code == 403, url
    assert Movement.objects.count() == before


def test_billing_clerk_cannot_create_or_edit_products(clerk_client, cable):
    create = reverse("warehouse:product_create")
    data = {"sku": "NEW-1", "name": "New", "unit": "pcs", "active": "on"}

    assert clerk_client.get(create).status_code == 403
    assert clerk_client.post(create, data).status_code == 403
    assert clerk_client.get(reverse("warehouse:product_edit", args=[cable.pk])).status_code == 403
    assert clerk_client.get(reverse("warehouse:location_create")).status_code == 403
    assert not Product.objects.filter(sku="NEW-1").exists()


def test_warehouse_staff_may_use_every_stock_action(staff_client, stock_urls):
    for url in stock_urls:
        assert staff_client.get(url).status_code == 200, url


def test_user_without_a_role_is_refused_the_balance(client, db):
    """A logged-in user in no group gets 403 on the balance, not an empty page."""
    client.force_login(UserFactory(username="nobody"))

    assert client.get(reverse("warehouse:balance")).status_code == 403
    assert client.get(reverse("warehouse:activity")).status_code == 403


def test_roles_exist_after_migrating(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {"Warehouse staff", "Billing clerk"}


def test_anonymous_user_is_sent_to_login(client, db):
    response = client.get(reverse("warehouse:balance"))

    assertRedirects(response, reverse("login") + "?next=/stock/", fetch_redirect_response=False)


def test_stock_in_page_creates_a_device_per_serial(staff_client, storage):
    """Booking serials on the stock-in page creates New devices the ledger also counts."""
    product = ProductFactory(sku="CAM-1", traceable=True)

    response = staff_client.post(
        reverse("warehouse:stock_in"),
        _stock_in_post(
            storage,
            [
                {"product": product.sku, "quantity": "", "unit_cost": "30", "serials": "C-1\nC-2"},
            ],
        ),
    )

    assert response.status_code == 302
    assert sorted(Device.objects.filter(product=product).values_list("serial", "state")) == [
        ("C-1", "new"),
        ("C-2", "new"),
    ]
    assert quantity_at(product, storage) == 2


def test_stock_in_names_the_line_of_a_serial_already_known(staff_client, storage, router):
    """A serial the product already has is refused on its own line; nothing is booked."""
    before = Movement.objects.count()

    response = staff_client.post(
        reverse("warehouse:stock_in"),
        _stock_in_post(
            storage,
            [
                {"product": router.sku, "quantity": "", "unit_cost": "30", "serials": "R-7"},
                {"product": router.sku, "quantity": "", "unit_cost": "30", "serials": "R-8\nR-2"},
            ],
        ),
    )

    assert response.status_code == 200
    lines = response.context["lines"]
    assert lines.forms[0].errors == {}
    assert "R-2 (New)" in lines.forms[1].errors["serials"][0]
    assert Movement.objects.count() == before


def test_stock_in_refuses_a_serial_given_on_two_lines(staff_client, storage):
    product = ProductFactory(sku="CAM-2", traceable=True)

    response = staff_client.post(
        reverse("warehouse:stock_in"),
        _stock_in_post(
            storage,
            [
                {"product": product.sku, "quantity": "", "unit_cost": "30", "serials": "X-1"},
                {"product": product.sku, "quantity": "", "unit_cost": "30", "serials": "X-2\nX-1"},
            ],
        ),
    )

    assert response.status_code == 200
    assert response.context["lines"].forms[1].errors["serials"] == ["X-1 is on line 1 already."]
    assert not Device.objects.filter(product=product).exists()


def _stock_in_post(location, rows):
    data = {
        "location": str(location),
        "lines-TOTAL_FORMS": str(len(rows)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "200",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"lines-{index}-{key}"] = value
    return data
