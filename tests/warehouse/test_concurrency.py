"""Concurrent bookings against PostgreSQL: real threads, each with its own connection.

The services lock the rows they change in one global order (product ×
warehouse, then product × location), so concurrent requests queue instead of
overselling or deadlocking. These tests commit for real (`transaction=True`).
"""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from tests.race import JOIN_TIMEOUT, run_together
from tests.warehouse.factories import (
    LocationFactory,
    ProductFactory,
    WarehouseFactory,
    assert_positions_equal_the_ledger,
    book_in,
    position_of,
    storage_of,
)
from warehouse import services
from warehouse.exceptions import InsufficientStock, InvalidSerials, WarehouseError
from warehouse.models import WarehouseStock
from warehouse.selectors import serials_at
from warehouse.services import stock as stock_actions

pytestmark = pytest.mark.django_db(transaction=True)


class Clerk(threading.Thread):
    """One booking in its own thread and connection; `outcome` as in `run_together`."""

    def __init__(self, name, call):
        super().__init__(name=name)
        self.call = call
        self.outcome = None
        self.pid = None
        self.connected = threading.Event()

    def run(self):
        try:
            connection.ensure_connection()
            self.pid = connection.connection.info.backend_pid
            self.connected.set()
            self.outcome = ("ok", self.call())
        except WarehouseError as refusal:
            self.outcome = ("refused", refusal)
        except Exception as error:  # noqa: BLE001 - reported to the test, not swallowed
            self.outcome = ("error", error)
        finally:
            self.connected.set()
            connection.close()

    def finish(self):
        self.join(timeout=JOIN_TIMEOUT)
        assert not self.is_alive(), f"{self.name} never finished"
        assert self.outcome[0] != "error", self.outcome[1]
        return self.outcome


def wait_until_queued_or_done(clerk):
    """Poll PostgreSQL (no sleep) until the clerk's booking waits for a lock or is over."""
    assert clerk.connected.wait(timeout=JOIN_TIMEOUT)
    with connection.cursor() as cursor:
        for _ in range(200_000):
            if not clerk.is_alive():
                return
            cursor.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [clerk.pid])
            if cursor.fetchone()[0]:
                return
    raise AssertionError(f"{clerk.name} neither finished nor waited for a lock")


@pytest.fixture
def paused(monkeypatch):
    """Hold the thread named "first" inside `movements_book` until `paused.resume()`.

    By then the service has checked its request (and taken the locks it takes
    before booking); a second clerk can be started against that moment.
    """
    # The business actions call the writer where they live (warehouse.services.stock).
    real_book = stock_actions.movements_book

    class Pause:
        reached = threading.Event()
        released = threading.Event()

        def resume(self):
            self.released.set()

    pause = Pause()

    def book_after_pause(**kwargs):
        if threading.current_thread().name == "first":
            pause.reached.set()
            pause.released.wait(timeout=JOIN_TIMEOUT)
        return real_book(**kwargs)

    monkeypatch.setattr(stock_actions, "movements_book", book_after_pause)
    yield pause
    pause.resume()


@pytest.fixture
def warehouse():
    warehouse = WarehouseFactory(code="main")
    return warehouse


@pytest.fixture
def stock(warehouse):
    location = storage_of(warehouse)
    location.warehouse  # noqa: B018 - cached before the threads share the instance
    return location


@pytest.fixture
def shelf(warehouse):
    return LocationFactory(warehouse=warehouse, code="SHELF")


def test_eight_clerks_removing_the_last_five_units_only_five_succeed(warehouse, stock):
    """8 removals of 1 unit race for 5 units: 5 are booked, 3 are refused, none oversells."""
    product = ProductFactory(sku="BOLT-8", name="Bolt M8")
    book_in(stock, product, 5)

    def remove_one():
        return services.stock_remove(
            actor=None, product=product, location=stock, quantity=Decimal(1), reason="scrap"
        )

    outcomes = run_together([remove_one] * 8)

    booked = [result for kind, result in outcomes if kind == "ok"]
    refused = [result for kind, result in outcomes if kind == "refused"]
    assert (len(booked), len(refused)) == (5, 3)
    assert all(isinstance(refusal, InsufficientStock) for refusal in refused)
    assert all(refusal.available == 0 and refusal.requested == 1 for refusal in refused)
    assert position_of(product, stock) == 0
    row = WarehouseStock.objects.get(product=product, warehouse=warehouse)
    assert (row.in_hand, row.in_storage) == (0, 0)
    assert_positions_equal_the_ledger()


def test_eight_clerks_moving_the_last_five_units_only_five_succeed(warehouse, stock, shelf):
    """8 moves of 1 unit race for 5 units: the shelf receives exactly 5."""
    product = ProductFactory(sku="CAB-1", name="Cable")
    book_in(stock, product, 5)

    def move_one():
        return services.stock_move(
            actor=None, product=product, source=stock, destination=shelf, quantity=Decimal(1)
        )

    outcomes = run_together([move_one] * 8)

    assert sorted(kind for kind, _ in outcomes) == ["ok"] * 5 + ["refused"] * 3
    assert (position_of(product, stock), position_of(product, shelf)) == (0, 5)
    row = WarehouseStock.objects.get(product=product, warehouse=warehouse)
    assert (row.in_hand, row.in_storage) == (5, 5)
    assert_positions_equal_the_ledger()


