"""The billing pages as a clerk sees them: what they show, what each button does, who may use them.

Stock and documents are made through the services (`tests.billing.factories`),
so every page reads books that agree; the pages themselves are driven by GET
and POST as the browser sends them, with and without htmx.
"""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from billing import services
from billing.models import CreditNote, DocumentSequence, Invoice, Order, OrderLine, Rental
from devices.models import Device, State
from tests.billing.factories import (
    balance,
    devices_in,
    goods_in,
    rental,
    sale,
    shop_create,
    snapshot,
)
from tests.warehouse.factories import PartyFactory, ProductFactory, UserFactory
from warehouse.models import Party, Reservation

pytestmark = pytest.mark.django_db

D = Decimal
HTMX = {"HX-Request": "true"}


# --------------------------------------------------------------------------- helpers


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def table_rows(response, table_id: str) -> list[list[str]]:
    """The body rows of the table with that id, as lists of cell texts."""
    html = response.content.decode()
    match = re.search(rf'<table id="{table_id}"[^>]*>(.*?)</table>', html, re.S)
    assert match, f"no table #{table_id} on the page"
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", match[1], re.S)[1]
    return [
        [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def numbers(response, table_id: str) -> list[str]:
    """The document numbers of a list, in the order shown."""
    return [row[0] for row in table_rows(response, table_id)]


def grand_total(response) -> str:
    match = re.search(r'id="grand-total">([^<]*)<', response.content.decode())
    assert match, "no grand total on the page"
    return match[1].strip()


def document_post(party, warehouse, lines, **fields) -> dict:
    """The POST of a new order or invoice: header fields and the formset of lines."""
    data = {
        "party": party.name,
        "warehouse": warehouse.pk,
        "notes": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for i, line in enumerate(lines):
        for name, value in line.items():
            data[f"lines-{i}-{name}"] = value
    return data


def order_of(shop, *lines, party=None) -> Order:
    return services.order_create(
        actor=shop.clerk, party=party or shop.alice, warehouse=shop.warehouse, lines=lines
    )


def invoice_of(shop, *lines, party=None) -> Invoice:
    return services.invoice_create(
        actor=shop.clerk, party=party or shop.alice, warehouse=shop.warehouse, lines=lines
    )


@pytest.fixture
def shop(db):
    """Main warehouse: 10 m of cable, 5 routers and three modems in storage; Alice; Acme."""
    shop = shop_create()
    goods_in(shop.stock, shop.cable, 10, "1.00")
    goods_in(shop.stock, shop.router, 5, "40.00")
    shop.modems = devices_in(shop.stock, shop.modem, "M-1", "M-2", "M-3")
    shop.acme = PartyFactory(name="Acme Telecom", kind=Party.Kind.MERCHANT, email="buy@acme.test")
    return shop


@pytest.fixture
def nobody_client(client, db):
    """A logged-in user in no group: may see no billing page."""
    client.force_login(UserFactory(username="nora"))
    return client


# --------------------------------------------------------------------------- who may


def test_anonymous_visitor_is_sent_to_log_in(client, db):
    """Every billing page needs a login."""
    for name in ("billing:order_list", "billing:invoice_list", "billing:party_list"):
        url = reverse(name)
        assertRedirects(
            client.get(url), f"{reverse('login')}?next={url}", fetch_redirect_response=False
        )


def test_user_without_a_role_gets_403_everywhere(nobody_client, shop):
    """Without the billing clerk's (or warehouse staff's) permissions every page answers 403."""
    order = order_of(shop, sale(shop.cable, 2))
    invoice = invoice_of(shop, sale(shop.cable, 1))
    gets = [
        reverse("billing:order_list"),
        reverse("billing:order_create"),
        order.get_absolute_url(),
        reverse("billing:order_print", args=[order.pk]),
        reverse("billing:invoice_list"),
        invoice.get_absolute_url(),
        reverse("billing:party_list"),
        reverse("billing:party_detail", args=[shop.alice.pk]),
        reverse("billing:document_redirect", args=["order", order.pk]),
    ]
    for url in gets:
        assert nobody_client.get(url).status_code == 403, url
    posts = [
        reverse("billing:order_confirm", args=[order.pk]),
        reverse("billing:order_cancel", args=[order.pk]),
        reverse("billing:invoice_post", args=[invoice.pk]),
        reverse("billing:order_create"),
        reverse("billing:party_create"),
    ]
    for url in posts:
        assert nobody_client.post(url).status_code == 403, url
    assert Order.objects.get().status == Order.Status.DRAFT


def test_warehouse_staff_read_documents_but_do_not_change_them(staff_client, shop):
    """Warehouse staff see orders and invoices, without buttons; a step they post is 403."""
    order = order_of(shop, sale(shop.cable, 2))

    page = staff_client.get(order.get_absolute_url())
    confirm = staff_client.post(reverse("billing:order_confirm", args=[order.pk]))

    assert page.status_code == 200
    assertNotContains(page, ">Confirm</button>")
    assert confirm.status_code == 403
    assert staff_client.get(reverse("billing:invoice_list")).status_code == 200
    assert staff_client.get(reverse("billing:order_create")).status_code == 403


def test_the_billing_clerk_role_holds_the_document_permissions(db):
    """The roles migration gives clerks view/add/change of documents, staff view only."""
    clerk = set(
        Group.objects.get(name="Billing clerk").permissions.values_list("codename", flat=True)
    )
    staff = set(
        Group.objects.get(name="Warehouse staff").permissions.values_list("codename", flat=True)
    )
    for model in ("order", "orderline", "invoice", "invoiceline", "creditnote", "rental"):
        assert {f"view_{model}", f"add_{model}", f"change_{model}"} <= clerk
        assert f"view_{model}" in staff
        assert f"change_{model}" not in staff
    assert {"add_party", "change_party", "view_party"} <= clerk


def test_navigation_links_to_billing(clerk_client, shop):
    """The main navigation's Billing entry opens the orders and is marked current there."""
    response = clerk_client.get(reverse("billing:order_list"))

    assertContains(response, f'<a href="{reverse("billing:order_list")}" aria-current="page"')


# --------------------------------------------------------------------------- parties


def test_party_list_shows_parties_in_a_table(clerk_client, shop):
    response = clerk_client.get(reverse("billing:party_list"))

    assert response.status_code == 200
    rows = table_rows(response, "parties")
    assert [row[0] for row in rows] == ["Acme Telecom", "Alice"]
    assert rows[0][1] == "Merchant / service provider"
    assertContains(response, "2 parties.")
    assertContains(response, f'href="{reverse("billing:party_detail", args=[shop.acme.pk])}"')


def test_party_list_filters_by_kind_and_text(clerk_client, shop):
    """Kind and a text (name, e-mail ...) narrow the list; inactive parties are hidden."""
    PartyFactory(name="Old customer", active=False)
    url = reverse("billing:party_list")

    merchants = clerk_client.get(url, {"kind": "merchant"})
    contacts = clerk_client.get(url, {"kind": "contact"})
    by_mail = clerk_client.get(url, {"q": "ACME.TEST"})
    everyone = clerk_client.get(url, {"active": ""})

    assert [r[0] for r in table_rows(merchants, "parties")] == ["Acme Telecom"]
    assert [r[0] for r in table_rows(contacts, "parties")] == ["Alice"]
    assert [r[0] for r in table_rows(by_mail, "parties")] == ["Acme Telecom"]
    assert [r[0] for r in table_rows(everyone, "parties")] == [
        "Acme Telecom",
        "Alice",
        "Old customer inactive",
    ]


def test_party_list_answers_htmx_with_the_table_alone(clerk_client, shop):
    response = clerk_client.get(reverse("billing:party_list"), {"kind": "merchant"}, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="party-table"')
    assert "<html" not in html
    assert [r[0] for r in table_rows(response, "parties")] == ["Acme Telecom"]


def test_clerk_creates_and_edits_a_party(clerk_client, db):
    response = clerk_client.post(
        reverse("billing:party_create"),
        {"kind": "merchant", "name": "Beta Networks", "email": "ops@beta.test", "active": "on"},
    )

    party = Party.objects.get(name="Beta Networks")
    assertRedirects(response, reverse("billing:party_detail", args=[party.pk]))
    edit = clerk_client.post(
        reverse("billing:party_edit", args=[party.pk]),
        {"kind": "merchant", "name": "Beta Networks Ltd", "vat_number": "BE0123", "active": "on"},
    )
    assert edit.status_code == 302
    party.refresh_from_db()
    assert (party.name, party.vat_number) == ("Beta Networks Ltd", "BE0123")


def test_party_form_shows_its_errors(clerk_client, db):
    response = clerk_client.post(reverse("billing:party_create"), {"kind": "contact", "name": ""})

    assert response.status_code == 200
    assertContains(response, "This field is required.")
    assert not Party.objects.exists()


def test_party_page_shows_what_it_owns_rents_and_its_documents(clerk_client, shop):
    """Sold devices are owned; rented ones are listed with a Return button; documents follow."""
    bought = invoice_of(shop, sale(shop.modem, 1, device=shop.modems[0]))
    services.invoice_post(invoice=bought, actor=shop.clerk)
    rented = order_of(shop, rental(shop.modem, 1, device=shop.modems[1]))
    services.order_confirm(order=rented, actor=shop.clerk)
    services.order_complete(order=rented, actor=shop.clerk)
    draft = order_of(shop, sale(shop.cable, 3))

    response = clerk_client.get(reverse("billing:party_detail", args=[shop.alice.pk]))

    assert response.status_code == 200
    assert table_rows(response, "owned-devices") == [["MOD-1 Modem", "M-1", "Sold", ""]]
    (rent_row,) = table_rows(response, "rentals")
    assert rent_row[:3] == ["MOD-1 Modem", "M-2", rented.number]
    rental_row = Rental.objects.get()
    assertContains(response, f'hx-get="{reverse("billing:rental_return", args=[rental_row.pk])}"')
    assert numbers(response, "party-orders") == [draft.number, rented.number]
    assert numbers(response, "party-invoices") == [bought.number]
    assertContains(response, f'href="{reverse("billing:order_create")}?party={shop.alice.pk}"')


def test_party_page_links_devices_when_the_devices_pages_exist(clerk_client, shop):
    """A device links to its page when "devices:device_detail" exists, else reads as text."""
    invoice = invoice_of(shop, sale(shop.modem, 1, device=shop.modems[0]))
    services.invoice_post(invoice=invoice, actor=shop.clerk)

    response = clerk_client.get(reverse("billing:party_detail", args=[shop.alice.pk]))

    try:
        url = reverse("devices:device_detail", args=[shop.modems[0].pk])
    except Exception:  # noqa: BLE001 - the devices pages are built in parallel
        assertContains(response, '<span class="serial">M-1</span>')
    else:
        assertContains(response, f'<a class="serial" href="{url}">M-1</a>')


def test_rental_return_dialog_brings_the_device_back(clerk_client, shop):
    """Return offers the order's storage and quarantine places; the device comes back Used."""
    order = order_of(shop, rental(shop.modem, 1, device=shop.modems[0]))
    services.order_confirm(order=order, actor=shop.clerk)
    services.order_complete(order=order, actor=shop.clerk)
    rent = Rental.objects.get()
    url = reverse("billing:rental_return", args=[rent.pk])

    dialog = clerk_client.get(url, headers=HTMX)
    returned = clerk_client.post(
        url, {"location": str(shop.quarantine), "reason": "Screen cracked"}, headers=HTMX
    )

    assert dialog.status_code == 200
    assertContains(dialog, 'id="dialog-title"')
    # Typed; suggested among the order's warehouse's storage and quarantine places.
    assertContains(dialog, f"?kind=storage%2Cquarantine&amp;warehouse={shop.warehouse.pk}")
    assertNotContains(dialog, "<html")
    assert returned.status_code == 200
    assert returned["HX-Redirect"] == reverse("billing:party_detail", args=[shop.alice.pk])
    device = Device.objects.get(pk=shop.modems[0].pk)
    assert (device.state, device.location_id) == (State.USED, shop.quarantine.pk)
    rent.refresh_from_db()
    assert rent.returned_at is not None
    assert table_rows(clerk_client.get(returned["HX-Redirect"]), "rentals") == [["Rents nothing."]]


def test_rental_return_refused_twice_shows_the_message(clerk_client, shop):
    order = order_of(shop, rental(shop.modem, 1, device=shop.modems[0]))
    services.order_confirm(order=order, actor=shop.clerk)
    services.order_complete(order=order, actor=shop.clerk)
    rent = Rental.objects.get()
    services.rental_return(rental=rent, location=shop.stock, actor=shop.clerk)

    response = clerk_client.post(
        reverse("billing:rental_return", args=[rent.pk]), {"location": str(shop.stock)}
    )

    assert response.status_code == 200
    assertContains(response, "MOD-1 #M-1 came back already.")


# --------------------------------------------------------------------------- order list


def test_order_list_shows_orders_with_their_totals(clerk_client, shop):
    first = order_of(shop, sale(shop.cable, 4), sale(shop.router, 1))  # 10.00 + 80.00
    second = order_of(shop, sale(shop.cable, 1, unit_price=D("3.333")), party=shop.acme)

    response = clerk_client.get(reverse("billing:order_list"))

    assert response.status_code == 200
    rows = table_rows(response, "orders")
    assert [r[0] for r in rows] == [second.number, first.number]
    assert rows[1][1:5] == ["Alice", "Main warehouse", "Draft", "90.00"]
    assert rows[0][4] == "3.33"
    assertContains(response, "Total (EUR)")
    assertContains(response, "2 orders.")


def test_order_list_filters_by_status_party_and_number(clerk_client, shop):
    draft = order_of(shop, sale(shop.cable, 1))
    confirmed = order_of(shop, sale(shop.cable, 1), party=shop.acme)
    services.order_confirm(order=confirmed, actor=shop.clerk)
    url = reverse("billing:order_list")

    assert numbers(clerk_client.get(url, {"status": "confirmed"}), "orders") == [confirmed.number]
    assert numbers(clerk_client.get(url, {"party": "acme"}), "orders") == [confirmed.number]
    assert numbers(clerk_client.get(url, {"number": draft.number[-3:]}), "orders") == [draft.number]
    assertContains(clerk_client.get(url, {"party": "nobody"}), "No order matches.")


def test_order_list_answers_htmx_with_the_table_alone(clerk_client, shop):
    order = order_of(shop, sale(shop.cable, 1))

    response = clerk_client.get(reverse("billing:order_list"), headers=HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="order-table"')
    assert "<html" not in html
    assert numbers(response, "orders") == [order.number]


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_order_list_query_count_does_not_grow_with_orders(
    clerk_client, shop, django_assert_num_queries
):
    """5 or 50 orders (25 on the page): the same number of queries, full page and htmx."""
    for i in range(5):
        order_of(
            shop, sale(shop.cable, 1), sale(shop.router, 1), party=[shop.alice, shop.acme][i % 2]
        )
    url = reverse("billing:order_list")
    few = _queries(clerk_client, url)
    for i in range(45):
        order_of(shop, sale(shop.cable, 1), party=[shop.alice, shop.acme][i % 2])

    with django_assert_num_queries(few):
        response = clerk_client.get(url)
    assert len(table_rows(response, "orders")) == 25
    with django_assert_num_queries(few):
        clerk_client.get(url, {"party": "a"}, headers=HTMX)


def test_invoice_list_query_count_does_not_grow_with_invoices(
    clerk_client, shop, django_assert_num_queries
):
    for _ in range(5):
        invoice_of(shop, sale(shop.cable, 1), sale(shop.router, 1))
    url = reverse("billing:invoice_list")
    few = _queries(clerk_client, url)
    for _ in range(45):
        invoice_of(shop, sale(shop.cable, 1), party=shop.acme)

    with django_assert_num_queries(few):
        response = clerk_client.get(url)
    assert len(table_rows(response, "invoices")) == 25


def test_party_list_query_count_does_not_grow_with_parties(
    clerk_client, shop, django_assert_num_queries
):
    PartyFactory.create_batch(3)  # 5 with Alice and Acme
    url = reverse("billing:party_list")
    few = _queries(clerk_client, url)
    PartyFactory.create_batch(45)

    with django_assert_num_queries(few):
        response = clerk_client.get(url)
    assert len(table_rows(response, "parties")) == 25


# --------------------------------------------------------------------------- order create


def test_order_create_page_offers_the_lines_formset(clerk_client, shop):
    response = clerk_client.get(reverse("billing:order_create"), {"party": shop.acme.pk})

    assert response.status_code == 200
    assertContains(response, 'name="lines-TOTAL_FORMS"')
    assertContains(response, 'data-formset-add="lines"')
    assertContains(response, '<template id="lines-empty">')
    # The party page's link gives the party's id: the field shows it as a picked suggestion.
    assertContains(response, f'value="{shop.acme.name} · #{shop.acme.pk}"')
    assertContains(response, 'name="lines-0-kind"')


def test_order_created_with_lines_gets_default_prices_and_named_devices(clerk_client, shop):
    """Empty prices take the product's sale or rental price; a serial names the device."""
    data = document_post(
        shop.alice,
        shop.warehouse,
        [
            {"kind": "sale", "product": shop.cable.sku, "quantity": "2.5"},
            {"kind": "rental", "product": shop.modem.sku, "quantity": "1", "device": "M-2"},
            {"kind": "sale", "product": shop.router.sku, "quantity": "1", "unit_price": "75"},
            {"kind": "sale", "product": "", "quantity": "1"},  # a blank extra row
        ],
        notes="Deliver in the morning",
    )

    response = clerk_client.post(reverse("billing:order_create"), data)

    order = Order.objects.get()
    assertRedirects(response, order.get_absolute_url())
    lines = list(order.lines.order_by("position"))
    assert [(li.kind, li.product.sku, li.quantity, li.unit_price) for li in lines] == [
        ("sale", "CAB-1", D("2.500"), D("2.50")),
        ("rental", "MOD-1", D("1.000"), D("15.00")),
        ("sale", "RTR-1", D("1.000"), D("75.00")),
    ]
    assert lines[1].device == shop.modems[1]
    assert (order.notes, order.created_by.username, order.status) == (
        "Deliver in the morning",
        "carl",
        Order.Status.DRAFT,
    )


def test_order_create_refuses_an_unknown_serial_on_its_line(clerk_client, shop):
    """An unknown device serial is an error on that line; no order is made, no number taken."""
    before = DocumentSequence.objects.get(prefix="ORD").next_number
    data = document_post(
        shop.alice,
        shop.warehouse,
        [
            {"kind": "sale", "product": shop.cable.sku, "quantity": "1"},
            {"kind": "sale", "product": shop.modem.sku, "quantity": "1", "device": "NOPE-9"},
        ],
    )

    response = clerk_client.post(reverse("billing:order_create"), data)

    assert response.status_code == 200
    assertContains(response, "No MOD-1 device has the serial NOPE-9.")
    assert not Order.objects.exists()
    assert DocumentSequence.objects.get(prefix="ORD").next_number == before


def test_order_create_shows_the_services_refusal_on_the_line(clerk_client, shop):
    """A rule of the service (only devices are rented) shows on its line; nothing is kept."""
    before = DocumentSequence.objects.get(prefix="ORD").next_number
    data = document_post(
        shop.alice,
        shop.warehouse,
        [
            {"kind": "sale", "product": shop.router.sku, "quantity": "1"},
            {"kind": "rental", "product": shop.cable.sku, "quantity": "1"},
        ],
    )

    response = clerk_client.post(reverse("billing:order_create"), data, headers=HTMX)

    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<form id="document-form"')
    assertContains(response, "CAB-1 is not traceable: only devices are rented.")
    assert not Order.objects.exists()
    assert DocumentSequence.objects.get(prefix="ORD").next_number == before


def test_order_create_needs_a_line(clerk_client, shop):
    data = document_post(shop.alice, shop.warehouse, [{"kind": "sale", "quantity": "1"}])

    response = clerk_client.post(reverse("billing:order_create"), data)

    assert response.status_code == 200
    assertContains(response, "Add at least one line.")
    assert not Order.objects.exists()


# --------------------------------------------------------------------------- order page


def test_order_page_shows_lines_totals_and_the_draft_buttons(clerk_client, shop):
    order = order_of(
        shop,
        sale(shop.cable, D("2.5")),  # 6.25
        sale(shop.router, 2, unit_price=D("1234.5")),  # 2,469.00
        rental(shop.modem, 1, device=shop.modems[0]),  # 15.00
    )

    response = clerk_client.get(order.get_absolute_url())

    assert response.status_code == 200
    rows = table_rows(response, "lines")
    assert rows[0][:7] == ["1", "Sale", "CAB-1 Cable", "", "2.5", "2.50", "6.25"]
    assert rows[1][4:7] == ["2", "1,234.50", "2,469.00"]
    assert rows[2][1:4] == ["Rental", "MOD-1 Modem", "M-1"]
    assert grand_total(response) == "2,490.25 EUR"
    for button in (">Confirm</button>", ">Cancel order</button>", ">Remove</button>"):
        assertContains(response, button)
    assertNotContains(response, ">Dispatch</button>")
    assertContains(response, f'hx-get="{reverse("billing:order_line_add", args=[order.pk])}"')
    assertContains(response, f'href="{reverse("billing:order_print", args=[order.pk])}"')


def test_order_page_query_count_does_not_grow_with_lines(
    clerk_client, shop, django_assert_num_queries
):
    """5 or 20 lines: the order page costs the same number of queries."""
    few = order_of(shop, *[sale(shop.cable, 1) for _ in range(4)], rental(shop.modem, 1))
    many = order_of(shop, *[sale(shop.cable, 1) for _ in range(19)], rental(shop.modem, 1))
    count = _queries(clerk_client, few.get_absolute_url())

    with django_assert_num_queries(count):
        response = clerk_client.get(many.get_absolute_url())
    assert len(table_rows(response, "lines")) == 20


def test_invoice_page_query_count_does_not_grow_with_lines(
    clerk_client, shop, django_assert_num_queries
):
    few = invoice_of(shop, *[sale(shop.cable, D("0.1")) for _ in range(4)], sale(shop.modem, 1))
    many = invoice_of(shop, *[sale(shop.cable, D("0.1")) for _ in range(19)], sale(shop.modem, 2))
    services.invoice_post(invoice=few, actor=shop.clerk)
    services.invoice_post(invoice=many, actor=shop.clerk)
    count = _queries(clerk_client, few.get_absolute_url())

    with django_assert_num_queries(count):
        response = clerk_client.get(many.get_absolute_url())
    assert len(table_rows(response, "lines")) == 20


def test_confirm_refused_for_lack_of_stock_names_the_product_and_changes_nothing(
    clerk_client, shop
):
    """12 m asked, 10 m in stock: the page says so (200) and nothing is reserved."""
    order = order_of(shop, sale(shop.cable, 12), sale(shop.router, 1))
    before = snapshot()

    response = clerk_client.post(reverse("billing:order_confirm", args=[order.pk]), headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="document">')
    assertContains(
        response,
        "Not enough stock to reserve. CAB-1 (Cable) in Main warehouse: "
        "12 asked, 10 available, short by 2.",
    )
    assert 'role="alert"' in html
    assert snapshot() == before
    assert not Reservation.objects.exists()
    assert balance(shop.cable, shop.warehouse).reserved == 0
    assert Order.objects.get().status == Order.Status.DRAFT


def test_refused_step_without_htmx_shows_the_whole_page(clerk_client, shop):
    """Without JavaScript the form posts, and a refusal answers the whole page with the message."""
    order = order_of(shop, sale(shop.cable, 1))

    response = clerk_client.post(reverse("billing:order_dispatch", args=[order.pk]))

    assert response.status_code == 200
    assertContains(response, "<html")
    assertContains(response, f"{order.number} is draft: cannot dispatch it.")
    assert Order.objects.get().status == Order.Status.DRAFT


def test_order_whole_life_through_the_pages(clerk_client, shop):
    """Create with lines → confirm → dispatch → complete: stock moves, an invoice is posted."""
    data = document_post(
        shop.alice,
        shop.warehouse,
        [
            {"kind": "sale", "product": shop.cable.sku, "quantity": "4"},
            {"kind": "sale", "product": shop.modem.sku, "quantity": "1"},
            {"kind": "rental", "product": shop.modem.sku, "quantity": "1", "device": "M-3"},
        ],
    )
    created = clerk_client.post(reverse("billing:order_create"), data, headers=HTMX)
    order = Order.objects.get()
    assert created["HX-Redirect"] == order.get_absolute_url()

    confirmed = clerk_client.post(reverse("billing:order_confirm", args=[order.pk]), headers=HTMX)
    assert confirmed["HX-Redirect"] == order.get_absolute_url()
    assert balance(shop.cable, shop.warehouse).reserved == 4
    assert balance(shop.modem, shop.warehouse).reserved == 2
    page = clerk_client.get(order.get_absolute_url())
    assertContains(page, f"Confirmed {order.number}: its stock is reserved.")
    assertContains(page, ">Dispatch</button>")
    assertNotContains(page, ">Remove</button>")

    clerk_client.post(reverse("billing:order_dispatch", args=[order.pk]), headers=HTMX)
    assert Order.objects.get().status == Order.Status.DISPATCHED
    assert balance(shop.cable, shop.warehouse).dispatched == 4

    completed = clerk_client.post(reverse("billing:order_complete", args=[order.pk]))
    assertRedirects(completed, order.get_absolute_url(), fetch_redirect_response=False)
    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETED
    invoice = Invoice.objects.get(order=order)
    assert invoice.status == Invoice.Status.POSTED
    assert [(li.product.sku, li.quantity) for li in invoice.lines.order_by("position")] == [
        ("CAB-1", D("4.000")),
        ("MOD-1", D("1.000")),
    ]
    cable = balance(shop.cable, shop.warehouse)
    assert (cable.in_hand, cable.reserved, cable.dispatched) == (6, 0, 0)
    assert Rental.objects.get().device.serial == "M-3"

    page = clerk_client.get(order.get_absolute_url())
    assertContains(page, f"Completed {order.number}: invoice {invoice.number} posted.")
    assertContains(page, f'<a href="{invoice.get_absolute_url()}">{invoice.number}</a>')
    assertNotContains(page, 'hx-target="#document"')  # no step left
    invoice_page = clerk_client.get(invoice.get_absolute_url())
    assertContains(invoice_page, f'<a href="{order.get_absolute_url()}">{order.number}</a>')
    assert grand_total(invoice_page) == "130.00 EUR"


def test_cancel_releases_the_reservations(clerk_client, shop):
    order = order_of(shop, sale(shop.cable, 4))
    services.order_confirm(order=order, actor=shop.clerk)

    response = clerk_client.post(reverse("billing:order_cancel", args=[order.pk]), headers=HTMX)

    assert response["HX-Redirect"] == order.get_absolute_url()
    assert Order.objects.get().status == Order.Status.CANCELLED
    assert balance(shop.cable, shop.warehouse).reserved == 0
    page = clerk_client.get(order.get_absolute_url())
    assertContains(page, f"Cancelled {order.number}: its stock is released.")
    assertContains(page, "status-cancelled")


def test_line_added_in_a_dialog_and_removed(clerk_client, shop):
    order = order_of(shop, sale(shop.cable, 1))
    url = reverse("billing:order_line_add", args=[order.pk])

    dialog = clerk_client.get(url, headers=HTMX)
    refused = clerk_client.post(
        url, {"kind": "sale", "product": shop.router.sku, "quantity": "0"}, headers=HTMX
    )
    added = clerk_client.post(
        url, {"kind": "sale", "product": shop.router.sku, "quantity": "2"}, headers=HTMX
    )

    assertContains(dialog, 'id="dialog-title"')
    assertNotContains(dialog, "<html")
    assert refused.status_code == 200
    assertContains(refused, "Ensure this value is greater than or equal to 0.001.")
    assert added["HX-Redirect"] == order.get_absolute_url()
    line = order.lines.get(product=shop.router)
    assert (line.quantity, line.unit_price) == (D("2.000"), D("80.00"))

    removed = clerk_client.post(
        reverse("billing:order_line_remove", args=[order.pk, line.pk]), headers=HTMX
    )
    assert removed["HX-Redirect"] == order.get_absolute_url()
    assert list(order.lines.values_list("product__sku", flat=True)) == ["CAB-1"]


def test_line_cannot_be_added_once_confirmed(clerk_client, shop):
    order = order_of(shop, sale(shop.cable, 1))
    services.order_confirm(order=order, actor=shop.clerk)

    response = clerk_client.post(
        reverse("billing:order_line_add", args=[order.pk]),
        {"kind": "sale", "product": shop.router.sku, "quantity": "1"},
    )

    assert response.status_code == 200
    assertContains(response, f"{order.number} is confirmed: cannot add lines to it.")
    assert order.lines.count() == 1


def test_order_print_is_a_clean_sheet(clerk_client, shop):
    order = order_of(shop, sale(shop.cable, 2), party=shop.acme)

    response = clerk_client.get(reverse("billing:order_print", args=[order.pk]))

    assert response.status_code == 200
    assertContains(response, f"Order {order.number}")
    assertContains(response, "Acme Telecom")
    assertContains(response, "5.00 EUR")
    assertContains(response, '<link rel="stylesheet" href="/static/css/print.css">')  # @media print
    assertNotContains(response, 'class="topbar"')


# --------------------------------------------------------------------------- invoices


def test_invoice_list_filters_and_shows_totals(clerk_client, shop):
    draft = invoice_of(shop, sale(shop.cable, 2))
    posted = invoice_of(shop, sale(shop.router, 1), party=shop.acme)
    services.invoice_post(invoice=posted, actor=shop.clerk)
    url = reverse("billing:invoice_list")

    everything = clerk_client.get(url)
    only_posted = clerk_client.get(url, {"status": "posted"})
    htmx = clerk_client.get(url, {"party": "alice"}, headers=HTMX)

    rows = table_rows(everything, "invoices")
    assert [r[0] for r in rows] == [posted.number, draft.number]
    assert rows[0][1:6] == ["Acme Telecom", "Main warehouse", "Posted", "—", "80.00"]
    assert numbers(only_posted, "invoices") == [posted.number]
    assert htmx.content.decode().lstrip().startswith('<div id="invoice-table"')
    assert numbers(htmx, "invoices") == [draft.number]


def test_invoice_create_has_sale_lines_only(clerk_client, shop):
    page = clerk_client.get(reverse("billing:invoice_create"))
    assertNotContains(page, 'name="lines-0-kind"')

    response = clerk_client.post(
        reverse("billing:invoice_create"),
        document_post(shop.acme, shop.warehouse, [{"product": shop.router.sku, "quantity": "2"}]),
    )

    invoice = Invoice.objects.get()
    assertRedirects(response, invoice.get_absolute_url())
    assert [(li.product.sku, li.unit_price) for li in invoice.lines.all()] == [("RTR-1", 80)]


def test_invoice_issue_post_and_the_buttons_of_each_status(clerk_client, shop):
    invoice = invoice_of(shop, sale(shop.router, 2))

    draft = clerk_client.get(invoice.get_absolute_url())
    for button in (">Issue</button>", ">Post</button>", ">Cancel invoice</button>"):
        assertContains(draft, button)

    clerk_client.post(reverse("billing:invoice_issue", args=[invoice.pk]), headers=HTMX)
    assert balance(shop.router, shop.warehouse).reserved == 2
    issued = clerk_client.get(invoice.get_absolute_url())
    assertNotContains(issued, ">Issue</button>")
    assertContains(issued, "Issued")

    clerk_client.post(reverse("billing:invoice_post", args=[invoice.pk]), headers=HTMX)
    router = balance(shop.router, shop.warehouse)
    assert (router.in_hand, router.reserved) == (3, 0)
    posted = clerk_client.get(invoice.get_absolute_url())
    assertContains(posted, f"Posted {invoice.number}: the goods are sold.")
    assertContains(posted, f'href="{reverse("billing:creditnote_create", args=[invoice.pk])}"')
    assertNotContains(posted, ">Cancel invoice</button>")


def test_invoice_issue_refused_shows_the_shortfall(clerk_client, shop):
    invoice = invoice_of(shop, sale(shop.router, 6))

    response = clerk_client.post(reverse("billing:invoice_issue", args=[invoice.pk]))

    assert response.status_code == 200
    assertContains(response, "RTR-1 (Router) in Main warehouse: 6 asked, 5 available, short by 1.")
    assert Invoice.objects.get().status == Invoice.Status.DRAFT


def test_invoice_cancel_releases_its_reservation(clerk_client, shop):
    invoice = invoice_of(shop, sale(shop.router, 2))
    services.invoice_issue(invoice=invoice, actor=shop.clerk)

    clerk_client.post(reverse("billing:invoice_cancel", args=[invoice.pk]))

    assert Invoice.objects.get().status == Invoice.Status.CANCELLED
    assert balance(shop.router, shop.warehouse).reserved == 0


def test_credit_note_through_the_pages_brings_goods_and_devices_back(clerk_client, shop):
    """Posted invoice → credit note form (quantity, device checkboxes) → post: stock is back."""
    invoice = invoice_of(shop, sale(shop.cable, 4), sale(shop.modem, 2))
    services.invoice_post(invoice=invoice, actor=shop.clerk)
    cable_line, modem_line = invoice.lines.order_by("position")
    sold = sorted(modem_line.devices.values_list("serial", flat=True))
    back = Device.objects.get(serial=sold[0])
    url = reverse("billing:creditnote_create", args=[invoice.pk])

    form = clerk_client.get(url)
    assertContains(form, f"?kind=storage%2Cquarantine&amp;warehouse={shop.warehouse.pk}")
    assertNotContains(form, "main/IN")
    assertContains(form, f'name="quantity_{cable_line.pk}"')
    for serial in sold:
        assertContains(form, f"MOD-1 #{serial}")

    created = clerk_client.post(
        url,
        {
            "return_location": str(shop.stock),
            f"quantity_{cable_line.pk}": "1.5",
            f"devices_{modem_line.pk}": [back.pk],
        },
    )
    credit_note = CreditNote.objects.get()
    assertRedirects(created, credit_note.get_absolute_url())
    page = clerk_client.get(credit_note.get_absolute_url())
    assert [row[1:] for row in table_rows(page, "lines")] == [
        ["CAB-1 Cable", "", "1.5", "2.50", "3.75"],
        ["MOD-1 Modem", back.serial, "1", "120.00", "120.00"],
    ]
    assert grand_total(page) == "123.75 EUR"
    assertContains(page, ">Post</button>")

    clerk_client.post(reverse("billing:creditnote_post", args=[credit_note.pk]), headers=HTMX)
    credit_note.refresh_from_db()
    assert credit_note.status == CreditNote.Status.POSTED
    back.refresh_from_db()
    assert (back.state, back.owner_id, back.location_id) == (State.USED, None, shop.stock.pk)
    assert balance(shop.cable, shop.warehouse).in_hand == D("7.5")
    again = clerk_client.get(url)
    assertNotContains(again, f"MOD-1 #{back.serial}")
    invoice_page = clerk_client.get(invoice.get_absolute_url())
    assert numbers(invoice_page, "credit-notes") == [credit_note.number]


def test_credit_note_refuses_more_than_sold(clerk_client, shop):
    invoice = invoice_of(shop, sale(shop.cable, 2))
    services.invoice_post(invoice=invoice, actor=shop.clerk)
    line = invoice.lines.get()

    response = clerk_client.post(
        reverse("billing:creditnote_create", args=[invoice.pk]),
        {"return_location": str(shop.stock), f"quantity_{line.pk}": "3"},
    )

    assert response.status_code == 200
    assertContains(response, "CAB-1: 3 credited in all, but")
    assert not CreditNote.objects.exists()


def test_credit_note_needs_something_back(clerk_client, shop):
    invoice = invoice_of(shop, sale(shop.cable, 2))
    services.invoice_post(invoice=invoice, actor=shop.clerk)

    response = clerk_client.post(
        reverse("billing:creditnote_create", args=[invoice.pk]),
        {"return_location": str(shop.stock)},
    )

    assertContains(response, "Choose what comes back.")


def test_credit_note_cancel(clerk_client, shop):
    invoice = invoice_of(shop, sale(shop.cable, 2))
    services.invoice_post(invoice=invoice, actor=shop.clerk)
    credit_note = services.creditnote_create(
        actor=shop.clerk,
        invoice=invoice,
        return_location=shop.stock,
        lines=[services.CreditLineInput(invoice_line=invoice.lines.get(), quantity=D(1))],
    )

    response = clerk_client.post(reverse("billing:creditnote_cancel", args=[credit_note.pk]))

    assertRedirects(response, credit_note.get_absolute_url())
    assert CreditNote.objects.get().status == CreditNote.Status.CANCELLED
    assertNotContains(clerk_client.get(credit_note.get_absolute_url()), ">Post</button>")


def test_invoice_and_credit_note_print(clerk_client, shop):
    invoice = invoice_of(shop, sale(shop.cable, 2))
    services.invoice_post(invoice=invoice, actor=shop.clerk)
    credit_note = services.creditnote_create(
        actor=shop.clerk,
        invoice=invoice,
        return_location=shop.stock,
        lines=[services.CreditLineInput(invoice_line=invoice.lines.get(), quantity=D(1))],
    )

    printed_invoice = clerk_client.get(reverse("billing:invoice_print", args=[invoice.pk]))
    printed_credit = clerk_client.get(reverse("billing:creditnote_print", args=[credit_note.pk]))

    assertContains(printed_invoice, f"Invoice {invoice.number}")
    assertContains(printed_invoice, "5.00 EUR")
    assertContains(printed_credit, f"Credit note {credit_note.number}")
    assertContains(printed_credit, f"For invoice {invoice.number}")
    assertContains(printed_credit, "2.50 EUR")


# --------------------------------------------------------------------------- from the warehouse


def test_product_page_lists_open_documents_linking_to_them(clerk_client, shop):
    """The product page lists open reservations; each number leads to its document."""
    order = order_of(shop, sale(shop.cable, 3))
    services.order_confirm(order=order, actor=shop.clerk)
    invoice = invoice_of(shop, sale(shop.cable, 2))
    services.invoice_issue(invoice=invoice, actor=shop.clerk)

    response = clerk_client.get(shop.cable.get_absolute_url())

    assert sorted(table_rows(response, "reservations")) == [
        [invoice.number, "Main warehouse", "2"],
        [order.number, "Main warehouse", "3"],
    ]
    link = f"/billing/documents/order/{order.pk}/"
    assertContains(response, f'<a href="{link}">{order.number}</a>')
    assertRedirects(clerk_client.get(link), order.get_absolute_url())
    assertRedirects(
        clerk_client.get(f"/billing/documents/invoice/{invoice.pk}/"), invoice.get_absolute_url()
    )
    assert clerk_client.get("/billing/documents/parcel/1/").status_code == 404


def test_product_page_without_open_documents_says_so(staff_client, shop):
    response = staff_client.get(shop.router.get_absolute_url())

    assert table_rows(response, "reservations") == [["No open document holds it."]]


def test_a_named_device_must_be_of_the_lines_product(clerk_client, shop):
    """A serial of another product is not found for this product: an error on the line."""
    other = ProductFactory(sku="RTR-T", name="Traceable router", traceable=True)
    devices_in(shop.stock, other, "R-1")

    response = clerk_client.post(
        reverse("billing:order_line_add", args=[order_of(shop, sale(shop.cable, 1)).pk]),
        {"kind": "sale", "product": shop.modem.sku, "quantity": "1", "device": "R-1"},
    )

    assertContains(response, "No MOD-1 device has the serial R-1.")
    assert OrderLine.objects.count() == 1


# --------------------------------------------------------------------------- typed fields


def test_order_takes_a_party_typed_by_name_and_products_typed_in_lower_case(clerk_client, shop):
    data = document_post(
        shop.alice, shop.warehouse, [{"kind": "sale", "product": " rtr-1 ", "quantity": "1"}]
    )
    data["party"] = " acme telecom"

    response = clerk_client.post(reverse("billing:order_create"), data)

    order = Order.objects.get()
    assertRedirects(response, order.get_absolute_url(), fetch_redirect_response=False)
    assert order.party == shop.acme
    assert list(order.lines.values_list("product__sku", flat=True)) == ["RTR-1"]


def test_a_name_several_parties_share_asks_to_pick_one(clerk_client, shop):
    """The typed name matches two parties: the clerk picks a suggestion, which carries the id."""
    twin = PartyFactory(name="alice")
    line = {"kind": "sale", "product": "RTR-1", "quantity": "1"}
    data = document_post(shop.alice, shop.warehouse, [line])
    data["party"] = "Alice"

    refused = clerk_client.post(reverse("billing:order_create"), data, headers=HTMX)
    picked = clerk_client.post(
        reverse("billing:order_create"), {**data, "party": f"alice · #{twin.pk}"}, headers=HTMX
    )

    assert refused.status_code == 200
    assertContains(refused, "2 parties are named “Alice”: pick one from the suggestions.")
    assertContains(refused, 'name="party" value="Alice"')
    assert Order.objects.get().party == twin
    assert picked["HX-Redirect"] == Order.objects.get().get_absolute_url()


def test_an_inactive_party_or_an_unknown_sku_is_refused_and_nothing_is_created(clerk_client, shop):
    gone = PartyFactory(name="Gone Ltd", active=False)
    data = document_post(gone, shop.warehouse, [{"product": "NOPE-1", "quantity": "1"}])
    data["party"] = f"Gone Ltd · #{gone.pk}"
    before = snapshot()

    response = clerk_client.post(reverse("billing:invoice_create"), data, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "No active party is named “Gone Ltd · #")
    assertContains(response, "No active product has SKU “NOPE-1”.")
    assert not Invoice.objects.exists()
    assert snapshot() == before


def test_a_line_added_in_the_dialog_is_typed_by_sku(clerk_client, shop):
    invoice = invoice_of(shop, sale(shop.cable, 1))
    url = reverse("billing:invoice_line_add", args=[invoice.pk])

    unknown = clerk_client.post(url, {"product": "RTR-9", "quantity": "1"}, headers=HTMX)
    added = clerk_client.post(url, {"product": "rtr-1", "quantity": "1"}, headers=HTMX)

    assertContains(unknown, "No active product has SKU “RTR-9”.")
    assert added["HX-Redirect"] == invoice.get_absolute_url()
    assert sorted(invoice.lines.values_list("product__sku", flat=True)) == ["CAB-1", "RTR-1"]


def page_cost(client, url) -> tuple[int, int]:
    """Queries and `<option>`s of a page."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode().count("<option")


def test_the_document_pages_cost_the_same_however_many_products_and_parties(clerk_client, shop):
    """No option per product or party: queries and options do not grow with the registers."""
    order = order_of(shop, sale(shop.cable, 1))
    urls = [
        reverse("billing:order_create"),
        reverse("billing:invoice_create"),
        reverse("billing:order_line_add", args=[order.pk]),
    ]
    small = [page_cost(clerk_client, url) for url in urls]
    for n in range(30):
        ProductFactory(sku=f"GROW-{n}")
        PartyFactory(name=f"Grown {n}")

    assert [page_cost(clerk_client, url) for url in urls] == small
    assert "GROW-" not in clerk_client.get(urls[0]).content.decode()
