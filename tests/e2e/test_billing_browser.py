"""A billing clerk's morning in a real browser: orders reserve stock, refuse too much, release it.

Debian's chromium is driven by Playwright (fixtures `browser` and `page` of
tests/e2e/conftest.py); waits are `expect(locator)` only.
"""

import re
from decimal import Decimal
from pathlib import Path

import pytest

from tests.roles import role
from tests.warehouse.factories import (
    PartyFactory,
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
    # The live server reads what the test wrote, so the test commits; the
    # serialized rollback brings back what the migrations made (roles, sequences).
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "a-long-enough-password"
ORDER_HEADING = re.compile(r"^Order (ORD-\d+)")


@pytest.fixture
def billing_site(db):
    """10 patch cables in the main warehouse, booked through the service; Alice; clerk Clara."""
    warehouse = WarehouseFactory(code="main", name="Main warehouse")
    cable = ProductFactory(sku="CAB-7", name="Patch cable", sale_price=Decimal("2.50"))
    book_in(storage_of(warehouse), cable, 10, "1.00")
    PartyFactory(name="Alice Martin")
    clerk = UserFactory(username="clara", password=PASSWORD)
    clerk.groups.add(role("Billing clerk"))
    return cable


def _order_create(page, quantity: str) -> str:
    """Fill the new-order page with one sale line of cables; the new order's number back."""
    from playwright.sync_api import expect

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
    page.get_by_role("link", name="New order").click()
    expect(page.get_by_role("heading", name="New order")).to_be_visible()
    # Typing part of a name loads suggestions; a suggestion's value names the party and its id.
    page.get_by_label("Party").fill("alice")
    suggestion = page.locator("#id_party-suggestions option")
    expect(suggestion).to_have_count(1)
    page.get_by_label("Party").fill(suggestion.get_attribute("value"))
    page.locator("#id_lines-0-product").fill("cab-7")
    page.locator("#id_lines-0-quantity").fill(quantity)
    page.get_by_role("button", name="Create draft").click()
    heading = page.get_by_role("heading", name=ORDER_HEADING)
    expect(heading).to_contain_text("Draft")
    return ORDER_HEADING.match(heading.inner_text())[1]


def _balance_row(page):
    from playwright.sync_api import expect

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inventory").click()
    row = page.locator("tr[data-sku='CAB-7']")
    expect(row).to_be_visible()
    return row.locator("td")  # sku, name, traceable, ownership, in hand, reserved, available


def test_clerk_reserves_is_refused_too_much_and_releases(page, live_server, billing_site):
    """Confirming reserves; a larger order is refused by name and shortfall; cancelling releases."""
    from playwright.sync_api import expect

    page.goto(live_server.url + "/billing/orders/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill("clara")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()

    # An order of 4 cables, confirmed: the stock is reserved.
    first = _order_create(page, "4")
    expect(page.locator("#grand-total")).to_have_text("10.00 EUR")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text(f"Confirmed {first}: its stock is reserved.")).to_be_visible()
    expect(page.get_by_role("heading", name=ORDER_HEADING)).to_contain_text("Confirmed")

    cells = _balance_row(page)
    expect(cells.nth(4)).to_have_text("10")  # in hand
    expect(cells.nth(5)).to_have_text("4")  # reserved
    expect(cells.nth(6)).to_have_text("6")  # available

    # 7 more cannot be reserved: 6 are left. The refusal shows in place; nothing changes.
    second = _order_create(page, "7")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Not enough stock to reserve. CAB-7 (Patch cable) in Main warehouse: "
        "7 asked, 6 available, short by 1."
    )
    expect(page.get_by_role("heading", name=ORDER_HEADING)).to_contain_text(f"{second} Draft")

    cells = _balance_row(page)
    expect(cells.nth(5)).to_have_text("4")
    expect(cells.nth(6)).to_have_text("6")

    # Cancelling the first order releases its stock.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
    page.locator("#orders").get_by_role("link", name=first).click()
    expect(page.get_by_role("heading", name=ORDER_HEADING)).to_contain_text(first)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_text(f"Cancelled {first}: its stock is released.")).to_be_visible()
    expect(page.get_by_role("heading", name=ORDER_HEADING)).to_contain_text("Cancelled")

    cells = _balance_row(page)
    expect(cells.nth(5)).to_have_text("0")
    expect(cells.nth(6)).to_have_text("10")
