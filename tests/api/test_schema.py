"""The OpenAPI schema validates without a warning; its docs page loads from our own files."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from tests.api.conftest import role_user


def test_the_schema_validates_without_warnings(tmp_path):
    errors = StringIO()

    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
        stderr=errors,
    )

    assert errors.getvalue() == ""
    assert "/api/movements/" in (tmp_path / "schema.yaml").read_text()


@pytest.mark.django_db
def test_the_schema_is_json_with_every_endpoint(clerk_api):
    paths = clerk_api.get("/api/schema/").json()["paths"]

    assert {"/api/products/", "/api/products/{sku}/", "/api/stock/", "/api/fifo/"} <= set(paths)
    assert "/api/docs/" not in paths


@pytest.mark.django_db
def test_the_docs_page_loads_its_script_and_style_from_our_static_files(client):
    client.force_login(role_user("Billing clerk"))

    page = client.get("/api/docs/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "<style" not in html
    sources = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(s.startswith(("/static/", "/api/docs/")) for s in sources), sources
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


@pytest.mark.django_db
def test_the_docs_init_script_is_a_file_of_its_own(client):
    client.force_login(role_user("Billing clerk"))

    script = client.get("/api/docs/?script=")

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
