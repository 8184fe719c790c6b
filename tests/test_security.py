"""Every page needs a login, production settings pass Django's deploy checks, posts need CSRF."""

import json
import os
import re
import secrets
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RegexPattern, RoutePattern

from tests.warehouse.factories import ProductFactory, WarehouseFactory, book_in, storage_of
from warehouse.models import Movement

BASE_DIR = Path(__file__).resolve().parent.parent

# Pages anyone may open: the login forms themselves (and static files, when served).
PUBLIC = {"login", "admin:login"}

SAMPLES = {"int": "1", "str": "x", "slug": "x", "path": "x", "uuid": str(uuid.UUID(int=1))}


def _route_sample(route: str) -> str:
    """A concrete path for a `path()` route: 1 for <int:...>, x for str, slug and path."""

    def sample(match):
        return SAMPLES[match["converter"] or "str"]

    return re.sub(r"<(?:(?P<converter>\w+):)?\w+>", sample, route)


def _regex_sample(regex: str) -> str:
    """A concrete path for a `re_path()`: the first alternative of a group, else x."""

    def sample(match):
        body = match["body"]
        if re.fullmatch(r"[\w-]+(\|[\w-]+)*", body):
            return body.split("|")[0]
        return "x"

    return re.sub(r"\(\?P<\w+>(?P<body>[^)]*)\)", sample, regex).lstrip("^").rstrip("$")


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    """(concrete path, URL name, view) of every pattern of the URLconf, includes followed."""
    for pattern in resolver.url_patterns:
        if isinstance(pattern.pattern, RoutePattern):
            part = _route_sample(str(pattern.pattern))
        elif isinstance(pattern.pattern, RegexPattern):
            part = _regex_sample(pattern.pattern.regex.pattern)
        else:  # pragma: no cover - a new kind of pattern must be taught here
            raise AssertionError(f"cannot build a path for {pattern!r}")
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern, prefix + part, inner)
        else:
            assert isinstance(pattern, URLPattern)
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield "/" + prefix + part, name, pattern.callback


def _pages():
    static = "/" + settings.STATIC_URL.lstrip("/")
    pages = [
        page
        for page in _walk(get_resolver())
        if page[1] not in PUBLIC and not page[0].startswith(static)
    ]
    return [pytest.param(path, view, id=name or path) for path, name, view in pages]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "view"), _pages())
def test_every_page_sends_an_anonymous_visitor_to_log_in(client, path, view):
    """An anonymous GET of any URL, present or future, redirects to a login page and back."""
    assert resolve(path).func == view, f"{path} does not reach the pattern it was built from"

    response = client.get(path)

    if path.startswith("/api/") and path != reverse("api:docs"):
        # The JSON API is no page: a program has no login form to be sent to, so
        # every endpoint, present or future, refuses an anonymous request with 401
        # (tests/api/). Its docs page is a page and is held to the redirect below.
        assert response.status_code == 401, f"{path} answered {response.status_code}"
        assert response.json()["error"]["code"] == "not_authenticated"
        return
    assert response.status_code == 302, f"{path} answered {response.status_code} without a login"
    location = urlsplit(response["Location"])
    logins = {reverse("login")}
    if path.startswith(reverse("admin:index")):
        # The admin's own views go to the admin login; its model pages go to the
        # site login under Django 5.2's LoginRequiredMiddleware. Both come back.
        logins.add(reverse("admin:login"))
    assert location.path in logins, f"{path} redirects to {response['Location']}"
    assert parse_qs(location.query)["next"] == [path]


def test_url_walk_covers_the_warehouse_pages():
    """The walk above reaches every warehouse page and the admin, so it checks what it claims."""
    names = {name for _, name, _ in _walk(get_resolver())}

    assert {"warehouse:balance", "warehouse:stock_remove", "home", "logout"} <= names
    assert {"admin:index", "admin:warehouse_product_changelist"} <= names


def test_production_settings_pass_the_deploy_checks():
    """`manage.py check --deploy` reports nothing, not even a warning, under production settings."""
    database = settings.DATABASES["default"]
    # Production sets DATABASE_URL; here it names the test server, so no other starts.
    database_url = os.environ.get("DATABASE_URL") or (
        f"postgres://{database['USER']}@{quote(database['HOST'], safe='')}/{database['NAME']}"
    )
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "inventory_site.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(45),  # 60 characters
        "DJANGO_ALLOWED_HOSTS": "inventory.example.com",
        "DATABASE_URL": database_url,
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.fixture
def csrf_client(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    return client


@pytest.fixture
def stocked(db):
    product = ProductFactory(sku="CAB-1")
    storage = storage_of(WarehouseFactory())
    book_in(storage, product, 5)
    return product, storage


def test_stock_action_posted_without_csrf_token_is_refused(csrf_client, stocked):
    """A logged-in user's post without the CSRF token is refused and books nothing."""
    product, storage = stocked
    before = Movement.objects.count()

    response = csrf_client.post(
        reverse("warehouse:stock_remove", args=[product.pk]),
        {"location": str(storage), "quantity": "1", "reason": "Forged"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 403
    assert Movement.objects.count() == before


def test_pages_give_htmx_the_csrf_token_on_body(csrf_client, stocked):
    """<body hx-headers> carries the CSRF token, so every htmx post is accepted."""
    product, storage = stocked
    page = csrf_client.get(reverse("warehouse:product_detail", args=[product.pk]))
    body = re.search(r"<body hx-headers='([^']*)'", page.content.decode())
    assert body, "<body> has no hx-headers"
    headers = json.loads(body[1])

    response = csrf_client.post(
        reverse("warehouse:stock_remove", args=[product.pk]),
        {"location": str(storage), "quantity": "1", "reason": "Broken"},
        headers={"HX-Request": "true", "X-CSRFToken": headers["X-CSRFToken"]},
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == product.get_absolute_url()
    assert Movement.objects.filter(action=Movement.Action.REMOVE).count() == 1