def test_bookings_of_two_products_in_opposite_orders_never_deadlock(warehouse, stock, shelf):
    """Stock-ins of A,B and B,A, opposite moves and removals, across two warehouses, all at once:
    every booking goes through (no 'deadlock detected') and the balances add up."""
    north = WarehouseFactory(code="north")
    far = storage_of(north)
    far.warehouse  # noqa: B018 - cached before the threads share the instance
    a = ProductFactory(sku="A-1")
    b = ProductFactory(sku="B-1")
    for location in (stock, shelf, far):
        for product in (a, b):
            book_in(location, product, 100)
    rounds = 5
    one = Decimal(1)

    def line(product):
        return services.StockInLine(product=product, quantity=one, unit_cost=Decimal("2.00"))

    def repeat(action):
        return lambda: [action() for _ in range(rounds)]

    def stock_in(location, first, second):
        return repeat(
            lambda: services.stock_in(
                actor=None, location=location, lines=[line(first), line(second)]
            )
        )

    def move(product, source, destination):
        return repeat(
            lambda: services.stock_move(
                actor=None, product=product, source=source, destination=destination, quantity=one
            )
        )

    def remove(product, location):
        return repeat(
            lambda: services.stock_remove(
                actor=None, product=product, location=location, quantity=one, reason="scrap"
            )
        )

    calls = [
        stock_in(stock, a, b),
        stock_in(stock, b, a),
        stock_in(shelf, a, b),
        stock_in(shelf, b, a),
        move(a, stock, shelf),
        move(a, shelf, stock),
        move(b, stock, far),
        move(b, far, stock),
        move(a, far, shelf),
        move(a, shelf, far),
        remove(a, stock),
        remove(b, shelf),
    ]

    outcomes = run_together(calls)

    assert [kind for kind, _ in outcomes] == ["ok"] * len(calls)
    # Each thread booked `rounds` times: stock-ins add 1 of each product to their
    # location, moves in opposite directions cancel out, removals take 1 away.
    assert position_of(a, stock) == 100 + 2 * rounds - rounds
    assert position_of(b, stock) == 100 + 2 * rounds
    assert position_of(a, shelf) == 100 + 2 * rounds
    assert position_of(b, shelf) == 100 + 2 * rounds - rounds
    assert (position_of(a, far), position_of(b, far)) == (100, 100)
    main_a = WarehouseStock.objects.get(product=a, warehouse=warehouse)
    assert main_a.in_hand == 200 + 4 * rounds - rounds
    assert_positions_equal_the_ledger()


def test_stocktake_and_removal_at_the_same_moment_do_not_deadlock(warehouse, stock, paused):
    """A count and a removal of the same product's first loss queue one after the other:
    neither is aborted, and both are booked (10 counted as 9, then 1 removed)."""
    product = ProductFactory(sku="BOLT-8")
    book_in(stock, product, 10)  # nothing lost yet: no adjustment position exists
    first = Clerk(
        "first",
        lambda: services.stock_adjust(
            actor=None, product=product, location=stock, counted=Decimal(9), reason="count"
        ),
    )
    second = Clerk(
        "second",
        lambda: services.stock_remove(
            actor=None, product=product, location=stock, quantity=Decimal(1), reason="scrap"
        ),
    )

    first.start()
    assert paused.reached.wait(timeout=JOIN_TIMEOUT)
    second.start()
    wait_until_queued_or_done(second)
    paused.resume()

    assert (first.finish()[0], second.finish()[0]) == ("ok", "ok")
    assert position_of(product, stock) == 8
    assert_positions_equal_the_ledger()


def test_two_clerks_moving_the_same_device_only_one_succeeds(warehouse, stock, shelf, paused):
    """Two moves of device SN-1 at the same moment: one is booked, the other refused,
    and SN-1 is in exactly one place."""
    modem = ProductFactory(sku="MOD-1", traceable=True)
    north = storage_of(WarehouseFactory(code="north"))
    north.warehouse  # noqa: B018 - cached before the threads share the instance
    book_in(stock, modem, None, serials=["SN-1", "SN-2"])
    first = Clerk(
        "first",
        lambda: services.stock_move(
            actor=None, product=modem, source=stock, destination=shelf, serials=["SN-1"]
        ),
    )
    second = Clerk(
        "second",
        lambda: services.stock_move(
            actor=None, product=modem, source=stock, destination=north, serials=["SN-1"]
        ),
    )

    first.start()
    assert paused.reached.wait(timeout=JOIN_TIMEOUT)
    second.start()
    wait_until_queued_or_done(second)
    paused.resume()

    outcomes = [first.finish(), second.finish()]
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    assert all(isinstance(o, InvalidSerials) for kind, o in outcomes if kind == "refused")
    places = [
        loc for loc in (stock, shelf, north) if "SN-1" in serials_at(product=modem, location=loc)
    ]
    assert len(places) == 1
    assert serials_at(product=modem, location=stock) == ["SN-2"]
    assert position_of(modem, stock) == 1
    assert position_of(modem, shelf) + position_of(modem, north) == 1
    assert_positions_equal_the_ledger()
