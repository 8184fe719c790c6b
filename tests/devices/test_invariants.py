"""Each of the devices' checks of the books (devices.invariants) names the device or the
product and location a raw SQL write corrupts."""

import pytest

from tests.corruption import ROOMY, books_seed, one, sql, violations

# A device new in a storage location: (id, SKU, serial, location id, warehouse id).
STORED_DEVICE = """
    SELECT d.id, p.sku, d.serial, d.location_id, l.warehouse_id FROM devices_device AS d
    JOIN warehouse_product AS p ON p.id = d.product_id
    JOIN warehouse_location AS l ON l.id = d.location_id
    WHERE d.state = 'new' AND d.location_kind = 'storage' AND d.reserved_by = ''
    ORDER BY d.id
"""


@pytest.fixture
def books(db):
    books_seed()


def test_a_blocked_figure_with_no_blocked_device_is_named(books):
    rid, sku, warehouse = one(ROOMY)
    sql("UPDATE warehouse_warehousestock SET blocked = blocked + 1 WHERE id = %s", [rid])

    [found] = violations("blocked = blocked devices in storage")
    assert found.startswith(f"SKU {sku} in {warehouse}: blocked ")


def test_a_device_moved_behind_the_ledgers_back_is_named_where_it_left_and_went(books):
    did, sku, serial, location_id, warehouse_id = one(STORED_DEVICE)
    other, code = one(
        "SELECT id, code FROM warehouse_location WHERE kind = 'storage' AND warehouse_id = %s"
        " AND id <> %s ORDER BY id",
        [warehouse_id, location_id],
    )
    sql("UPDATE devices_device SET location_id = %s WHERE id = %s", [other, did])

    found = violations("devices of a traceable product = its positions in owned places and sold")
    assert any(f"SKU {sku} at " in row and f"/{code}: " in row for row in found)
    [last] = violations("each device's last movement put it where it is; each has its stock-in")
    assert last.startswith(f"device {sku} #{serial}: at location {code}, its last movement went")


def test_a_device_with_no_stock_in_is_named(books):
    did, sku, serial, *_ = one(STORED_DEVICE)
    sql("UPDATE devices_device SET serial = serial || 'X' WHERE id = %s", [did])

    assert violations("each device's last movement put it where it is; each has its stock-in") == [
        f"device {sku} #{serial}X: no stock-in in the ledger"
    ]


def test_a_sold_device_without_an_owner_is_named(books):
    did, sku, serial = one(
        "SELECT d.id, p.sku, d.serial FROM devices_device AS d"
        " JOIN warehouse_product AS p ON p.id = d.product_id WHERE d.state = 'sold' ORDER BY d.id"
    )
    sql("ALTER TABLE devices_device DROP CONSTRAINT device_owner_agrees_with_state")
    sql("UPDATE devices_device SET owner_id = NULL WHERE id = %s", [did])

    assert violations("sold devices are in a sold location with an owner") == [
        f"device {sku} #{serial}: sold, in a sold location, no owner"
    ]


def test_a_device_whose_place_disagrees_with_its_location_is_named(books):
    did, sku, serial, *_ = one(STORED_DEVICE)
    sql("ALTER TABLE devices_device DROP CONSTRAINT device_location_kind_fk")
    sql("UPDATE devices_device SET location_kind = 'quarantine' WHERE id = %s", [did])

    [found] = violations("each device's place agrees with its state and its location's kind")
    assert found.startswith(f"device {sku} #{serial}: new in a quarantine place, its location ")
    assert found.endswith(" is storage")


ONE_EACH = "every device history line has one device event"
HISTORY = """
    SELECT h.id, h.action, p.sku, d.serial, e.id FROM devices_deviceevent AS h
    JOIN devices_device AS d ON d.id = h.device_id
    JOIN warehouse_product AS p ON p.id = d.product_id
    JOIN warehouse_event AS e ON (e.data ->> 'history')::bigint = h.id
    ORDER BY h.id
"""


def test_demo_books_have_one_device_event_per_history_line(books):
    assert sql("SELECT COUNT(*) FROM devices_deviceevent")[0][0] > 0
    assert violations(ONE_EACH) == []


def test_a_history_line_whose_device_event_was_deleted_is_named(books):
    history_id, action, sku, serial, event_id = one(HISTORY)
    sql("ALTER TABLE warehouse_event DISABLE TRIGGER event_append_only")
    sql("DELETE FROM warehouse_event WHERE id = %s", [event_id])

    assert violations(ONE_EACH) == [
        f"device {sku} #{serial} history {history_id} ({action}): 0 device events"
    ]


def test_a_history_line_with_two_device_events_is_named(books):
    history_id, action, sku, serial, event_id = one(HISTORY)
    sql(
        "INSERT INTO warehouse_event (created_at, kind, subject, document_type,"
        " document_number, data) SELECT created_at, kind, subject, '', '', data"
        " FROM warehouse_event WHERE id = %s",
        [event_id],
    )

    assert violations(ONE_EACH) == [
        f"device {sku} #{serial} history {history_id} ({action}): 2 device events"
    ]
