"""The devices pages as a user sees them: what they show, what they change, who may use them.

Devices are always made by the services (stock-in with serials, a
registration), so every page reads devices, history and ledger that agree.
"""

import re
from decimal import Decimal
from html import unescape as html_text

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from devices import services, stock_booking
from devices.models import Characteristic, Device, DeviceStatus, InstalledPart, State
from tests.paging import follow
from tests.warehouse.factories import (
    LocationFactory,
    PartyFactory,
    ProductFactory,
    UserFactory,
    ledger_snapshot,
)
from warehouse.models import Location, Party, WarehouseStock

HTMX = {"HX-Request": "true"}

# --------------------------------------------------------------------------- helpers


def book(location, product, *, serials=(), quantity=None, unit_cost="10.00"):
    """Stock-in through the devices' service: one New device per serial."""
    quantity = Decimal(len(serials)) if quantity is None else Decimal(str(quantity))
    return stock_booking.stock_in(
        actor=None,
        location=location,
        lines=[
            services.stock.StockInLine(
                product=product,
                quantity=quantity,
                unit_cost=Decimal(unit_cost),
                serials=tuple(serials),
            )
        ],
    )


def serials_shown(response) -> list[str]:
    """The serials of the device table, in the order shown."""
    return re.findall(r'<tr data-serial="([^"]+)"', response.content.decode())


def device_row(response, serial: str) -> dict[str, str]:
    """One row of the device table as {column: text}."""
    html = response.content.decode()
    match = re.search(rf'<tr data-serial="{re.escape(serial)}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"{serial} is not in the device table"
    cells = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", match[1], re.S)
    ]
    columns = ["serial", "electronic_id", "product", "state", "owner", "holder", "location"]
    columns += ["reserved", "updated"]
    return dict(zip(columns, cells, strict=True))


def text_of(response) -> str:
    """The page's text, tags removed and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def history_actions(response) -> list[str]:
    return re.findall(r'<li data-action="([^"]+)"', response.content.decode())


def fresh(device: Device) -> Device:
    return Device.objects.get(pk=device.pk)


def unchanged(device: Device):
    """What a refused action must leave as it was: the device, its history, the ledger."""
    device = fresh(device)
    return (
        device.state,
        device.status_id,
        device.owner_id,
        device.location_id,
        device.characteristics,
        device.electronic_id,
        device.events.count(),
        ledger_snapshot(),
    )


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def shelf(warehouse):
    return LocationFactory(warehouse=warehouse, code="A-01", name="Shelf A")


@pytest.fixture
def quarantine(warehouse):
    return LocationFactory(
        warehouse=warehouse, code="Q", name="Quarantine", kind=Location.Kind.QUARANTINE
    )


@pytest.fixture
def router(storage):
    """A traceable product with three New devices in storage."""
    product = ProductFactory(sku="RTR-1", name="Router", traceable=True)
    book(storage, product, serials=["R-1", "R-2", "R-3"])
    return product


@pytest.fixture
def device(router):
    return Device.objects.get(product=router, serial="R-1")


@pytest.fixture
def cable(storage):
    """A counted product, 10 pieces in storage: a part to install."""
    product = ProductFactory(sku="CAB-1", name="Patch cable")
    book(storage, product, quantity=10, unit_cost="2.00")
    return product


@pytest.fixture
def contact(db):
    return PartyFactory(name="Alice Example", kind=Party.Kind.CONTACT)


@pytest.fixture
def merchant(db):
    return PartyFactory(name="Mega Merchant", kind=Party.Kind.MERCHANT)


@pytest.fixture
def sold(device, contact):
    """R-1 sold to a contact."""
    return services.device_transition(
        device=device, action="sell", party=contact, actor=None
    ).device


@pytest.fixture
def blocked(device):
    return services.device_transition(
        device=device, action="block", actor=None, reason="Dent"
    ).device


@pytest.fixture
def superuser_client(client, db):
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    return client


# --------------------------------------------------------------------------- list


def test_list_shows_every_device_whoever_owns_it(staff_client, router, storage, contact):
    """Stocked devices and a contact's own device are listed, each with owner and place."""
    phone = ProductFactory(sku="PHN-1", name="Phone", traceable=True)
    services.device_register_own(
        actor=None, product=phone, serial="P-9", party=contact, electronic_id="IMEI-9"
    )

    response = staff_client.get(reverse("devices:device_list"))

    assert response.status_code == 200
    assert serials_shown(response) == ["P-9", "R-1", "R-2", "R-3"]
    row = device_row(response, "R-1")
    assert row["product"] == "RTR-1"
    assert row["state"] == "New"
    assert row["owner"] == "business"
    assert row["location"] == "main/STOCK"
    assert row["reserved"] == ""
    own = device_row(response, "P-9")
    assert own["owner"] == "Alice Example"
    assert own["state"] == "Own device"
    assert own["electronic_id"] == "IMEI-9"
    assert own["location"] == "—"
    assertContains(response, "4 devices.")
    r1 = Device.objects.get(product=router, serial="R-1")
    assertContains(response, f'<a hx-boost="false" href="{r1.get_absolute_url()}">R-1</a>')


def test_list_escapes_what_users_typed(staff_client, storage):
    """A party's or product's name with markup in it is shown as text, never as HTML."""
    phone = ProductFactory(sku="PHN-<1>", name="Phone", traceable=True)
    owner = PartyFactory(name='<script>alert("x")</script> & Co', kind=Party.Kind.CONTACT)
    services.device_register_own(
        actor=None, product=phone, serial="P-9", party=owner, electronic_id="<i>IMEI</i>"
    )

    response = staff_client.get(reverse("devices:device_list"))

    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<i>IMEI" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html
    row = device_row(response, "P-9")
    assert html_text(row["owner"]) == '<script>alert("x")</script> & Co'
    assert html_text(row["product"]) == "PHN-<1>"
    assert html_text(row["electronic_id"]) == "<i>IMEI</i>"


def test_list_shows_status_spot_and_reservation(staff_client, device):
    """A row names the status beside the state, the spot beside the location, and a reservation."""
    status = DeviceStatus.objects.create(state=State.NEW, name="boxed")
    services.device_status_set(device=device, status=status, actor=None)
    services.device_details_set(device=device, spot="Bin 4", actor=None)
    Device.objects.filter(pk=device.pk).update(reserved_by="ORD-000042")  # billing's field

    row = device_row(staff_client.get(reverse("devices:device_list")), "R-1")

    assert row["state"] == "New boxed"
    assert row["location"] == "main/STOCK · Bin 4"
    assert row["reserved"] == "Reserved · ORD-000042"


