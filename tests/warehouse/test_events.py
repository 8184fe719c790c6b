"""The event outbox: every ledger line writes its event in its own transaction, and the
feed pages through them in (txid, id) order with no gap and no duplicate."""

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.feed import horizon_passed
from tests.race import JOIN_TIMEOUT
from tests.warehouse.factories import ProductFactory, WarehouseFactory, book_in, storage_of
from warehouse import services
from warehouse.events import (
    InvalidCursor,
    cursor_decode,
    cursor_encode,
    events_after,
    events_record,
)
from warehouse.exceptions import InsufficientStock
from warehouse.models import Event, Movement


def _booked_events():
    return list(Event.objects.filter(kind=Event.Kind.MOVEMENT_BOOKED).order_by("id"))


@pytest.mark.django_db
def test_a_stock_in_writes_one_movement_booked_event_per_ledger_line(storage, staff_user):
    cable = ProductFactory(sku="CABLE", unit="m")
    plug = ProductFactory(sku="PLUG")

    services.stock_in(
        actor=staff_user,
        location=storage,
        lines=[
            services.StockInLine(product=cable, quantity=Decimal("2.5"), unit_cost=Decimal("3")),
            services.StockInLine(product=plug, quantity=Decimal("4"), unit_cost=Decimal("0.5")),
        ],
        reference="PO-7",
    )

    events = _booked_events()
    movements = list(Movement.objects.order_by("id"))
    assert [e.movement_id for e in events] == [m.pk for m in movements]
    first = events[0]
    assert first.subject == {"type": "product", "sku": "CABLE"}
    assert first.actor == staff_user
    assert first.data == {
        "action": "add",
        "sku": "CABLE",
        "quantity": "2.5",
        "from": "~SUPPLIER",
        "to": "STOCK",
        "unit_cost": "3",
        "serial": "",
        "reference": "PO-7",
    }
    assert first.created_at == movements[0].created_at
    assert len({e.txid for e in events}) == 1  # one booking, one transaction


@pytest.mark.django_db
def test_a_traceable_unit_s_event_names_the_device_by_serial_and_product(storage):
    modem = ProductFactory(sku="MODEM", traceable=True)

    book_in(storage, modem, None, serials=["SN-1"])

    event = _booked_events()[0]
    assert event.subject == {"type": "device", "serial": "SN-1", "product": "MODEM"}
    assert event.data["serial"] == "SN-1"


@pytest.mark.django_db
def test_a_refused_booking_writes_no_event(storage):
    cable = ProductFactory(sku="CABLE")
    book_in(storage, cable, 1)
    before = Event.objects.count()

    with pytest.raises(InsufficientStock):
        services.stock_remove(
            actor=None, product=cable, location=storage, quantity=Decimal(5), reason="broken"
        )

    assert Event.objects.count() == before


@pytest.mark.django_db
def test_a_booking_rolled_back_by_its_caller_leaves_no_event(storage):
    cable = ProductFactory(sku="CABLE")

    def book_then_fail():
        with transaction.atomic():
            book_in(storage, cable, 3)
            assert Event.objects.count() == 1
            raise RuntimeError("the caller fails after booking")

    with pytest.raises(RuntimeError):
        book_then_fail()

    assert Event.objects.count() == 0
    assert Movement.objects.count() == 0


@pytest.mark.django_db
def test_a_multi_line_booking_writes_its_events_in_one_insert(storage):
    products = [ProductFactory() for _ in range(5)]
    lines = [
        services.StockInLine(product=p, quantity=Decimal(1), unit_cost=Decimal(1)) for p in products
    ]
    with CaptureQueriesContext(connection) as queries:
        services.stock_in(actor=None, location=storage, lines=lines)

    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "warehouse_event"')]
    assert len(inserts) == 1
    assert Event.objects.count() == 5


