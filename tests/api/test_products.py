"""Products: the catalogue as the products page filters it, one product by its SKU."""

import pytest

from tests.warehouse.factories import ProductFactory


@pytest.mark.django_db
def test_the_product_list_shows_each_product_by_sku_with_its_catalogue_fields(clerk_api):
    ProductFactory(sku="LTP-2", name="Laptop", traceable=True)
    ProductFactory(sku="CBL-1", name="Cable")

    rows = clerk_api.get("/api/products/").json()["results"]

    assert [r["sku"] for r in rows] == ["CBL-1", "LTP-2"]
    assert rows[1]["name"] == "Laptop"
    assert rows[1]["traceable"] is True
    assert {"id", "unit", "sale_price", "rental_price", "active"} <= set(rows[0])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=ltp", ["LTP-2"]),
        ("q=%EF%BC%AC%E2%80%8BTP", ["LTP-2"]),  # a full-width L and a zero-width space
        ("q=cable", ["CBL-1"]),
        ("traceable=true", ["LTP-2"]),
        ("active=false", ["OLD-1"]),
        ("active=true&traceable=false", ["CBL-1"]),
    ],
)
def test_the_product_list_filters_as_the_products_page(clerk_api, query, expected):
    ProductFactory(sku="LTP-2", name="Laptop", traceable=True)
    ProductFactory(sku="CBL-1", name="Cable")
    ProductFactory(sku="OLD-1", name="Old thing", active=False)

    rows = clerk_api.get(f"/api/products/?{query}").json()["results"]

    assert [r["sku"] for r in rows] == expected


@pytest.mark.django_db
def test_a_product_is_found_by_its_sku_in_any_case_or_form(clerk_api):
    product = ProductFactory(sku="LTP-2", name="Laptop")

    for typed in ("LTP-2", "ltp-2", "%EF%BC%ACTP-2", "LTP%E2%80%8B-2", "%20LTP-2%20"):
        response = clerk_api.get(f"/api/products/{typed}/")
        assert response.status_code == 200, typed
        assert response.json()["id"] == product.pk


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["NOPE", "%E2%80%8B"])
def test_an_unknown_sku_answers_404_not_found(clerk_api, typed):
    ProductFactory(sku="LTP-2")

    response = clerk_api.get(f"/api/products/{typed}/")

    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not found.", "field": None}
    }


@pytest.mark.django_db
def test_the_product_list_orders_by_name_when_asked(clerk_api):
    ProductFactory(sku="A-1", name="Zebra")
    ProductFactory(sku="B-1", name="Apple")

    rows = clerk_api.get("/api/products/?ordering=name").json()["results"]

    assert [r["sku"] for r in rows] == ["B-1", "A-1"]