def test_list_answers_htmx_with_the_table_only(staff_client, router):
    """A filter change sent by htmx gets only the #device-table part, not a whole page."""
    response = staff_client.get(reverse("devices:device_list"), {"q": "R-2"}, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="device-table"')
    assert "<html" not in html
    assert serials_shown(response) == ["R-2"]


def test_list_filter_form_pushes_a_shareable_url_and_works_without_javascript(staff_client, router):
    """The filter is a GET form (no JavaScript needed) whose htmx request updates the URL."""
    response = staff_client.get(reverse("devices:device_list"))

    assertContains(response, 'method="get"')
    assertContains(response, 'hx-push-url="true"')
    assertContains(response, 'hx-target="#device-table"')
    assertContains(response, "<noscript><button")


def test_list_history_restore_gets_the_whole_page(staff_client, router):
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    response = staff_client.get(reverse("devices:device_list"), {"q": "R-2"}, headers=headers)

    assertContains(response, "<html")
    assert serials_shown(response) == ["R-2"]


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ({"state": "blocked"}, ["R-1"]),
        ({"state": "new"}, ["R-2", "R-3"]),
        ({"product": "rtr-1"}, ["R-1", "R-2", "R-3"]),
        ({"product": "RTR"}, []),
        ({"product": "PHN-1"}, ["P-9"]),
        ({"q": "r-3"}, ["R-3"]),
        ({"q": "aa:bb"}, ["R-2"]),
        ({"owner": "business"}, ["R-1", "R-2", "R-3"]),
        ({"owner": "BUSINESS"}, ["R-1", "R-2", "R-3"]),
        ({"owner": "alice"}, ["P-9"]),
        ({"location": "quarantine"}, ["R-3"]),
        ({"warehouse": "main"}, ["R-1", "R-2", "R-3"]),
        ({"status": "dented"}, ["R-1"]),
    ],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else "",
)
def test_list_filters_devices(staff_client, router, quarantine, contact, query, shown):
    """Each filter narrows the list: state, product SKU, serial or electronic id, owner, place."""
    dented = DeviceStatus.objects.create(state=State.BLOCKED, name="dented")
    r1, r2, r3 = Device.objects.filter(product=router).order_by("serial")
    services.device_transition(device=r1, action="block", status=dented, actor=None, reason="x")
    services.device_details_set(device=r2, electronic_id="AA:BB:CC", actor=None)
    services.device_transition(device=r3, action="move", location=quarantine, actor=None)
    phone = ProductFactory(sku="PHN-1", traceable=True)
    services.device_register_own(actor=None, product=phone, serial="P-9", party=contact)
    values = {
        "quarantine": quarantine.pk,
        "main": quarantine.warehouse_id,
        "dented": dented.pk,
    }
    query = {k: values.get(v, v) for k, v in query.items()}

    response = staff_client.get(reverse("devices:device_list"), query)

    assert response.status_code == 200
    assert serials_shown(response) == shown


def test_list_with_an_invalid_filter_shows_nothing_and_says_why(staff_client, router):
    response = staff_client.get(reverse("devices:device_list"), {"state": "nonsense"})

    assert response.status_code == 200
    assert serials_shown(response) == []
    assertContains(response, "Select a valid choice.")


def test_list_sorts_and_pages(staff_client, storage):
    """Clicking a heading sorts; with more devices than a page holds the next page has the rest."""
    product = ProductFactory(sku="SEN-1", traceable=True)
    book(storage, product, serials=[f"S-{n:02d}" for n in range(30)])

    first = staff_client.get(reverse("devices:device_list"))
    second = follow(staff_client, first, "next")
    descending = staff_client.get(reverse("devices:device_list"), {"sort": "-serial"})

    assert serials_shown(first) == [f"S-{n:02d}" for n in range(25)]
    assert serials_shown(second) == [f"S-{n:02d}" for n in range(25, 30)]
    assert serials_shown(descending)[:2] == ["S-29", "S-28"]


def test_list_offers_register_own_device_to_whoever_may(client, staff_user, clerk_user, router):
    """The clerk registers own devices; warehouse staff do not see the button."""
    register = reverse("devices:device_register")

    client.force_login(clerk_user)
    assertContains(client.get(reverse("devices:device_list")), f'href="{register}"')
    client.force_login(staff_user)
    assertNotContains(client.get(reverse("devices:device_list")), f'href="{register}"')


def _grow(storage, count):
    """`count` more devices, each with an owner, a status, a holder or a spot to show."""
    product = ProductFactory(traceable=True)
    start = Device.objects.count()
    serials = [f"G-{start + n:04d}" for n in range(count)]
    book(storage, product, serials=serials)
    status, _ = DeviceStatus.objects.get_or_create(state=State.USED, name="tested")
    for n, device in enumerate(Device.objects.filter(serial__in=serials).order_by("serial")):
        if n % 3 == 0:
            party = PartyFactory()
            services.device_transition(device=device, action="rent", party=party, actor=None)
        elif n % 3 == 1:
            party = PartyFactory()
            services.device_transition(device=device, action="sell", party=party, actor=None)
        else:
            services.device_details_set(device=device, spot=f"Bin {n}", actor=None)


def test_list_query_count_does_not_grow_with_rows(staff_client, storage, django_assert_num_queries):
    """The device list costs the same number of queries with 5 devices as with 50."""
    url = reverse("devices:device_list")
    _grow(storage, 5)
    with CaptureQueriesContext(connection) as five:
        response = staff_client.get(url, {"per_page": 100})
    assert response.status_code == 200
    assert len(serials_shown(response)) == 5
    _grow(storage, 45)

    with django_assert_num_queries(len(five)):
        response = staff_client.get(url, {"per_page": 100})
    assert len(serials_shown(response)) == 50


# --------------------------------------------------------------------------- device page


