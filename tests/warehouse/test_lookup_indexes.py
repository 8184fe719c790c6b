"""Fragments typed in a search read the trigram indexes, and find what the table holds."""

import pytest

from tests.lookups import analyze, plan, rows, unindexed
from warehouse.filters import LocationFilter, ProductFilter
from warehouse.models import Location, Party, Product, Warehouse
from warehouse.selectors import location_suggest, party_suggest, product_suggest

ROWS = 3000


@pytest.fixture
def catalogue(db):
    Product.objects.bulk_create(
        Product(sku=f"LTP{n:07d}", name=f"Router model {n:05d} grey") for n in range(ROWS)
    )
    Party.objects.bulk_create(Party(name=f"Customer {n:05d} Ltd") for n in range(ROWS))
    warehouse = Warehouse.objects.create(code="big", name="Big warehouse")
    Location.objects.bulk_create(
        Location(warehouse=warehouse, code=f"R{n:05d}", name=f"Rack {n:05d}", kind="storage")
        for n in range(ROWS)
    )
    analyze(Product, Party, Location)


def test_a_product_name_fragment_reads_the_trigram_index_and_finds_every_match(catalogue):
    found = ProductFilter({"q": "el 0123"}, queryset=Product.objects.all()).qs

    assert "Bitmap Index Scan on product_text_trgm" in plan(found)
    assert rows(found) == unindexed(found)
    assert {p.name for p in found} == {f"Router model {n:05d} grey" for n in range(1230, 1240)}


def test_a_sku_typed_whole_is_suggested_first_and_the_suggestions_read_the_index(catalogue):
    Product.objects.create(sku="AA-1", name="Spare for box-12 holder")
    Product.objects.create(sku="BOX-12", name="Box")
    Product.objects.create(sku="BOX-120", name="Box, large")

    suggested = product_suggest(text="ｂｏｘ-12")

    assert "product_text_trgm" in plan(suggested)
    assert [p.sku for p in suggested] == ["BOX-12", "BOX-120", "AA-1"]


def test_a_party_name_fragment_reads_the_trigram_index_and_finds_every_match(catalogue):
    found = Party.objects.filter(name__identity_contains="mer 0042")

    assert "Bitmap Index Scan on party_text_trgm" in plan(found)
    assert rows(found) == unindexed(found)
    assert len(found) == 10


def test_a_party_typed_whole_is_suggested_before_those_that_contain_it(catalogue):
    Party.objects.create(name="Big Customer 00042 Ltd")

    suggested = [p.name for p in party_suggest(text="customer 00042 ltd")]

    assert suggested == ["Customer 00042 Ltd", "Big Customer 00042 Ltd"]


def test_a_location_code_or_name_fragment_reads_the_trigram_index(catalogue):
    found = LocationFilter({"q": "ck 0077"}, queryset=Location.objects.all()).qs

    assert "Bitmap Index Scan on location_text_trgm" in plan(found)
    assert rows(found) == unindexed(found)
    assert len(found) == 10
    assert [loc.code for loc in location_suggest(text="r0077")][:1] == ["R00770"]


def test_percent_and_underscore_typed_in_a_search_are_literal(catalogue):
    Product.objects.create(sku="PCT-1", name="Discount 50% off")
    Product.objects.create(sku="UND-1", name="cable_a")

    by_percent = ProductFilter({"q": "50%"}, queryset=Product.objects.all()).qs
    by_underscore = ProductFilter({"q": "e_a"}, queryset=Product.objects.all()).qs
    by_wildcards = ProductFilter({"q": "%_%"}, queryset=Product.objects.all()).qs

    assert [p.sku for p in by_percent] == ["PCT-1"]
    assert [p.sku for p in by_underscore] == ["UND-1"]
    assert list(by_wildcards) == []


def test_a_product_name_typed_in_full_width_letters_or_other_case_is_found(catalogue):
    typed = "ＲＯＵＴＥＲ\u200b MODEL 02999"
    found = ProductFilter({"q": typed}, queryset=Product.objects.all()).qs

    assert [p.sku for p in found] == ["LTP0002999"]
