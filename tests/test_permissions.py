"""Every page that writes asks for its own permission, and only that one.

The expected permission of each writing page is written down here, apart from
the views, and checked by behaviour: every role of the product, a reader who
holds every view permission, a user with no permission, and a user holding
every permission but the page's own, POST to every writing page. Whoever lacks
the page's permission gets 403 and nothing is written; whoever holds it is let
through (the form may still refuse what was posted). Swapping a page's write
permission for the view permission that warehouse staff or clerks hold fails
here, and a new writing page without an entry here fails too.
"""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.roles import role
from tests.test_bad_input import (
    PARAM,
    _real_id,
    _rows,
    world,  # noqa: F401 (a fixture of the tests below)
)
from tests.warehouse.factories import UserFactory
from tests.warehouse.test_once import WRITE_NOTHING, _accepts_post, pages

BOOK = "warehouse.book_stock"
DEVICE = "devices.change_device"

REQUIRED = {
    "warehouse:stock_in": BOOK,
    "warehouse:incoming_book": BOOK,
    "warehouse:package_put_away": BOOK,
    "warehouse:stock_remove": BOOK,
    "warehouse:stock_move": BOOK,
    "warehouse:stock_isolate": BOOK,
    "warehouse:stock_adjust": BOOK,
    "warehouse:product_create": "warehouse.add_product",
    "warehouse:product_edit": "warehouse.change_product",
    "warehouse:product_constraints": "warehouse.change_stockconstraint",
    "warehouse:location_create": "warehouse.add_location",
    "warehouse:location_edit": "warehouse.change_location",
    "billing:party_create": "warehouse.add_party",
    "billing:party_edit": "warehouse.change_party",
    "billing:rental_return": "billing.change_rental",
    "billing:order_create": "billing.add_order",
    "billing:order_confirm": "billing.change_order",
    "billing:order_dispatch": "billing.change_order",
    "billing:order_complete": "billing.change_order",
    "billing:order_cancel": "billing.change_order",
    "billing:order_line_add": "billing.change_order",
    "billing:order_line_remove": "billing.change_order",
    "billing:invoice_create": "billing.add_invoice",
    "billing:invoice_issue": "billing.change_invoice",
    "billing:invoice_post": "billing.change_invoice",
    "billing:invoice_cancel": "billing.change_invoice",
    "billing:invoice_line_add": "billing.change_invoice",
    "billing:invoice_line_remove": "billing.change_invoice",
    "billing:creditnote_create": "billing.add_creditnote",
    "billing:creditnote_post": "billing.change_creditnote",
    "billing:creditnote_cancel": "billing.change_creditnote",
    "devices:device_register": "devices.add_device",
    "devices:status_create": "devices.add_devicestatus",
    "devices:status_edit": "devices.change_devicestatus",
    "devices:characteristic_create": "devices.add_characteristic",
    "devices:characteristic_edit": "devices.change_characteristic",
    "devices:device_block": DEVICE,
    "devices:device_unblock": DEVICE,
    "devices:device_move": DEVICE,
    "devices:device_write_off": DEVICE,
    "devices:device_found": DEVICE,
    "devices:device_transfer": "devices.add_device",
    "devices:device_status": DEVICE,
    "devices:device_details": DEVICE,
    "devices:device_assemble": DEVICE,
    "devices:device_disassemble": DEVICE,
}

# Pages whose permission depends on what is posted, and the tests that hold them to it.
PER_POST = {
    "warehouse:imports_apply": "the importer's own permissions, asked again on apply "
    "(tests/warehouse/test_imports.py)",
}

ROLES = ("Warehouse staff", "Billing clerk")
APPS = ("warehouse", "devices", "billing")


def _writing_pages():
    """(name, route) of every page that takes a POST and writes: Django's admin left out,
    and the API's writes, whose role matrix is tests/api/test_permissions.py's (tokens,
    JSON bodies, 401 for the anonymous)."""
    for name, route, view in pages():
        if _accepts_post(view) and name not in WRITE_NOTHING and not name.startswith("api:"):
            yield name, route


def _address(name: str, route: str, ids: dict) -> str:
    short = name.split(":", 1)[1]
    return "/" + PARAM.sub(lambda m: _real_id(short, m[2], ids), route)


def _permissions(*, but=()):
    everything = Permission.objects.filter(content_type__app_label__in=APPS)
    return [
        p
        for p in everything.select_related("content_type")
        if f"{p.content_type.app_label}.{p.codename}" not in but
    ]


def _client(username: str, *, groups=(), permissions=()) -> tuple[Client, object]:
    user = UserFactory(username=username)
    for name in groups:
        user.groups.add(role(name))
    user.user_permissions.add(*permissions)
    client = Client()
    client.force_login(user)
    return client, user


def test_every_writing_page_has_its_expected_permission_written_here():
    pages = dict(_writing_pages())

    assert sorted(set(pages) - set(REQUIRED) - set(PER_POST)) == [], "a new writing page"
    assert sorted((set(REQUIRED) | set(PER_POST)) - set(pages)) == [], "a page that is gone"


@pytest.mark.django_db
def test_each_role_is_refused_every_writing_page_whose_permission_it_lacks(world):  # noqa: F811
    pages = [(n, r) for n, r in _writing_pages() if n in REQUIRED]
    viewer = [p for p in _permissions() if p.codename.startswith("view_")]
    people = {
        "staff": _client("perm-staff", groups=["Warehouse staff"]),
        "clerk": _client("perm-clerk", groups=["Billing clerk"]),
        "reader of everything": _client("perm-reader", permissions=viewer),
        "no permission": _client("perm-nobody"),
    }
    wrong = []
    for name, route in pages:
        address = _address(name, route, world)
        for who, (client, user) in people.items():
            holds = user.has_perm(REQUIRED[name])
            before = _rows()
            status = client.post(address, {}).status_code
            if holds and status == 403:
                wrong.append(f"{who} holds {REQUIRED[name]} but {name} answered 403")
            elif not holds and status != 403:
                wrong.append(f"{who} lacks {REQUIRED[name]} but {name} answered {status}")
            elif not holds and _rows() != before:
                wrong.append(f"{who} was refused {name} but something was written")

    assert wrong == []


@pytest.mark.django_db
def test_every_permission_but_a_pages_own_is_not_enough_to_write_there(world):  # noqa: F811
    """The user beside the page's role: all the others, so any swap to another fails."""
    wrong = []
    for index, (name, route) in enumerate(_writing_pages()):
        if name not in REQUIRED:
            continue
        client, _ = _client(f"perm-but-{index}", permissions=_permissions(but={REQUIRED[name]}))
        before = _rows()
        status = client.post(_address(name, route, world), {}).status_code
        if status != 403 or _rows() != before:
            wrong.append(f"{name} answered {status} without {REQUIRED[name]}")

    assert wrong == []


def test_the_roles_hold_the_write_permissions_their_work_needs():
    """The table above is not vacuous: each role writes somewhere, and not everywhere."""
    from importlib import import_module

    from tests.roles import ROLE_MIGRATIONS

    held = {name: set() for name in ROLES}
    for module in ROLE_MIGRATIONS:
        for name, perms in import_module(module).ROLES.items():
            held.setdefault(name, set()).update(perms)
    for name in ROLES:
        writes = {page for page, perm in REQUIRED.items() if perm in held[name]}
        assert writes, f"{name} writes nowhere"
        assert writes != set(REQUIRED), f"{name} writes everywhere"