def test_device_page_shows_details_characteristics_parts_and_history(
    staff_client, device, cable, storage
):
    """The page names product, serial, state, owner, place, characteristics, parts and history."""
    Characteristic.objects.create(product=device.product, name="RAM", type="number")
    Characteristic.objects.create(product=device.product, name="Colour", type="text")
    services.device_details_set(
        device=device,
        electronic_id="AA:BB",
        spot="Bin 7",
        latitude=Decimal("48.2"),
        longitude=Decimal("16.37"),
        characteristics={"RAM": "512", "Colour": ""},
        actor=None,
    )
    services.device_assemble(
        device=device, part=cable, quantity=Decimal(2), source=storage, actor=None
    )

    response = staff_client.get(device.get_absolute_url())

    assert response.status_code == 200
    text = text_of(response)
    for fact in [
        "RTR-1 #R-1",
        "Electronic id AA:BB",
        "State New",
        "Owner business",
        "Location main/STOCK Main storage",
        "Spot Bin 7",
        "Coordinates 48.200000, 16.370000",
        "RAM 512",
        "Colour —",
        "CAB-1 · Patch cable 2",
    ]:
        assert fact in text, fact
    assert history_actions(response) == ["assemble", "details", "stock_in"]
    assert "RAM: — → 512" in text
    assert "Part: 2 × CAB-1" in text


def test_device_page_shows_the_reservation_badge(staff_client, device):
    Device.objects.filter(pk=device.pk).update(reserved_by="INV-7")

    assertContains(staff_client.get(device.get_absolute_url()), "Reserved · INV-7")


@pytest.mark.parametrize(
    ("state", "offered", "not_offered"),
    [
        ("new", ["block", "move", "write-off", "status", "details", "assemble"], ["unblock"]),
        ("blocked", ["unblock", "move", "write-off"], ["block/", "transfer"]),
        ("sold", ["status", "details"], ["block/", "move", "write-off", "assemble"]),
    ],
)
def test_device_page_offers_the_actions_its_state_allows(
    staff_client, device, contact, state, offered, not_offered
):
    """Only the actions of the transition table for its state are buttons, each a dialog."""
    if state == "blocked":
        services.device_transition(device=device, action="block", actor=None)
    if state == "sold":
        services.device_transition(device=device, action="sell", party=contact, actor=None)

    response = staff_client.get(device.get_absolute_url())

    base = device.get_absolute_url()
    for name in offered:
        assertContains(response, f'hx-get="{base}{name}', msg_prefix=name)
    for name in not_offered:
        assertNotContains(response, f'hx-get="{base}{name}', msg_prefix=name)


def history_entry(response, action: str) -> str:
    """The text of the newest history entry of that action."""
    html = response.content.decode()
    match = re.search(rf'<li data-action="{action}">(.*?)</ul>', html, re.S)
    assert match, f"no {action} in the history"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match[1])).strip()


def test_device_page_history_tells_who_what_from_where_to_where_and_why(
    staff_client, staff_user, device, shelf, contact
):
    services.device_transition(
        device=device, action="move", location=shelf, actor=staff_user, reason="Tidy"
    )
    services.device_transition(
        device=device, action="sell", party=contact, actor=staff_user, reference="INV-1"
    )

    response = staff_client.get(device.get_absolute_url())

    assert history_actions(response) == ["sell", "move", "stock_in"]
    move = history_entry(response, "move")
    assert "· stella Move" in move
    assert "Location: main/STOCK → main/A-01" in move
    assert "Why: Tidy" in move
    sell = history_entry(response, "sell")
    assert "Sell New → Sold" in sell
    assert "Owner: business → Alice Example" in sell
    assert "Reference: INV-1" in sell
    assert "· system Stock-in — → New" in history_entry(response, "stock_in")


def test_unknown_device_is_not_found(staff_client, db):
    assert staff_client.get(reverse("devices:device_detail", args=[999999])).status_code == 404


# --------------------------------------------------------------------------- action dialogs

DIALOGS = {
    "device_block": "Block",
    "device_move": "Move",
    "device_write_off": "Write off",
    "device_status": "Set status",
    "device_details": "Edit details",
    "device_assemble": "Assemble",
}


