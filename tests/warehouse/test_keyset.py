"""Keyset pages: every row once walking forward or back, whatever the sort; "go to"; positions."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import django_tables2 as tables
import pytest
from django.db import connection
from django.db.models import Case, CharField, F, Value, When
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from tests.paging import follow, link
from tests.warehouse.factories import ProductFactory
from warehouse import services
from warehouse.keyset import keyset_paginate
from warehouse.models import Product
from warehouse.rows import PythonRows

HTMX = {"HX-Request": "true"}
SORTS = ["sku", "-sku", "name", "-name", "unit", "-unit", "traceable", "-traceable"]
SORTS += ["active", "-active"]


def skus(response) -> list[str]:
    return re.findall(r'<tr data-sku="([^"]+)"', response.content.decode())


def walk(client, response, rel: str) -> list[list[str]]:
    """The pages met following `rel` from `response` until there is no such link."""
    pages = [skus(response)]
    while link(response, rel):
        response = follow(client, response, rel)
        pages.append(skus(response))
    return pages


@pytest.fixture
def catalogue(db):
    """23 products with ties in every column but the SKU."""
    units = [Product.Unit.PIECE, Product.Unit.METRE]
    Product.objects.bulk_create(
        Product(
            sku=f"P-{n:02d}",
            name=f"Part {n % 3}",
            unit=units[n % 2],
            traceable=n % 4 == 0,
            active=n % 5 != 0,
        )
        for n in range(23)
    )


@pytest.mark.parametrize("sort", SORTS)
def test_walking_forward_shows_every_product_once_in_the_sorted_order(
    staff_client, catalogue, sort
):
    url = reverse("warehouse:product_list")
    whole = skus(staff_client.get(url, {"sort": sort, "per_page": 100}))

    pages = walk(staff_client, staff_client.get(url, {"sort": sort, "per_page": 5}), "next")

    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    assert [sku for page in pages for sku in page] == whole
    assert len(set(whole)) == 23


@pytest.mark.parametrize("sort", SORTS)
def test_walking_back_from_the_last_page_shows_every_product_once(staff_client, catalogue, sort):
    url = reverse("warehouse:product_list")
    whole = skus(staff_client.get(url, {"sort": sort, "per_page": 100}))
    last = follow(staff_client, staff_client.get(url, {"sort": sort, "per_page": 5}), "last")

    pages = walk(staff_client, last, "prev")

    assert link(last, "next") is None
    assert [sku for page in reversed(pages) for sku in page] == whole
    assert link(follow(staff_client, last, "first"), "prev") is None


def test_products_added_between_two_pages_never_repeat_or_hide_a_shown_one(staff_client, catalogue):
    """A product added before the position is not shown again later; one after it is met."""
    url = reverse("warehouse:product_list")
    first = staff_client.get(url, {"sort": "name", "per_page": 5})
    second = follow(staff_client, first, "next")
    ProductFactory(sku="A-NEW", name="Part 0")  # sorts before the position: not met again
    ProductFactory(sku="Z-NEW", name="Part 2")  # sorts after it: met on the way

    pages = [skus(first)] + walk(staff_client, second, "next")
    seen = [sku for page in pages for sku in page]

    assert len(seen) == len(set(seen))
    assert set(seen) == {f"P-{n:02d}" for n in range(23)} | {"Z-NEW"}


def test_the_balance_costs_the_same_queries_deep_as_on_its_first_page(staff_client, storage):
    products = [ProductFactory(sku=f"B-{n:02d}") for n in range(30)]
    services.stock_in(
        actor=None,
        location=storage,
        lines=[
            services.StockInLine(product=p, quantity=Decimal(1), unit_cost=Decimal(1))
            for p in products
        ],
    )
    url = reverse("warehouse:balance")
    with CaptureQueriesContext(connection) as on_first:
        first = staff_client.get(url, {"per_page": 5})
    following = link(first, "next")
    for _ in range(3):
        following = link(staff_client.get(following), "next")
    with CaptureQueriesContext(connection) as deep:
        fifth = staff_client.get(following)
    with CaptureQueriesContext(connection) as on_last:
        last = staff_client.get(link(first, "last"))

    assert skus(fifth) == [f"B-{n:02d}" for n in range(20, 25)]
    assert skus(last) == [f"B-{n:02d}" for n in range(25, 30)]
    assert len(deep) == len(on_first) == len(on_last)


def test_go_to_a_sku_starts_the_page_at_it(staff_client, catalogue):
    url = reverse("warehouse:product_list")

    at = staff_client.get(url, {"from": "P-10", "per_page": 5})
    descending = staff_client.get(url, {"from": "P-10", "sort": "-sku", "per_page": 5})
    back = follow(staff_client, at, "prev")

    assert skus(at) == ["P-10", "P-11", "P-12", "P-13", "P-14"]
    assert skus(descending) == ["P-10", "P-09", "P-08", "P-07", "P-06"]
    assert skus(back) == ["P-05", "P-06", "P-07", "P-08", "P-09"]
    assertContains(at, 'name="from" value="P-10"')
    assertContains(at, "Go to SKU")


def test_go_to_a_day_of_the_activity_log_starts_at_its_newest_movement(staff_client, storage):
    """Newest first, going to a day shows that day's movements first, then older ones."""
    product = ProductFactory(sku="CAB-1")
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    for day in range(5):
        services.stock_in(
            actor=None,
            location=storage,
            lines=[
                services.StockInLine(product=product, quantity=Decimal(1), unit_cost=Decimal(1))
            ],
            now=start + timedelta(days=day),
        )
    url = reverse("warehouse:activity")

    response = staff_client.get(url, {"from": "2026-03-03"})
    shown = re.findall(r"<td>(2026-03-\d\d) \d\d:\d\d</td>", response.content.decode())

    assert shown[:1] == ["2026-03-03"]
    assert shown == sorted(shown, reverse=True)


