"""A device blocked and unblocked in a real browser: its dialog, the balance, its history."""

import re
from decimal import Decimal
from pathlib import Path

import pytest

from devices import services, stock_booking
from tests.roles import role
from tests.warehouse.factories import ProductFactory, UserFactory, WarehouseFactory, storage_of

pytestmark = [
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="Debian's chromium (/usr/bin/chromium) is missing: `make test` installs it",
    ),
    pytest.mark.e2e,
    # The live server reads what the test wrote, so each test commits.
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "a-long-enough-password"


@pytest.fixture
def routers(db):
    """Three routers booked into storage by a member of the warehouse staff."""
    staff = UserFactory(username="sam", password=PASSWORD)
    staff.groups.add(role("Warehouse staff"))
    warehouse = WarehouseFactory(code="main", name="Main warehouse")
    product = ProductFactory(sku="RTR-E", name="Edge router", traceable=True)
    stock_booking.stock_in(
        actor=staff,
        location=storage_of(warehouse),
        lines=[
            services.stock.StockInLine(
                product=product,
                quantity=Decimal(3),
                unit_cost=Decimal("80"),
                serials=("E-1", "E-2", "E-3"),
            )
        ],
    )
    return product


def _available(page, sku: str):
    """The Available cell of a product's row on the stock balance."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inventory").click()
    return page.locator(f"tr[data-sku='{sku}'] td").nth(6)


def _act(page, action: str, reason: str):
    """Open an action's dialog from the device page, give the reason, confirm."""
    from playwright.sync_api import expect

    page.locator("#device-actions").get_by_role("link", name=action, exact=True).click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name=f"{action} · RTR-E #E-2")).to_be_visible()
    dialog.get_by_label("Reason").fill(reason)
    dialog.get_by_role("button", name=action, exact=True).click()


def test_staff_blocks_a_device_and_unblocks_it(page, live_server, routers):
    """Blocked through its dialog, a device leaves what is available; unblocked, it returns."""
    from playwright.sync_api import expect

    page.goto(live_server.url + "/devices/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # The device list: every device; the filter narrows it in place.
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    expect(page.locator("#devices tbody tr")).to_have_count(3)
    page.get_by_role("searchbox", name="Search").fill("E-2")
    expect(page).to_have_url(re.compile(r"[?&]q=E-2"))
    expect(page.locator("#devices tbody tr")).to_have_count(1)

    # Its page, and the Block dialog.
    page.get_by_role("link", name="E-2", exact=True).click()
    expect(page.get_by_role("heading", name="RTR-E #E-2")).to_be_visible()
    expect(page.locator("#device-state")).to_have_text("New")
    _act(page, "Block", "Dented case")
    expect(page.get_by_text("Blocked RTR-E #E-2")).to_be_visible()
    expect(page.locator("#device-state")).to_have_text("Blocked")
    expect(page.locator("dialog#dialog")).to_be_hidden()

    # Blocked in the list, and one fewer available on the stock balance.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Devices").click()
    expect(page.locator("tr[data-serial='E-2'] td").nth(3)).to_have_text("Blocked")
    expect(page.locator("tr[data-serial='E-1'] td").nth(3)).to_have_text("New")
    expect(_available(page, "RTR-E")).to_have_text("2")

    # From the balance to the product's devices, then unblock.
    page.locator("tr[data-sku='RTR-E']").get_by_role("link", name="View devices").click()
    expect(page).to_have_url(re.compile(r"/devices/\?product=RTR-E"))
    page.get_by_role("link", name="E-2", exact=True).click()
    _act(page, "Unblock", "Repaired")
    expect(page.get_by_text("Unblocked RTR-E #E-2")).to_be_visible()
    expect(page.locator("#device-state")).to_have_text("New")

    # The history names both, with who and why; the unit is available again.
    history = page.locator("#history")
    expect(history.locator("li[data-action='block']")).to_contain_text("Dented case")
    expect(history.locator("li[data-action='block']")).to_contain_text("sam")
    expect(history.locator("li[data-action='block']")).to_contain_text("New → Blocked")
    expect(history.locator("li[data-action='unblock']")).to_contain_text("Repaired")
    expect(history.locator("li[data-action='unblock']")).to_contain_text("Blocked → New")
    expect(_available(page, "RTR-E")).to_have_text("3")
