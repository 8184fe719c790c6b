"""A delivery in a real browser: book a package at its price, put it away, sell part, read FIFO.

Debian's chromium is driven by Playwright (fixtures `browser` and `page` of
tests/e2e/conftest.py); waits are `expect(locator)` only.
"""

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from billing import services as billing
from tests.roles import role
from tests.warehouse.factories import (
    LocationFactory,
    PartyFactory,
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    storage_of,
)
from warehouse import services
from warehouse.models import Location

pytestmark = [
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="Debian's chromium (/usr/bin/chromium) is missing: `make test` installs it",
    ),
    pytest.mark.e2e,
    # The live server reads what the test wrote, so the test commits; the
    # serialized rollback brings back what the migrations made (roles, sequences).
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "a-long-enough-password"


@pytest.fixture
def receiving_site(db):
    """Main warehouse with a goods-in dock; 10 bolts already in storage from package P1 (2.00)."""
    warehouse = WarehouseFactory(code="main", name="Main warehouse")
    LocationFactory(warehouse=warehouse, code="IN", name="Goods in", kind=Location.Kind.INCOMING)
    bolt = ProductFactory(sku="BOLT-7", name="Bolt", sale_price=Decimal("9.00"))
    services.stock_in(
        actor=None,
        location=storage_of(warehouse),
        lines=[
            services.StockInLine(
                product=bolt,
                quantity=Decimal(10),
                unit_cost=None,
                package_number="P1",
                package_price=Decimal("20.00"),
            )
        ],
        now=datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
    )
    staff = UserFactory(username="sam", password=PASSWORD)
    staff.groups.add(role("Warehouse staff"))
    return warehouse, bolt


def test_staff_books_a_package_puts_it_away_and_reads_the_fifo_report(
    page, live_server, receiving_site
):
    """P1 10 × 2.00 owned; P2 30 for 120.00 makes the average 3.50; 15 sold take P1 and 5 of P2."""
    from playwright.sync_api import expect

    warehouse, bolt = receiving_site
    page.goto(live_server.url + "/incoming/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Incoming", exact=True)).to_be_visible()
    expect(page.locator("#packages")).to_contain_text("Nothing waiting to be put away.")

    # Book a delivery: the dialog shows the average cost as the reference, then the new average.
    page.get_by_role("link", name="Book a delivery").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog.get_by_role("heading", name="Book a delivery")).to_be_visible()
    dialog.get_by_label("Incoming location").select_option(label="main/IN · Goods in (Incoming)")
    dialog.locator("#id_product").fill("bolt-7")
    reference = dialog.locator("#reference-price")
    expect(reference.locator("[data-average]")).to_have_text("2.00")
    expect(reference).to_contain_text("(10 owned)")
    dialog.get_by_label("Supplier").fill("Acme")
    dialog.get_by_label("Quantity").fill("30")
    dialog.get_by_label("Package price").fill("120.00")
    dialog.get_by_label("Package number").fill("P2")
    expect(reference.locator("[data-unit-cost]")).to_have_text("4.00")
    expect(reference.locator("[data-new-average]")).to_have_text("3.50")
    dialog.get_by_role("button", name="Book the package").click()

    expect(page.get_by_text("Booked package P2: 30 × BOLT-7 at 4.00 per unit.")).to_be_visible()
    expect(dialog).to_be_hidden()
    row = page.locator("#packages tr[data-package='P2'] td")
    expect(row.nth(6)).to_have_text("30")  # waiting
    expect(row.nth(7)).to_have_text("4.00")  # unit cost

    # Put it away: the whole package, to main storage.
    page.locator("#packages tr[data-package='P2']").get_by_role("link", name="Put away").click()
    expect(dialog.get_by_role("heading", name="Put away package P2")).to_be_visible()
    expect(dialog.get_by_label("Quantity")).to_have_value("30")
    dialog.get_by_label("To storage").fill("STOCK")
    dialog.get_by_role("button", name="Put away").click()
    expect(page.get_by_text("Put away 30 × BOLT-7 of package P2 into main/STOCK.")).to_be_visible()
    expect(page.locator("#packages")).to_contain_text("Nothing waiting to be put away.")

    # The balance shows the moving average of the two packages.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inventory").click()
    balance = page.locator("tr[data-sku='BOLT-7'] td")
    expect(balance.nth(4)).to_have_text("40")  # in hand
    expect(balance.nth(9)).to_have_text("3.50")  # average cost

    # A clerk sells 15 bolts on a posted invoice.
    invoice = billing.invoice_create(
        actor=None,
        party=PartyFactory(name="Alice Martin"),
        warehouse=warehouse,
        lines=[billing.LineInput(product=bolt, quantity=Decimal(15))],
    )
    invoice = billing.invoice_post(invoice=invoice, actor=None)

    # The FIFO report: P1 consumed whole, 5 of P2; 25 left worth 100.00 (87.50 by average).
    page.get_by_role("link", name="FIFO report").click()
    expect(page.get_by_role("heading", name="FIFO report")).to_be_visible()
    p1 = page.locator("#fifo tr[data-package='P1'] td")
    p2 = page.locator("#fifo tr[data-package='P2'] td")
    expect(p1.nth(6)).to_have_text("10")  # consumed
    expect(p1.nth(7)).to_have_text("0")  # remaining
    expect(p2.nth(4)).to_have_text("30")  # received
    expect(p2.nth(5)).to_have_text("120.00")  # received value
    expect(p2.nth(6)).to_have_text("5")
    expect(p2.nth(7)).to_have_text("25")
    expect(p2.nth(8)).to_have_text("100.00")
    expect(page.locator("[data-total='remaining']")).to_have_text("25")
    expect(page.locator("[data-total='value']")).to_have_text("100.00")
    expect(page.locator("[data-total='owned']")).to_have_text("25")
    expect(page.locator("[data-total='owned-value']")).to_have_text("87.50")

    # Filtering narrows the table in place and keeps the filter in the address.
    page.evaluate("window.sameDocument = true")
    page.get_by_label("Received to").fill("2025-03-01")  # the day P1 came in
    expect(page).to_have_url(re.compile(r"[?&]date_to=2025-03-01"))
    expect(page.locator("#fifo tr[data-package='P2']")).to_have_count(0)
    expect(p1.nth(3)).to_have_text("2025-03-01")
    page.get_by_label("Received to").fill("")
    page.get_by_role("searchbox", name="Product (SKU)").fill("bolt-7")
    expect(page).to_have_url(re.compile(r"[?&]product=bolt-7"))
    expect(p2.nth(7)).to_have_text("25")
    assert page.evaluate("window.sameDocument") is True

    # The package page names the sale that consumed it.
    page.locator("#fifo").get_by_role("link", name="P2").click()
    expect(page.get_by_role("heading", name="Package P2 · BOLT-7")).to_be_visible()
    consumption = page.locator("#consumptions tbody tr td")
    expect(consumption.nth(1)).to_have_text("Sell")
    expect(consumption.nth(4)).to_have_text("5")
    expect(consumption.nth(5)).to_have_text("4.00")
    expect(consumption.nth(7)).to_have_text(invoice.number)