@pytest.mark.django_db
def test_the_database_refuses_to_update_or_delete_an_event(storage):
    book_in(storage, ProductFactory(), 1)
    event = Event.objects.get()

    for statement in (
        "UPDATE warehouse_event SET kind = 'order.confirmed' WHERE id = %s",
        "DELETE FROM warehouse_event WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])


@pytest.mark.django_db
def test_a_ledger_line_cannot_have_two_movement_booked_events(storage):
    book_in(storage, ProductFactory(), 1)
    movement = Movement.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        events_record([Event(kind=Event.Kind.MOVEMENT_BOOKED, movement=movement)])


# --------------------------------------------------------------------------- the feed


def _feed_all(cursor=None, limit=2):
    """Every page readable now, from `cursor`: (events, the cursor after them)."""
    read = []
    for _ in range(10_000):
        page, cursor = events_after(cursor, limit)
        if not page:
            return read, cursor
        read += page
    raise AssertionError("the feed never ended")


@pytest.mark.django_db(transaction=True)
def test_the_feed_pages_through_committed_events_in_order_with_a_cursor():
    warehouse = WarehouseFactory(code="main")
    stock = storage_of(warehouse)
    for n in range(5):
        book_in(stock, ProductFactory(sku=f"P-{n}"), 1)
    horizon_passed()

    first, cursor = events_after(None, 2)
    second, cursor = events_after(cursor, 2)
    rest, cursor = _feed_all(cursor, 2)

    read = first + second + rest
    assert [len(first), len(second)] == [2, 2]
    assert [e.data["sku"] for e in read] == [f"P-{n}" for n in range(5)]
    assert [e.pk for e in read] == list(
        Event.objects.order_by("txid", "id").values_list("id", flat=True)
    )
    assert events_after(cursor, 2) == ([], cursor)  # nothing new: the same cursor back


@pytest.mark.parametrize(
    "cursor", ["not-a-cursor", "!!!", cursor_encode(1, 2)[:-2] + "~~", "MS4y.Mw", "LTEuMg"]
)
def test_a_malformed_cursor_is_refused_with_a_clear_message(cursor):
    with pytest.raises(InvalidCursor, match="not a cursor of the event feed"):
        events_after(cursor, 10)


def test_a_cursor_names_the_position_after_an_event():
    assert cursor_decode(cursor_encode(123456789012, 42)) == (123456789012, 42)


def _event(sku):
    return Event(kind=Event.Kind.MOVEMENT_BOOKED, subject={"type": "product", "sku": sku})


@pytest.mark.django_db(transaction=True)
def test_an_event_committed_late_is_read_once_and_in_order_after_the_cursor():
    """T1 writes first and commits last: a reader that read in between misses nothing."""
    t1_written, t1_commit = threading.Event(), threading.Event()
    failures = []

    def slow_writer():
        try:
            with transaction.atomic():
                events_record([_event("T1")])
                t1_written.set()
                assert t1_commit.wait(timeout=JOIN_TIMEOUT)
        except Exception as error:  # noqa: BLE001 - reported to the test
            failures.append(error)
        finally:
            t1_written.set()
            connection.close()

    def fast_writer():
        try:
            with transaction.atomic():
                events_record([_event("T2")])
        finally:
            connection.close()

    t1 = threading.Thread(target=slow_writer, name="T1", daemon=True)
    t1.start()
    assert t1_written.wait(timeout=JOIN_TIMEOUT)
    t2 = threading.Thread(target=fast_writer, name="T2", daemon=True)
    t2.start()
    t2.join(timeout=JOIN_TIMEOUT)
    assert not t2.is_alive()
    assert set(Event.objects.values_list("subject__sku", flat=True)) == {"T2"}  # T1 not visible

    early, cursor = _feed_all(None)
    naive_cursor = Event.objects.order_by("-id").values_list("id", flat=True)[0]

    t1_commit.set()
    t1.join(timeout=JOIN_TIMEOUT)
    assert not t1.is_alive()
    assert not failures, failures
    late = []
    for _ in range(200_000):  # another test's open transaction may hold the horizon a while
        page, cursor = _feed_all(cursor)
        late += page
        if len(early) + len(late) >= 2:
            break

    assert early == []  # T2's event waits for T1, which might still commit before it
    read = [e.subject["sku"] for e in early + late]
    final = list(Event.objects.order_by("txid", "id").values_list("subject__sku", flat=True))
    assert read == final == ["T1", "T2"]
    assert _feed_all(cursor) == ([], cursor)  # and never again
    # Ids alone would have lost it: T1's id is below T2's, which a reader had already passed.
    assert not Event.objects.filter(id__gt=naive_cursor, subject__sku="T1").exists()