@pytest.mark.parametrize("typed", ["not a day", "2026-13-45", "\u0661", "9" * 300])
def test_a_go_to_value_that_is_not_one_shows_the_first_page_and_says_so(staff_client, typed):
    response = staff_client.get(reverse("warehouse:activity"), {"from": typed})

    assert response.status_code == 200
    assertContains(response, "this is the first page")


@pytest.mark.parametrize(
    "cursor", ["garbage", "e30:1abc:xyz", "", "%00", "W10:1t0000:" + "A" * 43, "a" * 5000]
)
def test_a_tampered_cursor_shows_the_first_page(staff_client, catalogue, cursor):
    url = reverse("warehouse:product_list")

    for position in ("after", "before"):
        response = staff_client.get(url, {position: cursor, "per_page": 5})
        assert response.status_code == 200
        assert skus(response) == [f"P-{n:02d}" for n in range(5)]


def test_a_cursor_of_another_sort_shows_the_first_page_of_this_one(staff_client, catalogue):
    url = reverse("warehouse:product_list")
    by_name = link(staff_client.get(url, {"sort": "name", "per_page": 5}), "next")
    cursor = re.search(r"after=([^&]+)", by_name).group(1)

    response = staff_client.get(f"{url}?sort=-sku&per_page=5&after={cursor}")

    assert skus(response) == ["P-22", "P-21", "P-20", "P-19", "P-18"]
    assertContains(response, "no longer valid")


def test_an_old_page_number_lands_on_the_last_page_with_a_notice(staff_client, catalogue):
    response = staff_client.get(reverse("warehouse:product_list"), {"page": "800", "per_page": 5})

    assert skus(response) == ["P-18", "P-19", "P-20", "P-21", "P-22"]
    assertContains(response, "Pages are no longer numbered: this is the last page")
    assert link(response, "next") is None
    assert link(response, "prev")


def test_a_heading_sorts_from_the_first_page_not_from_the_position(staff_client, catalogue):
    second = follow(
        staff_client, staff_client.get(reverse("warehouse:product_list"), {"per_page": 5}), "next"
    )

    headings = re.findall(r'<th[^>]*><a href="([^"]+)"', second.content.decode())

    assert headings
    assert all("after=" not in heading for heading in headings)


def test_next_under_htmx_answers_the_table_alone_and_the_link_is_the_address(
    staff_client, catalogue
):
    url = reverse("warehouse:product_list")
    first = staff_client.get(url, {"per_page": 5}, headers=HTMX)

    second = staff_client.get(link(first, "next"), headers=HTMX)

    assert second.content.decode().lstrip().startswith('<div id="product-table"')
    assert skus(second) == [f"P-{n:02d}" for n in range(5, 10)]
    assertNotContains(second, "<html")


# --------------------------------------------------------------------------- NULLs


class _MaybeTable(PythonRows, tables.Table):
    sku = tables.Column()
    maybe = tables.Column()

    class Meta:
        order_by = "maybe"
        row_attrs = {"data-sku": lambda record: record.sku}


def _with_maybe():
    """Products with a column that is NULL for a third of them (their name otherwise)."""
    return Product.objects.annotate(
        maybe=Case(
            When(name__in=["Part 1", "Part 2"], then=F("name")),
            default=Value(None),
            output_field=CharField(),
        )
    )


def _page(rf, query: str, sort: str):
    products = _with_maybe()
    request = rf.get(f"/products/?{query or f'per_page=5&sort={sort}'}")
    table = _MaybeTable(products)
    keyset_paginate(request, table)
    records = [row.record.sku for row in table.page.object_list]
    return records, table.keyset


def _walk_core(rf, sort: str, start: str, rel: str) -> list[str]:
    records, pager = _page(rf, start and f"per_page=5&sort={sort}&{start}", sort)
    pages = [records]
    while getattr(pager, rel) and len(pages) < 10:
        records, pager = _page(rf, getattr(pager, rel).split("?", 1)[1], sort)
        pages.append(records)
    if rel == "previous":
        pages.reverse()
    return [sku for page in pages for sku in page]


@pytest.mark.parametrize("sort", ["maybe", "-maybe"])
def test_a_column_with_nulls_pages_through_every_row_once_both_ways(catalogue, sort):
    """NULLs come last ascending and first descending, as PostgreSQL sorts them."""
    rf = RequestFactory()
    whole = list(
        _with_maybe()
        .order_by(sort, "-pk" if sort.startswith("-") else "pk")
        .values_list("sku", flat=True)
    )

    forward = _walk_core(rf, sort, "", "next")
    backward = _walk_core(rf, sort, "last=1", "previous")

    assert forward == whole
    assert backward == whole
    assert len(set(whole)) == 23
