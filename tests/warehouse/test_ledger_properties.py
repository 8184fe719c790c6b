"""Ledger properties after every step of random bookings (Hypothesis, stateful).

Random sequences of stock-in, remove, move, isolate and adjust, on counted and
traceable products in two warehouses, with quantities that are sometimes too
large. After every step: positions equal the ledger, no real location is
negative, warehouse balances equal their positions, nothing is over-reserved,
and a refused action changed nothing. Each example runs in its own savepoint,
rolled back at its end, so examples never see each other's data.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.warehouse.factories import (
    LocationFactory,
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    book_in,
    ledger_balances,
    ledger_snapshot,
    storage_of,
)
from warehouse import services
from warehouse.exceptions import WarehouseError, fmt
from warehouse.invariants import books_audit
from warehouse.models import (
    Location,
    Movement,
    Product,
    Reservation,
    StockPosition,
    WarehouseStock,
)

Kind = Location.Kind
ZERO = Decimal("0")

# Indexes into the machine's locations: (warehouse, code, kind).
PLACES = [
    ("main", "STOCK", Kind.STORAGE),
    ("main", "SHELF", Kind.STORAGE),
    ("main", "IN", Kind.INCOMING),
    ("main", "QUAR", Kind.QUARANTINE),
    ("north", "STOCK", Kind.STORAGE),
    ("north", "QUAR", Kind.QUARANTINE),
]
REAL = st.integers(0, len(PLACES) - 1)
RECEIVING = st.sampled_from([i for i, (_, _, kind) in enumerate(PLACES) if kind != Kind.QUARANTINE])
STORAGE = st.sampled_from([i for i, (_, _, kind) in enumerate(PLACES) if kind == Kind.STORAGE])
COUNTED = st.sampled_from(["bolt", "cable"])  # pieces and metres
# Up to 30 units: often more than a location holds, so refusals happen.
AMOUNT = st.integers(1, 30)
THOUSANDTHS = st.integers(0, 999)


class LedgerMachine(RuleBasedStateMachine):
    """Books through the services only, and keeps its own model of where things are."""

    def __init__(self):
        super().__init__()
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        self.actor = UserFactory()
        warehouses = {"main": WarehouseFactory(), "north": WarehouseFactory()}
        self.locations = []
        for warehouse, code, kind in PLACES:
            if code == "STOCK":
                location = storage_of(warehouses[warehouse])
            else:
                location = LocationFactory(warehouse=warehouses[warehouse], code=code, kind=kind)
            location.warehouse = warehouses[warehouse]
            self.locations.append(location)
        self.products = {
            "bolt": ProductFactory(),
            "cable": ProductFactory(unit=Product.Unit.METRE),
            "modem": ProductFactory(traceable=True),
        }
        # The model: quantity per (product name, location index), device → location index.
        self.expected = {}
        self.devices = {}
        self.serials_made = 0
        self.deliveries = 0

    def teardown(self):
        try:
            # The audit of check_books, once a run: the warehouse's checks find nothing
            # (devices' are not: here traceable goods are booked without their devices).
            assert books_audit(apps={"warehouse"}).broken == []
        finally:
            transaction.set_rollback(True)
            self.savepoint.__exit__(None, None, None)

    # ----------------------------------------------------------------------- helpers

    def quantity(self, name, amount, thousandths):
        """Whole pieces for bolts; metres to the millimetre for cable."""
        if self.products[name].unit == Product.Unit.PIECE:
            return Decimal(amount)
        return Decimal(amount) - Decimal(thousandths) / 1000

    def held(self, name, index):
        return self.expected.get((name, index), ZERO)

    def shift(self, name, source, destination, quantity):
        if source is not None:
            self.expected[(name, source)] = self.held(name, source) - quantity
        if destination is not None:
            self.expected[(name, destination)] = self.held(name, destination) + quantity

    def attempt(self, call, *, allowed):
        """Run one service call; a refusal must change nothing and be expected by the model."""
        before = ledger_snapshot()
        refusal = None
        try:
            call()
        except WarehouseError as error:
            refusal = error.message
        if refusal is None:
            assert allowed, "booked although the model says it must be refused"
            return True
        assert ledger_snapshot() == before, f"refused ({refusal}) but something was booked"
        assert not allowed, f"refused although the model allows it: {refusal}"
        return False

    @staticmethod
    def move_allowed(source, destination):
        """A move goes elsewhere, never into incoming (only deliveries arrive there)."""
        return source != destination and PLACES[destination][2] != Kind.INCOMING

    def delivery_note(self):
        """Each delivery has its own note: it numbers the package of goods booked to incoming."""
        self.deliveries += 1
        return f"DN-{self.deliveries:04d}"

    # ----------------------------------------------------------------------- counted products

    @rule(
        name=COUNTED,
        where=RECEIVING,
        amount=AMOUNT,
        thousandths=THOUSANDTHS,
        cents=st.integers(0, 1000),
    )
    def stock_in(self, name, where, amount, thousandths, cents):
        quantity = self.quantity(name, amount, thousandths)
        cost = Decimal(cents) / 100
        location = self.locations[where]
        if self.attempt(
            lambda: book_in(
                location,
                self.products[name],
                quantity,
                cost,
                actor=self.actor,
                reference=self.delivery_note(),
            ),
            allowed=True,
        ):
            self.shift(name, None, where, quantity)

    @rule(name=COUNTED, where=REAL, amount=AMOUNT, thousandths=THOUSANDTHS)
    def remove(self, name, where, amount, thousandths):
        quantity = self.quantity(name, amount, thousandths)
        allowed = quantity <= self.held(name, where)
        if self.attempt(
            lambda: services.stock_remove(
                actor=self.actor,
                product=self.products[name],
                location=self.locations[where],
                quantity=quantity,
                reason="scrapped",
            ),
            allowed=allowed,
        ):
            self.shift(name, where, None, quantity)

    @rule(name=COUNTED, source=REAL, destination=REAL, amount=AMOUNT, thousandths=THOUSANDTHS)
    def move(self, name, source, destination, amount, thousandths):
        quantity = self.quantity(name, amount, thousandths)
        allowed = self.move_allowed(source, destination) and quantity <= self.held(name, source)
        if self.attempt(
            lambda: services.stock_move(
                actor=self.actor,
                product=self.products[name],
                source=self.locations[source],
                destination=self.locations[destination],
                quantity=quantity,
            ),
            allowed=allowed,
        ):
            self.shift(name, source, destination, quantity)

    @rule(name=COUNTED, source=REAL, amount=AMOUNT, thousandths=THOUSANDTHS)
    def isolate(self, name, source, amount, thousandths):
        quantity = self.quantity(name, amount, thousandths)
        quarantine = 3 if PLACES[source][0] == "main" else 5
        allowed = PLACES[source][2] == Kind.STORAGE and quantity <= self.held(name, source)
        if self.attempt(
            lambda: services.stock_isolate(
                actor=self.actor,
                product=self.products[name],
                location=self.locations[source],
                quarantine=self.locations[quarantine],
                quantity=quantity,
                reason="suspect",
            ),
            allowed=allowed,
        ):
            self.shift(name, source, quarantine, quantity)

    @rule(name=COUNTED, where=REAL, amount=st.integers(0, 30), thousandths=THOUSANDTHS)
    def adjust(self, name, where, amount, thousandths):
        counted = max(self.quantity(name, amount, thousandths), ZERO)
        if self.attempt(
            lambda: services.stock_adjust(
                actor=self.actor,
                product=self.products[name],
                location=self.locations[where],
                counted=counted,
                reason="stocktake",
            ),
            allowed=True,
        ):
            self.expected[(name, where)] = counted

    # ----------------------------------------------------------------------- devices

    @rule(where=RECEIVING, count=st.integers(1, 3), repeat_one=st.booleans())
    def devices_in(self, where, count, repeat_one):
        serials = []
        for _ in range(count):
            self.serials_made += 1
            serials.append(f"SN-{self.serials_made:04d}")
        in_stock = sorted(s for s, at in self.devices.items() if at is not None)
        if repeat_one and in_stock:
            serials.append(in_stock[0])  # already in stock: the whole stock-in is refused
        allowed = not any(self.devices.get(s) is not None for s in serials)
        location = self.locations[where]
        if self.attempt(
            lambda: book_in(
                location,
                self.products["modem"],
                None,
                "50.00",
                serials=serials,
                reference=self.delivery_note(),
            ),
            allowed=allowed,
        ):
            for serial in serials:
                self.devices[serial] = where
            self.shift("modem", None, where, Decimal(len(serials)))

    @rule(
        data=st.data(),
        action=st.sampled_from(["remove", "move", "isolate"]),
        source=REAL,
        destination=REAL,
    )
    def device_action(self, data, action, source, destination):
        if not self.devices:
            return
        serial = data.draw(st.sampled_from(sorted(self.devices)), label="serial")
        modem = self.products["modem"]
        location = self.locations[source]
        in_place = self.devices[serial] == source
        if action == "remove":
            target, allowed = None, in_place

            def call():
                services.stock_remove(
                    actor=self.actor,
                    product=modem,
                    location=location,
                    serials=[serial],
                    reason="broken",
                )

        elif action == "move":
            target, allowed = destination, in_place and self.move_allowed(source, destination)

            def call():
                services.stock_move(
                    actor=self.actor,
                    product=modem,
                    source=location,
                    destination=self.locations[destination],
                    serials=[serial],
                )

        else:
            target = 3 if PLACES[source][0] == "main" else 5
            allowed = in_place and PLACES[source][2] == Kind.STORAGE

            def call():
                services.stock_isolate(
                    actor=self.actor,
                    product=modem,
                    location=location,
                    quarantine=self.locations[target],
                    serials=[serial],
                    reason="suspect",
                )

        if self.attempt(call, allowed=allowed):
            self.devices[serial] = target
            self.shift("modem", source, target, Decimal(1))

    # ----------------------------------------------------------------------- reservations

    @rule(
        warehouse=st.sampled_from(["main", "north"]),
        asks=st.lists(st.tuples(COUNTED, AMOUNT, THOUSANDTHS), min_size=1, max_size=4),
        by_id=st.booleans(),
    )
    def reserve_a_document(self, warehouse, asks, by_id):
        """A document of several lines is reserved whole or not at all, then released.

        Held when every product's lines together fit what is available; refused
        otherwise, naming each short product and its shortfall and holding no line.
        """
        warehouse = self.locations[0 if warehouse == "main" else 4].warehouse
        self.documents = getattr(self, "documents", 0) + 1
        lines, asked = [], {}
        for position, (name, amount, thousandths) in enumerate(asks, start=1):
            quantity = self.quantity(name, amount, thousandths)
            product = self.products[name]
            lines.append(
                services.ReservationLine(self.documents * 10 + position, product, quantity)
            )
            asked[product] = asked.get(product, ZERO) + quantity
        stocks = {s.product_id: s for s in WarehouseStock.objects.filter(warehouse=warehouse)}
        free = {p: stocks[p.pk].available if p.pk in stocks else ZERO for p in asked}
        short = sorted(p.sku for p, quantity in asked.items() if quantity > free[p])
        reserved_before = self.reserved()
        refusal, held = None, []
        moment = datetime(2026, 1, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=self.documents)
        try:  # no savepoint of the test's own: the service's keeps a refusal from holding
            held = services.reservations_hold(
                document_type="order",
                document_id=self.documents,
                document_number=f"SO-{self.documents:05d}",
                warehouse=warehouse.pk if by_id else warehouse,
                lines=lines,
                now=moment,
            )
        except services.ReservationRefused as error:
            refusal = error
        if refusal is not None:
            assert short, f"refused although every line fits: {refusal.message}"
            assert sorted(p.sku for p, *_ in refusal.shortfalls) == short
            assert f" in {warehouse}: " in refusal.message
            for product, _, available, requested in refusal.shortfalls:
                assert requested == asked[product]
                assert available == free[product]
                assert f"short by {fmt(requested - max(available, 0))}" in refusal.message
            assert self.reserved() == reserved_before, "a refused document held a line"
            assert not Reservation.objects.filter(document_id=self.documents).exists()
            return
        assert not short, f"held although {short} is short"
        rows = Reservation.objects.filter(document_type="order", document_id=self.documents)
        assert sorted(
            (r.pk, r.product_id, r.warehouse_id, r.line_id, r.quantity, r.created_at) for r in held
        ) == sorted(
            rows.values_list(
                "pk", "product_id", "warehouse_id", "line_id", "quantity", "created_at"
            )
        ), "what the service returns is not what it wrote"
        assert {(r.line_id, r.created_at) for r in rows} == {(x.line_id, moment) for x in lines}
        after = self.reserved()
        for product, quantity in asked.items():
            key = (product.pk, warehouse.pk)
            assert after[key] == reserved_before.get(key, ZERO) + quantity, product.sku
        services.reservations_close(document_type="order", document_id=self.documents)
        assert self.reserved() == reserved_before

    @staticmethod
    def reserved():
        return {(s.product_id, s.warehouse_id): s.reserved for s in WarehouseStock.objects.all()}

    # ----------------------------------------------------------------------- invariants

    @invariant()
    def positions_equal_the_ledger(self):
        ledger = ledger_balances()
        positions = {
            (p, loc): q
            for p, loc, q in StockPosition.objects.values_list(
                "product_id", "location_id", "quantity"
            )
        }
        for key in ledger.keys() | positions.keys():
            assert positions.get(key, ZERO) == ledger.get(key, ZERO), key

    @invariant()
    def no_real_location_is_negative(self):
        assert not StockPosition.objects.filter(
            location_kind__in=Location.REAL_KINDS, quantity__lt=0
        ).exists()

    @invariant()
    def warehouse_balances_equal_their_positions(self):
        by_kind = {}
        for row in StockPosition.objects.values(
            "product_id", "warehouse_id", "location_kind"
        ).annotate(total=Sum("quantity")):
            key = (row["product_id"], row["warehouse_id"])
            by_kind.setdefault(key, {})[row["location_kind"]] = row["total"]
        stocks = {(s.product_id, s.warehouse_id): s for s in WarehouseStock.objects.all()}
        assert set(stocks) == set(by_kind)
        for key, kinds in by_kind.items():
            stock = stocks[key]
            in_hand = sum((kinds.get(kind, ZERO) for kind in Location.REAL_KINDS), ZERO)
            assert stock.in_hand == in_hand, key
            assert stock.in_storage == kinds.get(Kind.STORAGE, ZERO), key
            assert stock.dispatched == kinds.get(Kind.DISPATCHED, ZERO), key
            assert stock.rented == kinds.get(Kind.RENTED, ZERO), key
            assert stock.average_cost >= 0, key

    @invariant()
    def nothing_is_over_reserved(self):
        for stock in WarehouseStock.objects.all():
            assert stock.in_storage - stock.reserved >= 0
            assert stock.available >= 0

    @invariant()
    def positions_are_what_the_model_expects(self):
        names = {product.pk: name for name, product in self.products.items()}
        indexes = {location.pk: index for index, location in enumerate(self.locations)}
        booked = {
            (names[p], indexes[loc]): q
            for p, loc, q in StockPosition.objects.filter(
                location_kind__in=Location.REAL_KINDS
            ).values_list("product_id", "location_id", "quantity")
        }
        for key in booked.keys() | self.expected.keys():
            assert booked.get(key, ZERO) == self.expected.get(key, ZERO), key

    @invariant()
    def each_device_is_where_its_last_movement_put_it(self):
        indexes = {location.pk: index for index, location in enumerate(self.locations)}
        last = (
            Movement.objects.filter(product=self.products["modem"])
            .order_by("serial", "-id")
            .distinct("serial")
            .values_list("serial", "destination_id")
        )
        assert {serial: indexes.get(place) for serial, place in last} == self.devices
        for index in range(len(self.locations)):
            here = [serial for serial, at in self.devices.items() if at == index]
            assert self.held("modem", index) == len(here)


@pytest.mark.django_db
def test_ledger_and_balances_agree_after_every_step():
    """Whatever is booked or refused, positions equal the ledger and balances equal positions."""
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
