"""A warehouse clerk's day in a real browser: log in, book stock in, find it, remove some."""

import re
from pathlib import Path

import pytest

from tests.roles import role
from tests.warehouse.factories import (
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    book_in,
    storage_of,
)

pytestmark = [
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="Debian's chromium (/usr/bin/chromium) is missing: `make test` installs it",
    ),
    pytest.mark.e2e,
    # The live server reads what the test wrote, so each test commits
    # (tests.roles.role rebuilds the roles a previous flush dropped).
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "a-long-enough-password"


@pytest.fixture
def stocked_site(db):
    """A warehouse, the product to book, another product in stock, and a staff member."""
    warehouse = WarehouseFactory(code="main", name="Main warehouse")
    cable = ProductFactory(sku="CAB-7", name="Patch cable")
    other = ProductFactory(sku="RTR-9", name="Router")
    book_in(storage_of(warehouse), other, 3, "50")
    staff = UserFactory(username="sam", password=PASSWORD)
    staff.groups.add(role("Warehouse staff"))
    return cable


def test_staff_books_stock_in_finds_it_and_removes_some(page, live_server, stocked_site):
    """Booked stock shows in the balance search at once; the Remove dialog refuses too much."""
    from playwright.sync_api import expect

    cable = stocked_site

    # Every page needs a login: the site sends us to the login form.
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Stock balance")).to_be_visible()

    # Stock-in: one line of 12 cables at 2.50.
    page.get_by_role("link", name="Stock-in").click()
    expect(page.get_by_role("heading", name="Stock-in")).to_be_visible()
    # The location is typed (or scanned) by its code, with suggestions as one types.
    location = page.get_by_label("Location")
    location.fill("stoc")
    expect(page.locator("#id_location-suggestions option")).to_have_attribute("value", "main/STOCK")
    location.fill("main/STOCK")
    page.locator("#id_lines-0-product").fill("CAB-7")
    page.locator("#id_lines-0-quantity").fill("12")
    page.locator("#id_lines-0-unit_cost").fill("2.50")
    # An added line suggests products like the rendered ones; left blank, it is skipped.
    page.get_by_role("button", name="Add line").click()
    added = page.locator("#id_lines-3-product")
    added.fill("patch")
    expect(page.locator("#id_lines-3-product-suggestions option")).to_have_attribute(
        "value", "CAB-7"
    )
    added.fill("")
    page.get_by_role("button", name="Book stock-in").click()
    expect(page.get_by_text("Booked 1 product into main/STOCK.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/activity/\?batch="))

    # The balance: typing the SKU narrows the table in place, without reloading the page.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inventory").click()
    expect(page.locator("tr[data-sku='RTR-9']")).to_be_visible()
    page.evaluate("window.sameDocument = true")
    page.get_by_role("searchbox", name="Search").fill("CAB-7")
    expect(page).to_have_url(re.compile(r"[?&]q=CAB-7"))
    expect(page.locator("tr[data-sku='RTR-9']")).to_have_count(0)
    row = page.locator("tr[data-sku='CAB-7']")
    expect(row.locator("td").nth(4)).to_have_text("12")  # in hand
    assert page.evaluate("window.sameDocument") is True

    # The product page, then the Remove dialog.
    row.get_by_role("link", name="CAB-7").click()
    expect(page.get_by_role("heading", name="CAB-7 · Patch cable")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/products/{cable.pk}/$"))
    page.locator(".page-head").get_by_role("link", name="Remove").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Remove stock · CAB-7")).to_be_visible()
    dialog.get_by_label("Location").fill("stock")
    dialog.get_by_label("Quantity").fill("13")
    dialog.get_by_label("Reason").fill("Damaged in transit")
    dialog.get_by_role("button", name="Remove").click()
    expect(dialog.get_by_role("alert")).to_have_text(
        "Not enough CAB-7 (Patch cable) in main/STOCK: 12 available, 13 asked."
    )
    expect(dialog).to_be_visible()

    dialog.get_by_label("Quantity").fill("1")
    dialog.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("Remove: 1 × CAB-7.")).to_be_visible()
    expect(dialog).to_be_hidden()
    in_hand = page.locator("#warehouse-balance tbody tr").first.locator("td").nth(2)
    expect(in_hand).to_have_text("11")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inventory").click()
    expect(page.locator("tr[data-sku='CAB-7'] td").nth(4)).to_have_text("11")
