"""A database upgraded to the outbox gets an event for every ledger and history line.

The books are booked through the services, then their events taken away (as
on a database from before warehouse 0014), then the backfill migrations run.
"""

import importlib
from decimal import Decimal

import pytest
from django.db import connection

from devices import stock_booking
from devices.services import device_transition
from tests.warehouse.factories import ProductFactory, WarehouseFactory, storage_of
from warehouse.invariants import books_audit
from warehouse.models import Event, Movement
from warehouse.services import StockInLine

pytestmark = pytest.mark.django_db


def backfill(app: str, name: str) -> None:
    migration = importlib.import_module(f"{app}.migrations.{name}")
    with connection.cursor() as cursor:
        cursor.execute(migration.BACKFILL)


def events_taken_away() -> None:
    """The outbox as before 0014: empty (the owner lifts its append-only guard to empty it)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no foreign key check pending
        cursor.execute("ALTER TABLE warehouse_event DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM warehouse_event")
        cursor.execute("ALTER TABLE warehouse_event ENABLE TRIGGER USER")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def snapshot():
    return sorted(
        (e.kind, e.movement_id, str(sorted(e.subject.items())), str(sorted(e.data.items())))
        for e in Event.objects.all()
    )


@pytest.fixture
def books():
    stock = storage_of(WarehouseFactory(code="main"))
    bolt = ProductFactory(sku="CABLE-1", unit="m")
    modem = ProductFactory(sku="MOD-1", traceable=True)
    stock_booking.stock_in(
        actor=None,
        location=stock,
        lines=[
            StockInLine(product=bolt, quantity=Decimal("2.5"), unit_cost=Decimal("1.25")),
            StockInLine(product=modem, quantity=None, unit_cost=Decimal("9"), serials=("S1",)),
        ],
    )
    from devices.models import Device  # noqa: PLC0415

    device_transition(
        device=Device.objects.get(serial="S1"), action="block", actor=None, reason="dented"
    )


def test_the_backfill_writes_what_the_services_wrote_and_the_books_agree_again(books):
    written = snapshot()
    assert len(written) == Movement.objects.count() + 2  # the device's stock-in and block
    events_taken_away()
    assert {name for name, _ in books_audit().broken} >= {
        "every ledger line has one movement.booked event, every event's movement exists",
        "every device history line has one device event",
    }

    backfill("warehouse", "0015_events_backfill")
    backfill("devices", "0007_events_backfill")

    assert snapshot() == written
    assert books_audit().broken == []


def test_the_backfill_run_twice_writes_nothing_twice(books):
    backfill("warehouse", "0015_events_backfill")
    backfill("devices", "0007_events_backfill")

    assert Event.objects.filter(kind="movement.booked").count() == Movement.objects.count()
    assert books_audit().broken == []
