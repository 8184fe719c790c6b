"""Every page sends a Content-Security-Policy that allows only the site's own files."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

BASE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES = sorted(BASE_DIR.glob("templates/**/*.html")) + sorted(
    BASE_DIR.glob("*/templates/**/*.html")
)

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def directives(header: str) -> dict:
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["warehouse:balance", "devices:device_list", "login"])
def test_pages_send_the_content_security_policy(staff_client, name):
    response = staff_client.get(reverse(name))

    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == POLICY


@pytest.mark.django_db
def test_the_login_page_sends_it_to_an_anonymous_visitor(client):
    response = client.get(reverse("login"))

    assert directives(response["Content-Security-Policy"]) == POLICY


def test_the_walk_over_templates_finds_them():
    names = {path.name for path in TEMPLATES}
    assert {"base.html", "print.html", "balance.html"} <= names


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: str(path.relative_to(BASE_DIR)))
def test_no_template_carries_inline_script_style_or_event_handler(path):
    """The policy refuses them, so the browser would silently drop them."""
    text = path.read_text()

    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert "<style" not in text, "a <style> block"
    assert not re.search(r"\sstyle=", text), "a style= attribute"
    assert not re.search(r"\son[a-z]+=", text), "an on…= handler"
    assert "javascript:" not in text
