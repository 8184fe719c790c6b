"""Billing's reads: the pages' filters, documents with their lines, rentals, no N+1."""

from decimal import Decimal

import pytest

from billing import services
from tests.api.factories import books_create
from tests.api.test_warehouse_reads import _queries, _rows
from tests.billing.factories import shop_create
from tests.warehouse.factories import PartyFactory


@pytest.fixture
def books(db):
    return books_create()


@pytest.mark.django_db
def test_parties_filter_as_the_parties_page_active_ones_unless_asked(clerk_api, books):
    PartyFactory(name="Old Alice Ltd", active=False)

    assert [r["name"] for r in _rows(clerk_api, "/api/parties/?q=alice")] == ["Alice"]
    rows = _rows(clerk_api, "/api/parties/?q=alice&active=false")
    assert [r["name"] for r in rows] == ["Old Alice Ltd"]


@pytest.mark.django_db
def test_a_party_is_read_by_id(clerk_api, books):
    body = clerk_api.get(f"/api/parties/{books.shop.alice.pk}/").json()

    assert (body["name"], body["kind"]) == ("Alice", "contact")


@pytest.mark.django_db
def test_orders_show_number_party_and_total_and_filter_as_the_page(clerk_api, books):
    rows = _rows(clerk_api, "/api/orders/?party=ali&status=completed")

    assert [(r["number"], r["party"]["name"], r["warehouse"]) for r in rows] == [
        (books.order.number, "Alice", "main")
    ]
    assert Decimal(rows[0]["total"]) == Decimal("22.50")  # 3 m of cable at 2.50, a 15.00 rental
    assert _rows(clerk_api, "/api/orders/?status=draft") == []


@pytest.mark.django_db
def test_an_order_shows_its_lines_devices_and_reservations(clerk_api, books):
    body = clerk_api.get(f"/api/orders/{books.order.pk}/").json()

    assert body["number"] == books.order.number
    assert Decimal(body["total"]) == Decimal("22.50")
    cable, modem = body["lines"]
    assert (cable["kind"], cable["sku"], Decimal(cable["quantity"])) == ("sale", "CAB-1", 3)
    assert cable["reservation"]["status"] == "consumed"
    assert (modem["kind"], modem["device"]["serial"]) == ("rental", "MDM-9")
    assert [d["serial"] for d in modem["assigned_devices"]] == ["MDM-9"]


@pytest.mark.django_db
def test_a_confirmed_orders_lines_hold_an_open_reservation(clerk_api, books):
    order = services.order_create(
        actor=books.shop.clerk,
        party=books.shop.alice,
        warehouse=books.shop.warehouse,
        lines=[services.LineInput(product=books.shop.cable, quantity=Decimal(5))],
    )
    services.order_confirm(order=order, actor=books.shop.clerk)

    (line,) = clerk_api.get(f"/api/orders/{order.pk}/").json()["lines"]

    assert (line["reservation"]["status"], Decimal(line["reservation"]["quantity"])) == ("open", 5)


@pytest.mark.django_db
def test_an_invoice_shows_its_lines_and_the_devices_sold(clerk_api, books):
    (row,) = _rows(clerk_api, f"/api/invoices/?number={books.invoice.number}")
    body = clerk_api.get(f"/api/invoices/{row['id']}/").json()

    assert body["number"] == books.invoice.number
    assert Decimal(body["total"]) == Decimal("160.00")
    ((line),) = body["lines"]
    assert (line["sku"], Decimal(line["quantity"]), line["devices"]) == ("RTR-1", 2, [])


@pytest.mark.django_db
def test_a_credit_note_names_its_invoice_and_return_place(clerk_api, books):
    (row,) = _rows(clerk_api, f"/api/credit-notes/?number={books.credit_note.number}")
    body = clerk_api.get(f"/api/credit-notes/{row['id']}/").json()

    assert (body["invoice"], body["status"]) == (books.invoice.number, "draft")
    assert (body["return_location"]["warehouse"], body["return_location"]["code"]) == (
        "main",
        "STOCK",
    )
    ((line),) = body["lines"]
    assert (line["sku"], Decimal(line["total"])) == ("RTR-1", Decimal("80.00"))