@pytest.mark.parametrize("name", DIALOGS)
def test_dialog_opened_by_htmx_is_only_the_dialog(staff_client, device, name):
    """Opened from the device page, a dialog answers with its form alone, for the <dialog>."""
    response = staff_client.get(reverse(f"devices:{name}", args=[device.pk]), headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<form")
    assert "<html" not in html
    assertContains(response, f"{DIALOGS[name]} · RTR-1 #R-1")
    assertContains(response, 'hx-target="#dialog"')
    assertContains(response, 'type="submit"')


@pytest.mark.parametrize("name", DIALOGS)
def test_dialog_without_javascript_is_a_whole_page(staff_client, device, name):
    response = staff_client.get(reverse(f"devices:{name}", args=[device.pk]))

    assertContains(response, "<html")
    assertContains(response, f"{DIALOGS[name]} · RTR-1 #R-1")


def test_unblock_transfer_and_disassemble_dialogs_open_where_they_apply(
    superuser_client, blocked, router, contact, cable, storage
):
    sold = Device.objects.get(product=router, serial="R-2")
    services.device_transition(device=sold, action="sell", party=contact, actor=None)
    other = Device.objects.get(product=router, serial="R-3")
    services.device_assemble(
        device=other, part=cable, quantity=Decimal(1), source=storage, actor=None
    )

    client = superuser_client
    unblock = client.get(reverse("devices:device_unblock", args=[blocked.pk]), headers=HTMX)
    parts = client.get(reverse("devices:device_disassemble", args=[other.pk]), headers=HTMX)
    transfer = client.get(reverse("devices:device_transfer", args=[sold.pk]), headers=HTMX)

    assertContains(unblock, "Unblock · RTR-1 #R-1")
    assertContains(parts, "Disassemble · RTR-1 #R-3")
    assertContains(parts, "CAB-1 · Patch cable")
    assertContains(transfer, "Transfer ownership · RTR-1 #R-2")


def test_block_by_htmx_blocks_and_sends_the_browser_to_the_device(staff_client, device):
    """Blocking books no movement but takes the device out of what is available."""
    stock = WarehouseStock.objects.get(product=device.product)
    url = reverse("devices:device_block", args=[device.pk])

    response = staff_client.post(url, {"reason": "Dented case", "status": ""}, headers=HTMX)

    assert response.status_code == 200
    assert response["HX-Redirect"] == device.get_absolute_url()
    assert fresh(device).state == State.BLOCKED
    stock.refresh_from_db()
    assert stock.blocked == 1
    event = fresh(device).events.first()
    assert (event.action, event.reason, event.actor.username) == ("block", "Dented case", "stella")


def test_block_with_a_status_of_blocked_devices(staff_client, device):
    dented = DeviceStatus.objects.create(state=State.BLOCKED, name="dented")
    url = reverse("devices:device_block", args=[device.pk])

    response = staff_client.post(url, {"reason": "Dent", "status": dented.pk})

    assertRedirects(response, device.get_absolute_url())
    assert fresh(device).status == dented


def test_block_offers_only_statuses_of_blocked_devices(staff_client, device):
    DeviceStatus.objects.create(state=State.BLOCKED, name="dented")
    DeviceStatus.objects.create(state=State.USED, name="tested")

    response = staff_client.get(reverse("devices:device_block", args=[device.pk]))

    assertContains(response, ">dented</option>")
    assertNotContains(response, "tested")


def test_action_without_javascript_redirects_with_a_message(staff_client, device):
    url = reverse("devices:device_block", args=[device.pk])

    response = staff_client.post(url, {"reason": "Dent"}, follow=True)

    assertRedirects(response, device.get_absolute_url())
    assertContains(response, "Blocked RTR-1 #R-1")
    assertContains(response, '<span class="badge state-blocked" id="device-state">Blocked</span>')


def test_unblock_brings_back_the_state_before_the_block(staff_client, blocked):
    url = reverse("devices:device_unblock", args=[blocked.pk])

    response = staff_client.post(url, {"reason": "Repaired"}, headers=HTMX)

    assert response["HX-Redirect"] == blocked.get_absolute_url()
    assert fresh(blocked).state == State.NEW
    assert WarehouseStock.objects.get(product=blocked.product).blocked == 0


def test_move_puts_the_device_in_another_location(staff_client, device, shelf):
    url = reverse("devices:device_move", args=[device.pk])

    response = staff_client.post(url, {"location": str(shelf), "reason": "Tidy"}, headers=HTMX)

    assert response["HX-Redirect"] == device.get_absolute_url()
    assert fresh(device).location == shelf


def test_move_to_where_it_already_is_is_refused_on_the_location(staff_client, device, storage):
    before = unchanged(device)
    url = reverse("devices:device_move", args=[device.pk])

    response = staff_client.post(url, {"location": str(storage)}, headers=HTMX)

    assert response.status_code == 200
    assert "HX-Redirect" not in response
    assertContains(response, "RTR-1 #R-1 is already in main/STOCK.")
    assert unchanged(device) == before


def test_write_off_takes_the_device_out_for_good(staff_client, device):
    url = reverse("devices:device_write_off", args=[device.pk])

    response = staff_client.post(url, {"reason": "Broken beyond repair"}, headers=HTMX)

    assert response["HX-Redirect"] == device.get_absolute_url()
    written_off = fresh(device)
    assert written_off.state == State.WRITTEN_OFF
    assert written_off.location.kind == Location.Kind.ADJUSTMENT


def test_write_off_without_a_reason_is_refused_in_the_form(staff_client, device):
    before = unchanged(device)
    url = reverse("devices:device_write_off", args=[device.pk])

    response = staff_client.post(url, {"reason": ""}, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "This field is required.")
    assert unchanged(device) == before


def test_a_written_off_device_found_again_is_put_back_from_its_page(staff_client, device, shelf):
    """The page of a written-off device offers "Found again"; the dialog takes the location
    by code and a reason, and the device is back in stock, New as before."""
    services.device_transition(device=device, action="write_off", actor=None, reason="lost")
    page = staff_client.get(device.get_absolute_url())
    url = reverse("devices:device_found", args=[device.pk])
    assertContains(page, f'hx-get="{url}"')
    assertNotContains(page, reverse("devices:device_write_off", args=[device.pk]))

    response = staff_client.post(
        url, {"location": "A-01", "reason": "Behind the rack"}, headers=HTMX
    )

    assert response["HX-Redirect"] == device.get_absolute_url()
    found = fresh(device)
    assert (found.state, found.location) == (State.NEW, shelf)
    assert "Behind the rack" in text_of(staff_client.get(device.get_absolute_url()))


def test_found_again_refuses_an_incoming_location_in_the_form(staff_client, device):
    """Incoming locations receive deliveries only: the field says so and nothing changes."""
    services.device_transition(device=device, action="write_off", actor=None, reason="lost")
    LocationFactory(warehouse=device.location.warehouse, code="DOCK", kind=Location.Kind.INCOMING)
    before = unchanged(device)

    response = staff_client.post(
        reverse("devices:device_found", args=[device.pk]),
        {"location": "DOCK", "reason": "found"},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert unchanged(device) == before


def test_transfer_moves_ownership_to_a_contact_typed_by_name(clerk_client, sold, contact, merchant):
    """Ownership passes to another contact; the field suggests contacts only."""
    bob = PartyFactory(name="Bob Example")
    url = reverse("devices:device_transfer", args=[sold.pk])

    form = clerk_client.get(url)
    response = clerk_client.post(url, {"party": " bob example ", "reason": "Resold"}, headers=HTMX)

    assertContains(form, 'hx-get="/parties/suggest/?kind=contact&amp;field=party"')
    assertNotContains(form, "Mega Merchant")
    assert response["HX-Redirect"] == sold.get_absolute_url()
    assert fresh(sold).owner == bob
    event = fresh(sold).events.first()
    assert (event.action, event.from_owner, event.to_owner) == ("transfer", contact, bob)


def test_transfer_to_the_owner_is_refused_on_the_party(clerk_client, sold, contact):
    before = unchanged(sold)
    url = reverse("devices:device_transfer", args=[sold.pk])

    response = clerk_client.post(url, {"party": contact.name, "reason": "x"}, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "Alice Example owns RTR-1 #R-1 already.")
    assert unchanged(sold) == before


def test_set_status_offers_the_statuses_of_the_current_state(staff_client, device):
    boxed = DeviceStatus.objects.create(state=State.NEW, name="boxed")
    DeviceStatus.objects.create(state=State.NEW, name="retired", active=False)
    DeviceStatus.objects.create(state=State.USED, name="tested")
    url = reverse("devices:device_status", args=[device.pk])

    form = staff_client.get(url, headers=HTMX)
    response = staff_client.post(url, {"status": boxed.pk, "reason": "Unpacked"}, headers=HTMX)

    assertContains(form, ">boxed</option>")
    assertNotContains(form, "tested")
    assertNotContains(form, "retired")
    assert response["HX-Redirect"] == device.get_absolute_url()
    assert fresh(device).status == boxed
    assert fresh(device).events.first().changes == {"status": ["", "boxed"]}


def test_set_status_that_became_inactive_is_refused(staff_client, device):
    """A status switched off between opening and sending the dialog is refused, nothing set."""
    boxed = DeviceStatus.objects.create(state=State.NEW, name="boxed")
    url = reverse("devices:device_status", args=[device.pk])
    staff_client.get(url)
    DeviceStatus.objects.filter(pk=boxed.pk).update(active=False)
    before = unchanged(device)

    response = staff_client.post(url, {"status": boxed.pk}, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "Select a valid choice.")
    assert unchanged(device) == before


@pytest.fixture
def characteristics(router):
    return {
        "ram": Characteristic.objects.create(
            product=router, name="RAM", type="number", required=True, position=1
        ),
        "colour": Characteristic.objects.create(
            product=router, name="Colour", type="choice", choices="black, white", position=2
        ),
        "wifi": Characteristic.objects.create(
            product=router, name="Wi-Fi", type="boolean", position=3
        ),
        "made": Characteristic.objects.create(product=router, name="Made", type="date", position=4),
        "note": Characteristic.objects.create(product=router, name="Note", position=5),
    }


def test_details_form_has_a_field_per_characteristic(staff_client, device, characteristics):
    response = staff_client.get(reverse("devices:device_details", args=[device.pk]), headers=HTMX)

    for c in characteristics.values():
        assertContains(response, f'name="characteristic_{c.pk}"')
    assertContains(response, '<option value="white">white</option>')
    assertContains(response, '<option value="yes">Yes</option>')
    assertContains(response, 'type="date"')
    assertContains(response, 'name="electronic_id"')
    assertContains(response, 'name="latitude"')


def test_details_saves_characteristics_and_description(staff_client, device, characteristics):
    c = characteristics
    data = {
        "electronic_id": " AA:BB:CC ",
        "spot": "Bin 3",
        "latitude": "48.2",
        "longitude": "16.37",
        f"characteristic_{c['ram'].pk}": "512",
        f"characteristic_{c['colour'].pk}": "white",
        f"characteristic_{c['wifi'].pk}": "yes",
        f"characteristic_{c['made'].pk}": "2024-05-01",
        f"characteristic_{c['note'].pk}": "",
        "reason": "Inspected",
    }

    response = staff_client.post(reverse("devices:device_details", args=[device.pk]), data)

    assertRedirects(response, device.get_absolute_url())
    saved = fresh(device)
    assert saved.electronic_id == "AA:BB:CC"
    assert saved.spot == "Bin 3"
    assert (saved.latitude, saved.longitude) == (Decimal("48.2"), Decimal("16.37"))
    assert saved.characteristics == {
        "RAM": "512",
        "Colour": "white",
        "Wi-Fi": True,
        "Made": "2024-05-01",
    }
    again = staff_client.get(reverse("devices:device_details", args=[device.pk]))
    assertContains(again, '<option value="yes" selected>Yes</option>')
    assertContains(again, 'value="512"')


def test_details_service_errors_land_on_their_characteristic(staff_client, device, characteristics):
    """What the characteristics' rules refuse is said on that characteristic's field."""
    c = characteristics
    before = unchanged(device)
    data = {
        f"characteristic_{c['ram'].pk}": "lots",
        f"characteristic_{c['made'].pk}": "2024-13-45",
    }

    response = staff_client.post(
        reverse("devices:device_details", args=[device.pk]), data, headers=HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    ram = re.search(rf'name="characteristic_{c["ram"].pk}".*?</label>', html, re.S)[0]
    made = re.search(rf'name="characteristic_{c["made"].pk}".*?</label>', html, re.S)[0]
    assert "“lots” is not a number." in ram
    assert "“2024-13-45” is not a date (YYYY-MM-DD)." in made
    assert unchanged(device) == before


def test_details_required_characteristic_is_asked_for(staff_client, device, characteristics):
    before = unchanged(device)

    response = staff_client.post(
        reverse("devices:device_details", args=[device.pk]), {"spot": "x"}, headers=HTMX
    )

    assertContains(response, "This field is required.")
    assert unchanged(device) == before


def test_details_electronic_id_of_another_device_is_refused(staff_client, router, device):
    other = Device.objects.get(product=router, serial="R-2")
    services.device_details_set(device=other, electronic_id="AA:BB", actor=None)
    before = unchanged(device)

    response = staff_client.post(
        reverse("devices:device_details", args=[device.pk]),
        {"electronic_id": "AA:BB"},
        headers=HTMX,
    )

    assert response.status_code == 200
    assertContains(response, "Electronic id AA:BB already exists (RTR-1 #R-2, New).")
    assert unchanged(device) == before


def test_assemble_installs_a_counted_part_from_storage(staff_client, device, cable, storage):
    url = reverse("devices:device_assemble", args=[device.pk])
    data = {"part": cable.sku, "quantity": "3", "source": str(storage), "reason": "Spares"}

    response = staff_client.post(url, data, headers=HTMX)

    assert response["HX-Redirect"] == device.get_absolute_url()
    assert InstalledPart.objects.get(device=device, product=cable).quantity == 3
    assert WarehouseStock.objects.get(product=cable).in_hand == 7


def test_assemble_takes_counted_products_only(staff_client, device, cable, router, storage):
    """The part is typed by SKU; a traceable product's SKU is refused, nothing changes."""
    before = unchanged(device)
    url = reverse("devices:device_assemble", args=[device.pk])

    form = staff_client.get(url)
    data = {"part": router.sku, "quantity": "1", "source": str(storage)}
    response = staff_client.post(url, data, headers=HTMX)

    assertContains(form, 'hx-get="/products/suggest/?traceable=no&amp;field=part"')
    assertNotContains(form, "CAB-1")  # no option per product
    assertContains(response, "No active counted product has SKU “RTR-1”.")
    assert unchanged(device) == before


def test_assemble_more_than_in_stock_is_refused_in_the_dialog(staff_client, device, cable, storage):
    before = unchanged(device)
    url = reverse("devices:device_assemble", args=[device.pk])
    data = {"part": cable.sku, "quantity": "11", "source": str(storage)}

    response = staff_client.post(url, data, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "Not enough CAB-1 (Patch cable) in main/STOCK")
    assert unchanged(device) == before
    assert not InstalledPart.objects.exists()


def test_disassemble_takes_a_part_back_to_quarantine(
    staff_client, device, cable, storage, quarantine
):
    services.device_assemble(
        device=device, part=cable, quantity=Decimal(3), source=storage, actor=None
    )
    url = reverse("devices:device_disassemble", args=[device.pk])
    data = {"part": cable.pk, "quantity": "2", "destination": str(quarantine), "reason": "Faulty"}

    response = staff_client.post(url, data, headers=HTMX)

    assert response["HX-Redirect"] == device.get_absolute_url()
    assert InstalledPart.objects.get(device=device, product=cable).quantity == 1


def test_disassemble_more_than_installed_is_refused(staff_client, device, cable, storage):
    services.device_assemble(
        device=device, part=cable, quantity=Decimal(1), source=storage, actor=None
    )
    before = unchanged(device)
    url = reverse("devices:device_disassemble", args=[device.pk])
    data = {"part": cable.pk, "quantity": "2", "destination": str(storage)}

    response = staff_client.post(url, data, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "Not enough CAB-1")
    assert unchanged(device) == before


# --------------------------------------------------------------------------- refusals by state


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("device_unblock", {"reason": "x"}, "RTR-1 #R-1 is Sold: “unblock” is not allowed."),
        ("device_block", {"reason": "x"}, "RTR-1 #R-1 is Sold: “block” is not allowed."),
        ("device_move", {"location": "storage"}, "RTR-1 #R-1 is Sold: “move” is not allowed."),
        ("device_write_off", {"reason": "x"}, "RTR-1 #R-1 is Sold: “write off” is not allowed."),
        (
            "device_assemble",
            {"part": "cable", "quantity": "1", "source": "storage"},
            "RTR-1 #R-1 is Sold: “install parts in” is not allowed.",
        ),
        (
            "device_disassemble",
            {"part": "cable", "quantity": "1", "destination": "storage"},
            "RTR-1 #R-1 is Sold: “take parts out of” is not allowed.",
        ),
    ],
)
def test_action_the_state_does_not_allow_answers_with_the_refusal(
    superuser_client, sold, cable, storage, name, data, message
):
    """An action URL the device's state does not allow says why, shown or posted; never a 500."""
    data = {k: {"storage": str(storage), "cable": cable.pk}.get(v, v) for k, v in data.items()}
    url = reverse(f"devices:{name}", args=[sold.pk])
    before = unchanged(sold)

    shown = superuser_client.get(url, headers=HTMX)
    posted = superuser_client.post(url, data, headers=HTMX)
    posted_empty = superuser_client.post(url, {}, headers=HTMX)

    for response in (shown, posted, posted_empty):
        assert response.status_code == 200
        assertContains(response, message)
        assertNotContains(response, 'type="submit"')
    assert unchanged(sold) == before


def test_transfer_of_a_device_in_stock_is_refused(superuser_client, device, contact):
    url = reverse("devices:device_transfer", args=[device.pk])
    before = unchanged(device)

    response = superuser_client.post(url, {"party": contact.name, "reason": "x"}, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "RTR-1 #R-1 is New: “transfer ownership” is not allowed.")
    assert unchanged(device) == before


def test_block_of_a_reserved_device_is_refused(staff_client, device):
    """The service's word is final: a reserved device is not blocked, whatever the page showed."""
    Device.objects.filter(pk=device.pk).update(reserved_by="ORD-1")
    before = unchanged(device)

    response = staff_client.post(
        reverse("devices:device_block", args=[device.pk]), {"reason": "x"}, headers=HTMX
    )

    assert response.status_code == 200
    assertContains(response, "RTR-1 #R-1 is reserved by ORD-1: “block” is not allowed.")
    assert unchanged(device) == before


def test_disassemble_without_parts_says_so(staff_client, device):
    response = staff_client.get(reverse("devices:device_disassemble", args=[device.pk]))

    assertContains(response, "No parts are installed in RTR-1 #R-1.")


# --------------------------------------------------------------------------- register own device


def test_register_own_device_suggests_traceable_products_and_contacts(
    clerk_client, router, cable, contact, merchant
):
    response = clerk_client.get(reverse("devices:device_register"))

    assert response.status_code == 200
    assertContains(response, 'hx-get="/products/suggest/?traceable=yes&amp;field=product"')
    assertContains(response, 'hx-get="/parties/suggest/?kind=contact&amp;field=party"')
    assertNotContains(response, "<option")


def test_register_own_device_refuses_a_counted_product_and_a_merchant(
    clerk_client, router, cable, contact, merchant
):
    """A counted product's SKU and a merchant's name are refused on their fields."""
    before = ledger_snapshot(), Device.objects.count()
    data = {"product": cable.sku, "serial": "OWN-1", "party": merchant.name}

    response = clerk_client.post(reverse("devices:device_register"), data, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "No active traceable product has SKU “CAB-1”.")
    assertContains(response, "No active contact is named “Mega Merchant”.")
    assert (ledger_snapshot(), Device.objects.count()) == before


def test_register_own_device_creates_it_owned_by_the_contact(clerk_client, router, contact):
    data = {
        "product": router.sku,
        "serial": "OWN-1",
        "electronic_id": "IMEI-1",
        "party": contact.name,
        "reason": "",
    }

    response = clerk_client.post(reverse("devices:device_register"), data, follow=True)

    own = Device.objects.get(serial="OWN-1")
    assertRedirects(response, own.get_absolute_url())
    assert (own.state, own.owner, own.location) == (State.OWN, contact, None)
    assertContains(response, "Registered RTR-1 #OWN-1 as an own device of Alice Example.")


def test_register_own_device_of_a_stocked_serial_is_refused(clerk_client, router, contact):
    before = ledger_snapshot(), Device.objects.count()
    data = {"product": router.sku, "serial": "R-1", "party": contact.name}

    response = clerk_client.post(reverse("devices:device_register"), data, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "RTR-1 #R-1 is New: “register as an own device” is not allowed.")
    assert (ledger_snapshot(), Device.objects.count()) == before


# --------------------------------------------------------------------------- statuses


def test_status_list_groups_statuses_by_state(staff_client, device):
    DeviceStatus.objects.create(state=State.USED, name="awaiting test")
    DeviceStatus.objects.create(state=State.USED, name="tested", active=False)
    boxed = DeviceStatus.objects.create(state=State.NEW, name="boxed")
    services.device_status_set(device=device, status=boxed, actor=None)

    response = staff_client.get(reverse("devices:status_list"))

    html = response.content.decode()
    used = re.search(r'<tbody data-state="used">(.*?)</tbody>', html, re.S)[1]
    new = re.search(r'<tbody data-state="new">(.*?)</tbody>', html, re.S)[1]
    assert "awaiting test" in used
    assert "tested" in used
    assert "inactive" in used
    assert "boxed" in new
    assert ">1</td>" in new
    assert "No statuses." in re.search(r'<tbody data-state="sold">(.*?)</tbody>', html, re.S)[1]


def test_status_create_and_edit(staff_client, db):
    create = reverse("devices:status_create")

    response = staff_client.post(create, {"name": "awaiting test", "state": "used", "active": "on"})

    status = DeviceStatus.objects.get(name="awaiting test")
    assertRedirects(response, reverse("devices:status_list"))
    assert (status.state, status.active) == (State.USED, True)

    edit = reverse("devices:status_edit", args=[status.pk])
    staff_client.post(edit, {"name": "to test", "state": "used"})
    status.refresh_from_db()
    assert (status.name, status.active) == ("to test", False)


def test_status_name_is_unique_within_its_state(staff_client, db):
    DeviceStatus.objects.create(state=State.USED, name="tested")

    response = staff_client.post(
        reverse("devices:status_create"), {"name": "tested", "state": "used"}
    )

    assert response.status_code == 200
    assertContains(response, "already exists")
    assert DeviceStatus.objects.count() == 1


def test_status_carried_by_devices_keeps_its_state(staff_client, device):
    boxed = DeviceStatus.objects.create(state=State.NEW, name="boxed")
    services.device_status_set(device=device, status=boxed, actor=None)

    response = staff_client.post(
        reverse("devices:status_edit", args=[boxed.pk]), {"name": "boxed", "state": "used"}
    )

    assertContains(response, "Devices carry this status: its state can no longer change.")
    boxed.refresh_from_db()
    assert boxed.state == State.NEW


def test_status_create_from_a_state_has_it_chosen(staff_client, db):
    response = staff_client.get(reverse("devices:status_create"), {"state": "blocked"})

    assertContains(response, '<option value="blocked" selected>')


# --------------------------------------------------------------------------- characteristics


def test_characteristic_list_add_and_edit(staff_client, router):
    url = reverse("devices:characteristic_list", args=[router.pk])
    create = reverse("devices:characteristic_create", args=[router.pk])

    empty = staff_client.get(url)
    added = staff_client.post(
        create,
        {"name": "Colour", "type": "choice", "required": "on", "choices": "black, white"},
    )
    colour = Characteristic.objects.get(product=router, name="Colour")
    edit = reverse("devices:characteristic_edit", args=[router.pk, colour.pk])
    staff_client.post(edit, {"name": "Colour", "type": "choice", "choices": "black, white, red"})
    listed = staff_client.get(url)

    assertContains(empty, "RTR-1 defines no characteristics yet.")
    assertRedirects(added, url)
    colour.refresh_from_db()
    assert (colour.required, colour.options) == (False, ["black", "white", "red"])
    assertContains(listed, "black, white, red")
    assertContains(listed, "Choice")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Colour", "type": "choice", "choices": ""}, "A choice needs its options"),
        ({"name": "RAM", "type": "number", "choices": "a, b"}, "Only a choice has options."),
        ({"name": "ram", "type": "text", "choices": ""}, "RTR-1 has a characteristic “ram”."),
    ],
)
def test_characteristic_bad_definition_is_refused(staff_client, router, data, message):
    Characteristic.objects.create(product=router, name="RAM", type="number")

    response = staff_client.post(
        reverse("devices:characteristic_create", args=[router.pk]), {"position": 0, **data}
    )

    assert response.status_code == 200
    assertContains(response, message)
    assert Characteristic.objects.count() == 1


