"""`GET /api/events/`: read from the start, then from the cursor kept: nothing missed or twice.

The feed shows only events of finished transactions, so these tests commit
(`transaction=True`) and book through the services, each booking its own
transaction.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import role_user, token_client
from tests.billing.factories import shop_create
from tests.devices.factories import devices_in, transition
from tests.feed import horizon_passed
from tests.warehouse.factories import ProductFactory, UserFactory, book_in
from warehouse.models import Event

committing = pytest.mark.django_db(transaction=True)


def _read(client, after=None, limit=None):
    horizon_passed()
    params = {k: v for k, v in {"after": after, "limit": limit}.items() if v is not None}
    response = client.get("/api/events/", params)
    assert response.status_code == 200, response.content
    body = response.json()
    return body["results"], body["next"]


def _read_all(client, after=None, limit=3):
    """Every readable event after `after`, page by page; the cursor to keep."""
    seen = []
    while True:
        page, after = _read(client, after, limit)
        if not page:
            return seen, after
        seen += page


@pytest.fixture
def reader(transactional_db):
    return token_client(role_user("Billing clerk"))


@committing
def test_a_reader_keeping_the_cursor_sees_every_event_once(reader):
    shop = shop_create()
    stella = UserFactory(username="stella")
    book_in(shop.stock, shop.cable, 10, actor=stella, reference="PO-1")
    (modem,) = devices_in(shop.stock, shop.modem, "MDM-1", actor=stella)

    first, cursor = _read_all(reader)
    assert cursor is not None

    transition(modem, "block", actor=stella)
    book_in(shop.stock, shop.router, 4, actor=stella)
    book_in(shop.stock, shop.cable, 1, actor=stella)
    more, cursor = _read_all(reader, cursor)
    again, same = _read_all(reader, cursor)

    ids = [e["id"] for e in first + more]
    assert sorted(ids) == sorted(Event.objects.values_list("id", flat=True))
    assert len(ids) == len(set(ids))
    assert again == []
    assert same == cursor
    assert [e["kind"] for e in more] == ["device.blocked", "movement.booked", "movement.booked"]


@committing
def test_an_event_names_its_subject_ledger_line_and_user(reader):
    shop = shop_create()
    book_in(shop.stock, shop.cable, 10, actor=UserFactory(username="stella"), reference="PO-1")

    (event,), _ = _read(reader)

    assert event["kind"] == "movement.booked"
    assert event["subject"] == {"type": "product", "sku": "CAB-1"}
    assert event["movement_id"] is not None
    assert event["actor"] == "stella"
    assert event["data"]["reference"] == "PO-1"
    assert event["document"] is None


@committing
def test_an_event_of_a_document_names_the_document(reader):
    # Written as a document step writes it (billing's steps are to write theirs).
    Event.objects.create(
        kind=Event.Kind.ORDER_CONFIRMED, document_type="order", document_number="ORD-000042"
    )

    (event,), _ = _read(reader)

    assert event["document"] == {"type": "order", "number": "ORD-000042"}


@committing
def test_an_empty_page_gives_back_the_cursor_to_keep(reader):
    book_in(shop_create().stock, ProductFactory(), 1)
    _, cursor = _read_all(reader)

    page, kept = _read(reader, cursor)

    assert page == []
    assert kept == cursor


@committing
def test_the_limit_caps_a_page(reader):
    shop = shop_create()
    for _ in range(3):
        book_in(shop.stock, shop.cable, 1)

    page, cursor = _read(reader, limit=2)
    rest, _ = _read(reader, cursor, limit=2)

    assert (len(page), len(rest)) == (2, 1)


@committing
@pytest.mark.parametrize(
    "after",
    ["garbage", "MTIz", "LTEuLTE", "%E2%80%8B", "9" * 400, "OTk5OTk5OTk5OTk5OTk5OTk5OTkuMQ"],
)
def test_a_cursor_the_feed_did_not_make_is_a_400_on_after(reader, after):
    response = reader.get(f"/api/events/?after={after}")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == "after"


@committing
@pytest.mark.parametrize("limit", ["0", "-1", "many", "1001", "9" * 40])
def test_a_limit_out_of_range_is_a_400_on_limit(reader, limit):
    response = reader.get(f"/api/events/?limit={limit}")

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "limit"


@committing
def test_the_feeds_queries_do_not_grow_with_its_events(reader):
    shop = shop_create()
    stella = UserFactory(username="stella")
    for _ in range(2):
        book_in(shop.stock, shop.cable, 1, actor=stella)
    reader.get("/api/events/")  # the token's first use of the minute notes it: one UPDATE, once
    horizon_passed()
    with CaptureQueriesContext(connection) as few:
        reader.get("/api/events/")
    for _ in range(18):
        book_in(shop.stock, shop.cable, 1, actor=UserFactory())

    horizon_passed()
    with CaptureQueriesContext(connection) as many:
        page = reader.get("/api/events/").json()["results"]
    assert len(page) == 20
    assert len(many.captured_queries) == len(few.captured_queries)
