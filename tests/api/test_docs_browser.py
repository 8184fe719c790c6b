"""The API's docs page works in a real browser under the Content-Security-Policy."""

from pathlib import Path

import pytest

from tests.e2e.conftest import _allow_orm_beside_playwright, browser, page  # noqa: F401
from tests.roles import role
from tests.warehouse.factories import UserFactory

pytestmark = [
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="Debian's chromium (/usr/bin/chromium) is missing: `make test` installs it",
    ),
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),  # the live server reads what the test wrote
]

PASSWORD = "a-long-enough-password"


def test_swagger_ui_renders_the_schema_with_no_csp_refusal(page, live_server):  # noqa: F811
    from playwright.sync_api import expect

    user = UserFactory(username="ada", password=PASSWORD)
    user.groups.add(role("Billing clerk"))
    refusals = []
    page.on(
        "console",
        lambda m: refusals.append(m.text) if "Content Security Policy" in m.text else None,
    )

    page.goto(live_server.url + "/api/docs/")  # to the login page first, and back
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_text("Inventory back-office API").first).to_be_visible()
    expect(page.get_by_text("/api/movements/").first).to_be_visible()
    assert refusals == []
