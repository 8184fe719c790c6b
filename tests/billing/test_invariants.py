"""Each of billing's checks of the books (billing.invariants) names the document a raw SQL
write corrupts."""

import pytest

from tests.corruption import books_seed, broken, one, sql, violations


@pytest.fixture
def books(db):
    books_seed()


def test_a_sequence_behind_the_numbers_in_use_is_named(books):
    sql("UPDATE billing_documentsequence SET next_number = 1 WHERE prefix = 'ORD'")

    [found] = violations("document sequences continue after the numbers in use")
    assert found.startswith("sequence ORD: next number 1, highest in use ")


def test_a_confirmed_line_that_dropped_its_reservation_is_named(books):
    """A reservation released behind the document's back, its figure too: only the
    document's lines can tell."""
    rid, number, line_id, sku, quantity, product_id, warehouse_id = one(
        "SELECT r.id, r.document_number, r.line_id, p.sku, r.quantity, r.product_id,"
        " r.warehouse_id FROM warehouse_reservation AS r"
        " JOIN warehouse_product AS p ON p.id = r.product_id"
        " WHERE r.status = 'open' AND r.document_type = 'order' ORDER BY r.id"
    )
    sql("UPDATE warehouse_reservation SET status = 'released' WHERE id = %s", [rid])
    sql(
        "UPDATE warehouse_warehousestock SET reserved = reserved - %s"
        " WHERE product_id = %s AND warehouse_id = %s",
        [quantity, product_id, warehouse_id],
    )

    name = "open reservations agree with the lines of confirmed orders and issued invoices"
    assert broken() == {name: [f"{number} line {line_id} (SKU {sku}): holds no open reservation"]}
