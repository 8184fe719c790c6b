"""Under the Content-Security-Policy the main pages load with no refusal, and htmx works."""

import re
from pathlib import Path

import pytest

from tests.billing.factories import devices_in, goods_in, order_create, sale, shop_create
from tests.roles import role
from tests.warehouse.factories import UserFactory

pytestmark = [
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="Debian's chromium (/usr/bin/chromium) is missing: `make test` installs it",
    ),
    pytest.mark.e2e,
    # The live server reads what the test wrote, so the test commits.
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "a-long-enough-password"


@pytest.fixture
def site(db):
    """Cables and two modems in stock, an order for cables, a user in both roles."""
    shop = shop_create()
    goods_in(shop.stock, shop.cable, 20)
    goods_in(shop.stock, shop.router, 3)
    devices_in(shop.stock, shop.modem, "M-1", "M-2")
    order = order_create(shop, sale(shop.cable, 2))
    user = UserFactory(username="sam", password=PASSWORD)
    user.groups.add(role("Warehouse staff"), role("Billing clerk"))
    return shop, order


def test_main_pages_load_without_a_csp_refusal_and_htmx_swaps_the_balance(page, live_server, site):
    from playwright.sync_api import expect

    shop, order = site
    refusals = []
    page.on(
        "console",
        lambda message: (
            refusals.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    # The login form (django-axes checks it on the way).
    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Stock balance")).to_be_visible()

    # htmx under the policy: typing in the filter swaps the table in place.
    page.evaluate("window.sameDocument = true")
    page.get_by_role("searchbox", name="Search").fill("CAB-1")
    expect(page).to_have_url(re.compile(r"[?&]q=CAB-1"))
    expect(page.locator("tr[data-sku='RTR-1']")).to_have_count(0)
    expect(page.locator("tr[data-sku='CAB-1']")).to_be_visible()
    assert page.evaluate("window.sameDocument") is True
    # htmx's indicator rules come from the stylesheet, not an injected <style>.
    assert page.locator("head style").count() == 0

    # A product page, and one of its dialogs loaded by htmx.
    page.goto(f"{live_server.url}{shop.cable.get_absolute_url()}")
    page.locator(".page-head").get_by_role("link", name="Remove").click()
    expect(page.locator("dialog#dialog")).to_be_visible()

    pages = [
        ("/stock/in/", "Stock-in"),
        ("/devices/", "Devices"),
        (order.get_absolute_url(), re.compile(r"^Order ORD-")),
    ]
    for path, heading in pages:
        page.goto(live_server.url + path)
        expect(page.get_by_role("heading", name=heading).first).to_be_visible()

    # The printable order: its own stylesheet and script, no inline ones.
    page.goto(f"{live_server.url}{order.get_absolute_url()}print/")
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("Georgia")

    assert refusals == []