def test_characteristic_with_values_keeps_its_name(staff_client, device):
    ram = Characteristic.objects.create(product=device.product, name="RAM", type="number")
    services.device_details_set(device=device, characteristics={"RAM": "4"}, actor=None)
    edit = reverse("devices:characteristic_edit", args=[device.product_id, ram.pk])

    response = staff_client.post(edit, {"name": "Memory", "type": "number", "position": 0})

    assertContains(response, "Devices carry a value of “RAM”: it keeps its name.")


def test_characteristics_of_a_counted_product_are_not_found(staff_client, cable):
    url = reverse("devices:characteristic_list", args=[cable.pk])

    assert staff_client.get(url).status_code == 404


# --------------------------------------------------------------------------- stock balance link


def test_balance_links_traceable_products_to_their_devices(staff_client, router, cable):
    """The stock balance has "View devices" on traceable products only."""
    response = staff_client.get(reverse("warehouse:balance"))

    html = response.content.decode()
    rtr = re.search(r'<tr data-sku="RTR-1".*?</tr>', html, re.S)[0]
    cab = re.search(r'<tr data-sku="CAB-1".*?</tr>', html, re.S)[0]
    assert f'href="{reverse("devices:device_list")}?product=RTR-1"' in rtr
    assert "View devices" not in cab


