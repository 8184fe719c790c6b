"""`check_books` agrees on honest demo books and names the row a raw SQL write corrupts;
each of the warehouse's checks notices its own corruption."""

import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from inventory_site.database import app_role_name, command_role
from tests.corruption import ROOMY, books_seed, broken, one, sql, violations
from tests.production import BASE_DIR, database_url
from warehouse.invariants import INVARIANTS

POSITIONS = "positions equal the ledger (Σ in − Σ out per product × location)"
# A counted product's position in a storage location: (position id, SKU, warehouse, code, qty).
STORED = """
    SELECT pos.id, p.sku, w.code, l.code, pos.quantity, pos.product_id, pos.location_id
    FROM warehouse_stockposition AS pos
    JOIN warehouse_product AS p ON p.id = pos.product_id AND NOT p.traceable
    JOIN warehouse_location AS l ON l.id = pos.location_id AND l.kind = 'storage'
    JOIN warehouse_warehouse AS w ON w.id = l.warehouse_id
    WHERE pos.quantity >= 2 ORDER BY pos.id
"""


@pytest.fixture
def books(db):
    books_seed()


def plain(quantity) -> str:
    """A quantity as the audit prints it: no trailing zeros."""
    return f"{quantity.normalize():f}"


def check_books(*args) -> str:
    out = StringIO()
    call_command("check_books", *args, stdout=out)
    return out.getvalue()


def test_check_books_agrees_on_fresh_demo_data_in_one_line(books):
    movements = sql("SELECT COUNT(*) FROM warehouse_movement")[0][0]

    output = check_books()

    assert len(output.strip().splitlines()) == 1
    assert output.startswith(f"Books agree: {len(INVARIANTS)} checks over {movements:,} movements")


def test_check_books_agrees_on_the_demo_data_booked_through_the_services(db):
    books_seed("S")

    assert "Books agree:" in check_books()


def test_check_books_fails_naming_the_sku_and_location_of_a_corrupted_quantity(books):
    pid, sku, warehouse, code, quantity, *_ = one(STORED)
    sql("UPDATE warehouse_stockposition SET quantity = quantity + 1 WHERE id = %s", [pid])

    with pytest.raises(CommandError, match="Books disagree"):
        check_books()

    out = StringIO()
    with pytest.raises(CommandError):
        call_command("check_books", stdout=out)
    named = (
        f"SKU {sku} at {warehouse}/{code}: cached {plain(quantity + 1)}, ledger {plain(quantity)}"
    )
    assert named in out.getvalue()
    assert violations(POSITIONS) == [named]


def test_a_negative_real_position_is_named(books):
    pid, sku, warehouse, code, *_ = one(STORED)
    sql("ALTER TABLE warehouse_stockposition DROP CONSTRAINT stockposition_not_negative")
    sql("UPDATE warehouse_stockposition SET quantity = -1 WHERE id = %s", [pid])

    assert violations("no real location holds a negative quantity") == [
        f"SKU {sku} at {warehouse}/{code}: holds -1"
    ]


def test_a_location_that_went_below_zero_and_back_is_named_with_the_movement(books):
    """Out more than it held, then back: the cached figure agrees, the ledger's order not."""
    _, sku, warehouse, code, quantity, product_id, location_id = one(STORED)
    adjustment = one(
        "SELECT id FROM warehouse_location WHERE kind = 'adjustment'"
        " AND warehouse_id = (SELECT warehouse_id FROM warehouse_location WHERE id = %s)",
        [location_id],
    )[0]
    actor = one("SELECT id FROM auth_user ORDER BY id")[0]
    insert = (
        "INSERT INTO warehouse_movement (product_id, quantity, source_id, destination_id,"
        " action, unit_cost, serial, supplier, reason, reference, actor_id, created_at)"
        " VALUES (%s, %s, %s, %s, %s, 0, '', '', 'corrupted', '', %s, now()) RETURNING id"
    )
    out = sql(insert, [product_id, quantity + 1, location_id, adjustment, "adjust_down", actor])
    sql(insert, [product_id, quantity + 1, adjustment, location_id, "adjust_up", actor])

    assert violations("no real location ever below zero, at any point of the ledger") == [
        f"SKU {sku} at {warehouse}/{code}: below zero after movement {out[0][0]} (-1)"
    ]
    assert violations(POSITIONS) == []


def test_a_warehouse_balance_off_its_positions_is_named(books):
    rid, sku, warehouse = one(ROOMY)
    sql("UPDATE warehouse_warehousestock SET in_hand = in_hand + 1 WHERE id = %s", [rid])

    [found] = violations("warehouse balances equal their positions by location kind")
    assert found.startswith(f"SKU {sku} in {warehouse}: in hand ")


def test_a_reserved_figure_with_no_reservation_behind_it_is_named(books):
    rid, sku, warehouse = one(ROOMY)
    sql("UPDATE warehouse_warehousestock SET reserved = reserved + 1 WHERE id = %s", [rid])

    [found] = violations("reserved = Σ open reservations")
    assert found.startswith(f"SKU {sku} in {warehouse}: reserved ")
    assert violations("reserved ≤ storage − blocked") == []


def test_more_reserved_than_storage_holds_unblocked_is_named(books):
    rid, sku, warehouse = one(ROOMY)
    sql(
        "ALTER TABLE warehouse_warehousestock"
        " DROP CONSTRAINT warehousestock_reserved_within_storage"
    )
    sql(
        "UPDATE warehouse_warehousestock SET reserved = in_storage - blocked + 1 WHERE id = %s",
        [rid],
    )

    [found] = violations("reserved ≤ storage − blocked")
    assert found.startswith(f"SKU {sku} in {warehouse}: reserved ")