@pytest.mark.django_db
def test_rentals_show_what_is_out_and_what_came_back(clerk_api, books):
    (out,) = _rows(clerk_api, "/api/rentals/?open=true&serial=mdm-9")

    assert (out["device"]["serial"], out["party"]["name"], out["order"]) == (
        "MDM-9",
        "Alice",
        books.order.number,
    )
    assert out["returned"] is False
    services.rental_return(rental=books.rental, location=books.shop.stock, actor=books.shop.clerk)
    assert _rows(clerk_api, "/api/rentals/?open=true") == []
    (back,) = _rows(clerk_api, "/api/rentals/?open=false&party=alice")
    assert back["returned"] is True
    assert back["return_location"]["code"] == "STOCK"


@pytest.mark.django_db
def test_an_unknown_document_answers_404(clerk_api, books):
    for url in ("orders", "invoices", "credit-notes", "parties"):
        assert clerk_api.get(f"/api/{url}/999999/").status_code == 404


LISTS = [
    "/api/parties/",
    "/api/orders/",
    "/api/invoices/",
    "/api/credit-notes/",
    "/api/rentals/",
]


def _grow(shop, n, start):
    for i in range(start, start + n):
        books_create(shop, serial=f"G-{i}")


@pytest.fixture
def shop(db):
    return shop_create()


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_a_billing_lists_queries_do_not_grow_with_its_rows(clerk_api, shop, url):
    _grow(shop, 1, 0)
    for _ in range(2):
        PartyFactory()
    clerk_api.get(url)  # the token's first use of the minute notes it: one UPDATE, once
    few = len(_queries(clerk_api, url))
    _grow(shop, 4, 1)
    for _ in range(18):
        PartyFactory()

    assert len(_queries(clerk_api, url)) == few


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["orders", "invoices"])
def test_a_documents_queries_do_not_grow_with_its_lines(clerk_api, books, kind):
    shop = books.shop
    document = books.order if kind == "orders" else books.invoice
    url = f"/api/{kind}/{document.pk}/"
    clerk_api.get(url)
    few = len(_queries(clerk_api, url))
    create = services.order_create if kind == "orders" else services.invoice_create
    lines = [services.LineInput(product=shop.cable, quantity=Decimal(1)) for _ in range(20)]
    bigger = create(actor=shop.clerk, party=shop.alice, warehouse=shop.warehouse, lines=lines)

    assert len(_queries(clerk_api, f"/api/{kind}/{bigger.pk}/")) == few


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/parties/?kind=robot",
        "/api/parties/?active=perhaps",
        "/api/parties/?q=%E2%80%8B",
        "/api/orders/?status=lost",
        "/api/orders/?party=" + "x" * 5000,
        "/api/orders/?cursor=garbage",
        "/api/invoices/?status=%00",
        "/api/invoices/?number=%EF%BC%90",
        "/api/credit-notes/?status=lost",
        "/api/rentals/?open=maybe",
        "/api/rentals/?product=%E2%80%8B&serial=%E2%80%8B",
        "/api/rentals/?ordering=device",
        "/api/orders/" + "9" * 40 + "/",
        "/api/credit-notes/" + "9" * 40 + "/",
    ],
)
def test_bad_input_to_billing_is_answered_without_a_500(clerk_api, books, url):
    response = clerk_api.get(url)

    assert response.status_code in (200, 400, 404), response.content
    if response.status_code != 200:
        assert set(response.json()["error"]) >= {"code", "message", "field"}


@pytest.mark.django_db
def test_an_invalid_status_is_a_400_on_status(clerk_api, books):
    response = clerk_api.get("/api/orders/?status=lost")

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "status"