def test_navigation_links_the_device_list(staff_client, router):
    response = staff_client.get(reverse("devices:device_list"))

    assertContains(response, f'<a href="{reverse("devices:device_list")}" aria-current="page">')


# --------------------------------------------------------------------------- roles


def test_roles_carry_the_device_permissions(db):
    staff = Group.objects.get(name="Warehouse staff")
    clerk = Group.objects.get(name="Billing clerk")

    def codenames(group):
        return set(
            group.permissions.filter(content_type__app_label="devices").values_list(
                "codename", flat=True
            )
        )

    assert codenames(staff) == {
        "view_device",
        "change_device",
        "view_deviceevent",
        "view_devicestatus",
        "add_devicestatus",
        "change_devicestatus",
        "view_characteristic",
        "add_characteristic",
        "change_characteristic",
        "view_installedpart",
    }
    assert codenames(clerk) == {"view_device", "view_deviceevent", "add_device"}
    assert "warehouse.book_stock" not in {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(group=clerk).select_related("content_type")
    }


def test_billing_clerk_reads_devices_but_may_not_handle_them(clerk_client, device, shelf):
    """A clerk sees the list and the device page, without buttons, and gets 403 on block/move."""
    page = clerk_client.get(device.get_absolute_url())
    before = unchanged(device)

    assert clerk_client.get(reverse("devices:device_list")).status_code == 200
    assert page.status_code == 200
    assertNotContains(page, 'hx-target="#dialog"')
    for name, data in [
        ("device_block", {"reason": "x"}),
        ("device_move", {"location": str(shelf)}),
        ("device_unblock", {"reason": "x"}),
        ("device_write_off", {"reason": "x"}),
        ("device_found", {"location": "A-01", "reason": "x"}),
        ("device_status", {}),
        ("device_details", {}),
        ("device_assemble", {}),
        ("device_disassemble", {}),
    ]:
        url = reverse(f"devices:{name}", args=[device.pk])
        assert clerk_client.get(url).status_code == 403, name
        assert clerk_client.get(url, headers=HTMX).status_code == 403, name
        assert clerk_client.post(url, data).status_code == 403, name
    assert clerk_client.get(reverse("devices:status_create")).status_code == 403
    assert unchanged(device) == before


