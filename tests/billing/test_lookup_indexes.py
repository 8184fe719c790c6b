"""A fragment of a document number reads its trigram index and finds what the table holds."""

import pytest

from billing.filters import OrderFilter
from billing.models import Order
from tests.lookups import analyze, plan, rows, unindexed
from warehouse.models import Party, Warehouse

ROWS = 3000


@pytest.fixture
def orders(db):
    party = Party.objects.create(name="Customer")
    warehouse = Warehouse.objects.create(code="main", name="Main")
    Order.objects.bulk_create(
        Order(number=f"SO-{n:06d}", party=party, warehouse=warehouse) for n in range(ROWS)
    )
    analyze(Order)


def test_a_document_number_fragment_reads_the_trigram_index_and_finds_every_match(orders):
    found = OrderFilter({"number": "so-0012"}, queryset=Order.objects.all()).qs

    assert "Bitmap Index Scan on order_number_trgm" in plan(found)
    assert rows(found) == unindexed(found)
    assert len(found) == 100


def test_a_whole_document_number_typed_in_another_case_finds_its_order(orders):
    found = OrderFilter({"number": "so-001234"}, queryset=Order.objects.all()).qs

    assert "order_number_trgm" in plan(found)
    assert [order.number for order in found] == ["SO-001234"]