def test_fifo_layers_that_lost_units_are_named_by_product_and_warehouse(books):
    lid, sku, warehouse = one(
        "SELECT l.id, p.sku, w.code FROM warehouse_costlayer AS l"
        " JOIN warehouse_product AS p ON p.id = l.product_id"
        " JOIN warehouse_warehouse AS w ON w.id = l.warehouse_id"
        " WHERE l.remaining >= 1 ORDER BY l.id"
    )
    sql("UPDATE warehouse_costlayer SET remaining = remaining - 1 WHERE id = %s", [lid])

    [found] = violations("FIFO layers add up to ownership per product × warehouse")
    assert found.startswith(f"SKU {sku} in {warehouse}: layers hold ")


def test_a_consumption_that_does_not_match_its_layer_is_named(books):
    lid, sku, warehouse = one(
        "SELECT c.layer_id, p.sku, w.code FROM warehouse_layerconsumption AS c"
        " JOIN warehouse_costlayer AS l ON l.id = c.layer_id"
        " JOIN warehouse_product AS p ON p.id = l.product_id"
        " JOIN warehouse_warehouse AS w ON w.id = l.warehouse_id ORDER BY c.id"
    )
    sql(
        "UPDATE warehouse_layerconsumption SET quantity = quantity + 1 WHERE id ="
        " (SELECT MIN(id) FROM warehouse_layerconsumption WHERE layer_id = %s)",
        [lid],
    )

    [found] = violations("layer consumptions add up to what each layer lost")
    assert found.startswith(f"cost layer {lid} of SKU {sku} in {warehouse}: lost ")
    assert set(broken()) == {"layer consumptions add up to what each layer lost"}


def test_check_books_runs_as_the_application_role():
    assert command_role(["manage.py", "check_books"]) == "app"


@pytest.mark.skipif(
    app_role_name() == connection.settings_dict["USER"],
    reason="this server has one role: the application connects as the owner",
)
@pytest.mark.django_db(transaction=True)
def test_manage_py_check_books_exits_0_on_agreeing_books_and_1_naming_the_row():
    """As the application role, in a process of its own, on committed books."""
    books_seed()
    pid, sku, warehouse, code, *_ = one(STORED)
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "inventory_site.settings.dev",
        "DATABASE_URL": database_url().replace(
            f"//{connection.settings_dict['USER']}", f"//{app_role_name()}", 1
        ),
    }

    def run():
        return subprocess.run(  # noqa: S603 (our own manage.py)
            [sys.executable, "manage.py", "check_books"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    agreeing = run()
    sql("UPDATE warehouse_stockposition SET quantity = quantity + 1 WHERE id = %s", [pid])
    disagreeing = run()

    assert (agreeing.returncode, agreeing.stdout.startswith("Books agree:")) == (0, True)
    assert disagreeing.returncode == 1
    assert f"SKU {sku} at {warehouse}/{code}: cached" in disagreeing.stdout


EVENTS = "every ledger line has one movement.booked event, every event's movement exists"
BOOKED = """
    SELECT e.id, e.movement_id, p.sku FROM warehouse_event AS e
    JOIN warehouse_movement AS m ON m.id = e.movement_id
    JOIN warehouse_product AS p ON p.id = m.product_id
    WHERE e.kind = 'movement.booked' ORDER BY e.id
"""


def test_demo_books_have_one_movement_booked_event_per_ledger_line(books):
    assert sql("SELECT COUNT(*) FROM warehouse_movement")[0][0] > 0
    assert violations(EVENTS) == []
    assert sql(
        "SELECT COUNT(*) = (SELECT COUNT(*) FROM warehouse_movement) FROM warehouse_event"
        " WHERE kind = 'movement.booked'"
    ) == [(True,)]


def test_a_ledger_line_whose_event_was_deleted_is_named(books):
    event_id, movement_id, sku = one(BOOKED)
    sql("ALTER TABLE warehouse_event DISABLE TRIGGER event_append_only")
    sql("DELETE FROM warehouse_event WHERE id = %s", [event_id])

    assert violations(EVENTS) == [f"movement {movement_id} (SKU {sku}): 0 movement.booked events"]


def test_a_ledger_line_with_two_events_is_named(books):
    event_id, movement_id, sku = one(BOOKED)
    sql("DROP INDEX event_movement_booked_unique")
    sql(
        "INSERT INTO warehouse_event (created_at, kind, subject, movement_id, document_type,"
        " document_number, data) SELECT created_at, kind, subject, movement_id, '', '', data"
        " FROM warehouse_event WHERE id = %s",
        [event_id],
    )

    assert violations(EVENTS) == [f"movement {movement_id} (SKU {sku}): 2 movement.booked events"]


def test_an_event_whose_movement_does_not_exist_is_named(books):
    (fk,) = one(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'warehouse_event'::regclass"
        " AND contype = 'f' AND pg_get_constraintdef(oid) LIKE '%%(movement_id)%%'"
    )
    sql(f'ALTER TABLE warehouse_event DROP CONSTRAINT "{fk}"')
    (missing,) = one("SELECT MAX(id) + 1000 FROM warehouse_movement")
    (event_id,) = sql(
        "INSERT INTO warehouse_event (created_at, kind, subject, movement_id, document_type,"
        " document_number, data) VALUES (now(), 'device.moved', '{}', %s, '', '', '{}')"
        " RETURNING id",
        [missing],
    )[0]

    assert violations(EVENTS) == [
        f"event {event_id} (device.moved): its movement {missing} does not exist"
    ]