def test_warehouse_staff_may_not_register_or_transfer(staff_client, sold):
    assert staff_client.get(reverse("devices:device_register")).status_code == 403
    assert staff_client.get(reverse("devices:device_transfer", args=[sold.pk])).status_code == 403


def test_user_without_a_role_is_refused_the_devices(client, device):
    client.force_login(UserFactory(username="nobody"))

    assert client.get(reverse("devices:device_list")).status_code == 403
    assert client.get(device.get_absolute_url()).status_code == 403


def test_anonymous_user_is_sent_to_login(client, device):
    for url in [reverse("devices:device_list"), device.get_absolute_url()]:
        response = client.get(url)
        assertRedirects(response, reverse("login") + f"?next={url}", fetch_redirect_response=False)
    response = client.post(reverse("devices:device_block", args=[device.pk]), {"reason": "x"})
    assert response.status_code == 302
    assert fresh(device).state == State.NEW


# --------------------------------------------------------------------------- admin


def test_admin_pages_open_and_devices_are_not_added_there(superuser_client, device):
    services.device_status_set(
        device=device,
        status=DeviceStatus.objects.create(state=State.NEW, name="boxed"),
        actor=None,
    )
    for name in ["device", "devicestatus", "characteristic", "deviceevent", "installedpart"]:
        url = reverse(f"admin:devices_{name}_changelist")
        assert superuser_client.get(url).status_code == 200, name
    change = superuser_client.get(reverse("admin:devices_device_change", args=[device.pk]))
    assert change.status_code == 200
    assert superuser_client.get(reverse("admin:devices_device_add")).status_code == 403
    event = device.events.first()
    event_url = reverse("admin:devices_deviceevent_change", args=[event.pk])
    assertNotContains(superuser_client.get(event_url), 'type="submit" value="Save"')


