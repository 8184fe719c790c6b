"""Every API endpoint asks the permission of the page that shows the same thing.

The endpoints are walked from the URL list (as tests/test_permissions.py walks
the pages): each must have its expected permission written here, apart from
the views. For each: a role holding it gets 200, a user holding every other
permission of the three apps gets 403, a user without any gets 403, and an
anonymous request 401.
"""

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import URLPattern, URLResolver, get_resolver

from tests.api.conftest import role_user, token_client
from tests.api.factories import books_create
from tests.devices.factories import devices_in
from tests.warehouse.factories import (
    LocationFactory,
    ProductFactory,
    UserFactory,
    storage_of,
)

STOCK = ("warehouse.view_warehousestock",)
EXPECTED = {
    "api:product_list": ("warehouse.view_product",),
    "api:product_detail": ("warehouse.view_product",),
    "api:warehouse_list": ("warehouse.view_warehouse",),
    "api:location_list": ("warehouse.view_location",),
    "api:location_positions": ("warehouse.view_stockposition",),
    "api:stock_balance": STOCK,
    "api:low_stock": STOCK,
    "api:movement_list": ("warehouse.view_movement",),
    "api:fifo_layers": STOCK,
    "api:device_list": ("devices.view_device",),
    "api:device_detail": ("devices.view_device",),
    "api:device_by_serial": ("devices.view_device",),
    "api:device_history": ("devices.view_device", "devices.view_deviceevent"),
    "api:party_list": ("warehouse.view_party",),
    "api:party_detail": ("warehouse.view_party",),
    "api:order_list": ("billing.view_order",),
    "api:order_detail": ("billing.view_order",),
    "api:invoice_list": ("billing.view_invoice",),
    "api:invoice_detail": ("billing.view_invoice",),
    "api:creditnote_list": ("billing.view_creditnote",),
    "api:creditnote_detail": ("billing.view_creditnote",),
    "api:rental_list": ("billing.view_rental",),
    "api:event_feed": ("warehouse.view_movement",),
}
BOOK = ("warehouse.book_stock",)
GOODS, PAPERWORK = ("devices.change_device",), ("devices.add_device",)
# The writes (POST), with the permission of the page that books the same.
WRITES = {
    "api:stock_remove": BOOK,
    "api:stock_move": BOOK,
    "api:stock_isolate": BOOK,
    "api:stock_adjust": BOOK,
    "api:stock_in": BOOK,
    "api:incoming_book": BOOK,
    "api:package_put_away": BOOK,
    # The device page's dialogs: staff handle goods; transfer and registration are a
    # clerk's paperwork (devices.views.DIALOGS).
    **{
        f"api:device_{name}": GOODS
        for name in ("block", "unblock", "move", "write_off", "found")
        + ("status", "details", "assemble", "disassemble")
    },
    "api:device_transfer": PAPERWORK,
    "api:device_register": PAPERWORK,
    # billing/views.py: a new document needs `add`, a step (and a rental return) `change`.
    # The lists of orders and invoices take their new documents on the same path.
    "api:order_list": ("billing.add_order",),
    "api:order_confirm": ("billing.change_order",),
    "api:order_dispatch": ("billing.change_order",),
    "api:order_complete": ("billing.change_order",),
    "api:order_cancel": ("billing.change_order",),
    "api:invoice_list": ("billing.add_invoice",),
    "api:invoice_issue": ("billing.change_invoice",),
    "api:invoice_post": ("billing.change_invoice",),
    "api:invoice_cancel": ("billing.change_invoice",),
    "api:creditnote_create": ("billing.add_creditnote",),
    "api:creditnote_post": ("billing.change_creditnote",),
    "api:creditnote_cancel": ("billing.change_creditnote",),
    "api:rental_return": ("billing.change_rental",),
}
# Not resources: every signed-in user reads the schema; the docs page is a page.
OPEN_TO_SIGNED_IN = {"api:schema", "api:docs"}
ROLES = ("Warehouse staff", "Billing clerk")
APPS = ("warehouse", "devices", "billing")
PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def api_endpoints(resolver=None, prefix="", namespace=""):
    """(name, route, view class) of every route under /api/."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace or namespace
            route = prefix + str(entry.pattern)
            if inner == "api" or route.startswith("api/"):
                yield from api_endpoints(entry, route, inner)
        elif isinstance(entry, URLPattern) and namespace == "api":
            view = getattr(entry.callback, "view_class", None) or entry.callback.cls
            yield f"api:{entry.name}", prefix + str(entry.pattern), view


@pytest.fixture
def world(db):
    books = books_create()
    warehouse = books.shop.warehouse
    location = LocationFactory(warehouse=warehouse, code="A1")
    product = ProductFactory(sku="LTP-2")
    (device,) = devices_in(storage_of(warehouse), books.shop.modem, "SN-1")
    return {
        "sku": product.sku,
        "warehouse": warehouse.code,
        "location": location.code,
        "serial": device.serial,
        ("api:device_detail", "pk"): device.pk,
        ("api:device_history", "pk"): device.pk,
        ("api:party_detail", "pk"): books.shop.alice.pk,
        ("api:order_detail", "pk"): books.order.pk,
        ("api:invoice_detail", "pk"): books.invoice.pk,
        ("api:creditnote_detail", "pk"): books.credit_note.pk,
        "pk": 0,  # a write on one object (a package, a device): found after the permission
    }


def _address(name: str, route: str, world) -> str:
    """The route with its parameters from `world`: by (endpoint, parameter), else by parameter."""
    return "/" + PARAM.sub(lambda m: str(world.get((name, m[2]), world.get(m[2]))), route)


def _all_permissions_but(needed):
    return [
        p
        for p in Permission.objects.filter(content_type__app_label__in=APPS).select_related(
            "content_type"
        )
        if f"{p.content_type.app_label}.{p.codename}" not in needed
    ]


def test_every_api_endpoint_has_its_expected_permission_written_here():
    names = {name for name, _, _ in api_endpoints()} - OPEN_TO_SIGNED_IN

    assert sorted(names - set(EXPECTED) - set(WRITES)) == [], "a new endpoint"
    assert sorted((set(EXPECTED) | set(WRITES)) - names) == [], "an endpoint that is gone"


def test_each_endpoint_declares_what_is_expected_here():
    wrong = {
        name: view.permissions_by_method.get("GET")
        for name, _, view in api_endpoints()
        if name in EXPECTED and view.permissions_by_method.get("GET") != EXPECTED[name]
    }

    assert wrong == {}


def test_each_write_declares_what_is_expected_here_and_reads_only_what_is_written_here():
    """A write's path answers POST with its permission, and GET only when EXPECTED says
    (a list taking new documents on its own path: orders, invoices); nothing else."""
    wrong = {
        name: view.permissions_by_method
        for name, _, view in api_endpoints()
        if name in WRITES
        and view.permissions_by_method
        != {"POST": WRITES[name], **({"GET": EXPECTED[name]} if name in EXPECTED else {})}
    }

    assert wrong == {}


@pytest.mark.django_db
def test_the_role_matrix_of_every_write(world, anonymous_api):
    """Without its permission a write is refused before its body or key is read (403);
    with it, the request goes on (here to refuse the empty body: 400)."""
    roles = {name: token_client(role_user(name)) for name in ROLES}
    wrong = []
    headers = {"HTTP_IDEMPOTENCY_KEY": "k" * 20}
    for name, route, _ in api_endpoints():
        if name not in WRITES:
            continue
        address, needed = _address(name, route, world), WRITES[name]

        def status_of(client, address=address):
            return client.post(address, {}, format="json", **headers).status_code

        let_in = 0
        for role_name, client in roles.items():
            holds = client.get("/api/schema/").wsgi_request.user.has_perms(needed)
            status = status_of(client)
            let_in += status != 403
            if (status == 403) == holds:
                wrong.append(f"{role_name} holds={holds} on {name}: {status}")
        user = UserFactory()
        user.user_permissions.add(*_all_permissions_but(needed))
        for who, client in {
            "all but its own": token_client(user),
            "nobody": token_client(UserFactory()),
        }.items():
            if (status := status_of(client)) != 403:
                wrong.append(f"{who} on {name}: {status}")
        if (status := status_of(anonymous_api)) != 401:
            wrong.append(f"anonymous on {name}: {status}")
        if not let_in:
            wrong.append(f"no role may {name}")
    assert wrong == []


@pytest.mark.django_db
def test_the_role_matrix_of_every_endpoint(world, anonymous_api):
    roles = {name: token_client(role_user(name)) for name in ROLES}
    nobody = token_client(UserFactory())
    wrong = []
    for name, route, _ in api_endpoints():
        if name not in EXPECTED:
            continue
        address = _address(name, route, world)
        needed = EXPECTED[name]
        let_in = 0
        for role_name, client in roles.items():
            holds = client.get("/api/schema/").wsgi_request.user.has_perms(needed)
            status = client.get(address).status_code
            let_in += status == 200
            if status != (200 if holds else 403):
                wrong.append(f"{role_name} holds={holds} on {name}: {status}")
        user = UserFactory()
        user.user_permissions.add(*_all_permissions_but(needed))
        for who, client in {"all but its own": token_client(user), "nobody": nobody}.items():
            if (status := client.get(address).status_code) != 403:
                wrong.append(f"{who} on {name}: {status}")
        if (status := anonymous_api.get(address).status_code) != 401:
            wrong.append(f"anonymous on {name}: {status}")
        if not let_in:
            wrong.append(f"no role reads {name}")
    assert wrong == []


@pytest.mark.django_db
def test_the_schema_needs_a_signed_in_user(nobody_api, anonymous_api):
    assert nobody_api.get("/api/schema/").status_code == 200
    assert anonymous_api.get("/api/schema/").status_code == 401


@pytest.mark.django_db
def test_the_docs_page_sends_an_anonymous_browser_to_the_login_page(client):
    response = client.get("/api/docs/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
