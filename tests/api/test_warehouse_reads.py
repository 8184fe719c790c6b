"""The warehouse's reads: the pages' rows and filters, natural keys, cursor pages, no N+1."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.warehouse.factories import (
    LocationFactory,
    ProductFactory,
    UserFactory,
    book_in,
    storage_of,
)
from warehouse.models import StockConstraint

LISTS = [
    "/api/products/",
    "/api/warehouses/",
    "/api/locations/",
    "/api/locations/main/STOCK/positions/",
    "/api/stock/",
    "/api/stock/low/",
    "/api/movements/",
    "/api/fifo/",
]


@pytest.fixture
def booked(warehouse, storage):
    """Two products booked into the main warehouse's storage by a named user."""
    actor = UserFactory(username="stella")
    laptop = ProductFactory(sku="LTP-2", name="Laptop", traceable=True)
    cable = ProductFactory(sku="CBL-1", name="Cable")
    book_in(
        storage, laptop, None, "300.00", serials=["SN-A", "SN-B"], actor=actor, reference="PO-7"
    )
    book_in(storage, cable, 10, "2.00", actor=actor, reference="PO-8")
    return {"laptop": laptop, "cable": cable, "storage": storage}


def _rows(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.mark.django_db
def test_the_balance_shows_the_pages_columns_per_warehouse(staff_api, booked, warehouse):
    rows = _rows(staff_api, f"/api/stock/?warehouse={warehouse.pk}")

    laptop = next(r for r in rows if r["sku"] == "LTP-2")
    assert Decimal(laptop["in_hand"]) == 2
    assert Decimal(laptop["available"]) == 2
    assert Decimal(laptop["average_cost"]) == 300
    assert {"ownership", "reserved", "dispatched", "rented", "below_minimum"} <= set(laptop)


@pytest.mark.django_db
def test_the_balance_of_an_unknown_warehouse_is_a_400_on_warehouse(staff_api, booked):
    response = staff_api.get("/api/stock/?warehouse=999999")

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "warehouse"


@pytest.mark.django_db
def test_a_locations_positions_are_found_by_warehouse_and_location_code(staff_api, booked):
    rows = _rows(staff_api, "/api/locations/MAIN/stock/positions/")

    assert {(r["sku"], Decimal(r["quantity"])) for r in rows} == {
        ("LTP-2", 2),
        ("CBL-1", 10),
    }


@pytest.mark.django_db
def test_an_unknown_location_answers_404(staff_api, booked):
    assert staff_api.get("/api/locations/main/NOPE/positions/").status_code == 404


@pytest.mark.django_db
def test_locations_filter_by_warehouse_and_kind(staff_api, booked, warehouse):
    LocationFactory(warehouse=warehouse, code="Q1", kind="quarantine")

    rows = _rows(staff_api, f"/api/locations/?warehouse={warehouse.pk}&kind=quarantine")

    assert [(r["warehouse"], r["code"]) for r in rows] == [("main", "Q1")]


@pytest.mark.django_db
def test_the_ledger_names_product_places_and_user_newest_first(clerk_api, booked):
    rows = _rows(clerk_api, "/api/movements/")

    assert [r["sku"] for r in rows] == ["CBL-1", "LTP-2", "LTP-2"]
    assert rows[0]["destination"]["code"] == "STOCK"
    assert rows[0]["destination"]["warehouse"] == "main"
    assert rows[0]["actor"] == "stella"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("product=ltp-2", 2),
        ("product=sn-a", 1),  # a serial typed where the page takes one
        ("serial=%EF%BC%B3N-B", 1),  # a full-width S
        ("reference=po-8", 1),
        ("action=add", 3),
        ("action=remove", 0),
        ("actor=STELLA", 3),
        ("location=main/STOCK", 3),
        ("date_from=2000-01-01&date_to=2999-12-31", 3),
        ("date_to=2000-01-01", 0),
    ],
)
def test_the_ledger_filters_as_the_activity_page(clerk_api, booked, query, expected):
    assert len(_rows(clerk_api, f"/api/movements/?{query}")) == expected


@pytest.mark.django_db
def test_the_ledger_pages_by_cursor_without_repeating_or_losing_a_line(clerk_api, booked):
    book_in(booked["storage"], booked["cable"], 1)
    book_in(booked["storage"], booked["cable"], 2)
    seen = []
    url = "/api/movements/?page_size=2"
    while url:
        page = clerk_api.get(url).json()
        seen += [r["id"] for r in page["results"]]
        url = page["next"]

    assert len(seen) == 5
    assert seen == sorted(set(seen), reverse=True)


@pytest.mark.django_db
def test_fifo_layers_show_each_package_with_what_is_left(staff_api, booked):
    rows = _rows(staff_api, "/api/fifo/?product=cbl-1")

    assert [(r["sku"], r["warehouse"], Decimal(r["remaining"])) for r in rows] == [
        ("CBL-1", "main", 10)
    ]


@pytest.mark.django_db
def test_low_stock_lists_a_product_below_its_minimum_with_the_reorder(staff_api, booked):
    StockConstraint.objects.create(
        product=booked["cable"], warehouse=booked["storage"].warehouse, minimum=15, maximum=40
    )

    rows = _rows(staff_api, "/api/stock/low/")

    assert [(r["sku"], Decimal(r["reorder"])) for r in rows] == [("CBL-1", 30)]


def _queries(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def _grow(storage, n):
    for _ in range(n):
        product = ProductFactory()
        book_in(storage, product, 1)
        StockConstraint.objects.create(product=product, warehouse=storage.warehouse, minimum=5)
        LocationFactory(warehouse=storage.warehouse)


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_a_lists_queries_do_not_grow_with_its_rows(staff_api, warehouse, url):
    storage = storage_of(warehouse)
    _grow(storage, 2)
    staff_api.get(url)  # the token's first use of the minute notes it: one UPDATE, once
    few = len(_queries(staff_api, url))
    _grow(storage, 18)

    assert len(_queries(staff_api, url)) == few


@pytest.mark.django_db
def test_the_ledger_list_counts_nothing(staff_api, warehouse):
    _grow(storage_of(warehouse), 3)

    sql = _queries(staff_api, "/api/movements/?page_size=2")

    assert not [q for q in sql if "COUNT(" in q.upper()]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "cursor=garbage",
        "cursor=cD0yMDI0LTAxLTAx",  # base64 of a position that is not a timestamp
        "cursor=cD1ub3QtYS1kYXRl",  # p=not-a-date
        "date_from=yesterday",
        "batch=not-a-uuid",
        "action=teleport",
        "location=" + "9" * 40,
        "product=" + "9" * 40,
    ],
)
def test_bad_input_to_the_ledger_is_a_400_never_a_500(clerk_api, booked, query):
    response = clerk_api.get(f"/api/movements/?{query}")

    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert response.json()["error"]["code"] == "invalid"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/stock/?warehouse=" + "9" * 40,
        "/api/locations/?warehouse=" + "9" * 40,
        "/api/locations/?kind=%E2%80%8B",
        "/api/fifo/?product=%EF%BC%B8&date_to=31.31.31",
        "/api/products/?ordering=password",
        "/api/products/?page_size=" + "9" * 40,
        "/api/products/?page_size=-1",
        "/api/products/" + "9" * 40 + "/",
        "/api/locations/" + "9" * 40 + "/x/positions/",
    ],
)
def test_bad_input_anywhere_is_answered_without_a_500(staff_api, booked, url):
    response = staff_api.get(url)

    assert response.status_code in (200, 400, 404), response.content
    if response.status_code != 200:
        assert set(response.json()["error"]) >= {"code", "message", "field"}