def test_admin_edit_of_a_device_goes_through_the_services(superuser_client, device):
    """Edited in the admin, a device's spot changes with a history event; its state cannot."""
    url = reverse("admin:devices_device_change", args=[device.pk])
    data = {
        "electronic_id": "",
        "status": "",
        "spot": "Top shelf",
        "latitude": "",
        "longitude": "",
        "characteristics": "{}",
        "state": "sold",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
        "parts-TOTAL_FORMS": "0",
        "parts-INITIAL_FORMS": "0",
    }

    response = superuser_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    saved = fresh(device)
    assert (saved.spot, saved.state) == ("Top shelf", State.NEW)
    assert saved.events.first().action == "details"


# --------------------------------------------------------------------------- typed fields


def test_transfer_to_a_merchant_picked_by_its_id_is_refused(clerk_client, sold, merchant):
    """Even a suggestion value carrying a merchant's id is refused: contacts only."""
    before = unchanged(sold)
    url = reverse("devices:device_transfer", args=[sold.pk])

    response = clerk_client.post(
        url, {"party": f"Mega Merchant · #{merchant.pk}", "reason": "Resold"}, headers=HTMX
    )

    assert response.status_code == 200
    assertContains(response, "No active contact is named “Mega Merchant · #")
    assert unchanged(sold) == before


def test_transfer_to_a_name_two_contacts_share_asks_to_pick_one(clerk_client, sold, contact):
    twin = PartyFactory(name="Bob Example")
    PartyFactory(name="BOB EXAMPLE")
    url = reverse("devices:device_transfer", args=[sold.pk])

    refused = clerk_client.post(url, {"party": "Bob Example", "reason": "x"}, headers=HTMX)
    picked = clerk_client.post(
        url, {"party": f"Bob Example · #{twin.pk}", "reason": "x"}, headers=HTMX
    )

    assertContains(refused, "2 contacts are named “Bob Example”: pick one from the suggestions.")
    assert picked["HX-Redirect"] == sold.get_absolute_url()
    assert fresh(sold).owner == twin


def test_the_device_forms_cost_the_same_however_many_products_and_parties(
    superuser_client, router, sold, cable
):
    """Register, transfer and assemble: no option per product or party."""
    in_stock = Device.objects.get(product=router, serial="R-2")
    urls = [
        reverse("devices:device_register"),
        reverse("devices:device_transfer", args=[sold.pk]),
        reverse("devices:device_assemble", args=[in_stock.pk]),
    ]

    def cost(url):
        with CaptureQueriesContext(connection) as queries:
            response = superuser_client.get(url)
        assert response.status_code == 200
        return len(queries), response.content.decode().count("<option")

    small = [cost(url) for url in urls]
    for n in range(30):
        ProductFactory(sku=f"GROW-{n}")
        ProductFactory(sku=f"GROWT-{n}", traceable=True)
        PartyFactory(name=f"Grown {n}")

    assert [cost(url) for url in urls] == small
