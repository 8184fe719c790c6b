"""The demo generator writes the books the services write, row for row.

The generator replays the ledger's rules in its own integer arithmetic and
writes the rows by COPY (see `demo.seeding`). Here a small scale is seeded,
its books read (`tests.books.books_snapshot`) together with the history that
made them, and the seed rolled back. Into the empty database the same
catalogue (warehouses, locations, products: by natural key) is written again
and the history replayed through the services, in the order it was played:

- each booking (the ledger lines of one batch, in ledger order) through the
  single writer `movements_book`, at the time the generator gave it; a
  stock-in into an incoming location first opens its package as the stock-in
  service does (`_package_open`). Lines out of an owned place are booked
  without a unit cost, so the services take it from their own average (a
  dispatch undone keeps the cost it went out with, as billing books it);
- each reservation through `reservations_hold` (a document's lines at once)
  and `reservations_close` (released or consumed);
- each device blocked or unblocked in storage through `stock_blocked_change`.

At one instant, what frees stock (closing reservations, unblocking) goes
first and what takes it (holds, blocks) last: an order the generator's checks
passed in also passes the services' checks. A line the services refuse fails
the test with the services' own error. Then the ledger lines, positions,
balances (in hand, in storage, reserved, blocked, dispatched, rented, the
moving-average cost), FIFO layers and consumptions, packages and
reservations must be the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from demo import seeding
from demo.users import users_ensure
from devices.models import DeviceEvent
from tests.books import books_snapshot
from tests.roles import role
from warehouse import services
from warehouse.models import (
    IncomingPackage,
    Location,
    Movement,
    Product,
    Reservation,
    Warehouse,
)
from warehouse.services.base import OWNED_KINDS, StockInLine
from warehouse.services.incoming import _package_open
from warehouse.services.reservations import ReservationLine, stock_blocked_change

Action = Movement.Action
SCALE = "XXS"  # hidden, for this test: the replay books it in seconds

# What happens at one instant, in this order: frees stock first, takes it last.
CLOSE, UNBLOCK, BOOK, HOLD, BLOCK = range(5)


@dataclass
class Played:
    """What the generator wrote, by natural key: the catalogue and the history in order."""

    warehouses: list[dict] = field(default_factory=list)
    locations: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    # (time, what, order, payload)
    steps: list[tuple] = field(default_factory=list)


def _fields(model, row, *, skip=()) -> dict:
    return {
        f.attname: getattr(row, f.attname)
        for f in model._meta.concrete_fields
        if not f.primary_key and f.attname not in skip
    }


def _place(location: Location) -> tuple[str, str]:
    return (location.warehouse.code, location.code)


def played_read() -> Played:
    """The generated catalogue and history, read before the seed is rolled back."""
    played = Played()
    played.warehouses = [_fields(Warehouse, w) for w in Warehouse.objects.order_by("id")]
    played.locations = [
        {"warehouse": loc.warehouse.code, **_fields(Location, loc, skip={"warehouse_id"})}
        for loc in Location.objects.select_related("warehouse").order_by("id")
    ]
    played.products = [_fields(Product, p) for p in Product.objects.order_by("id")]

    packages = {
        p.pk: {
            "number": p.number,
            "quantity": p.quantity,
            "unit_cost": p.unit_cost,
            "supplier": p.supplier,
        }
        for p in IncomingPackage.objects.all()
    }
    movements = Movement.objects.select_related(
        "product", "source__warehouse", "destination__warehouse"
    ).order_by("id")
    batch, lines = None, []
    for m in movements:
        line = {
            "sku": m.product.sku,
            "source": _place(m.source),
            "destination": _place(m.destination),
            "source_kind": m.source.kind,
            "destination_kind": m.destination.kind,
            "quantity": m.quantity,
            "action": m.action,
            "unit_cost": m.unit_cost,
            "serial": m.serial,
            "supplier": m.supplier,
            "reason": m.reason,
            "reference": m.reference,
            "package": packages.get(m.package_id),
            "created_at": m.created_at,
        }
        if lines and (m.batch is None or m.batch != batch):
            played.steps.append((lines[0]["created_at"], BOOK, lines[0]["order"], lines))
            lines = []
        batch = m.batch
        line["order"] = m.pk
        lines.append(line)
        if m.batch is None:
            played.steps.append((m.created_at, BOOK, m.pk, lines))
            lines = []
    if lines:
        played.steps.append((lines[0]["created_at"], BOOK, lines[0]["order"], lines))

    holds: dict[tuple, list] = {}
    closes: dict[tuple, list] = {}
    for r in Reservation.objects.select_related("product", "warehouse").order_by("id"):
        document = (r.document_type, r.document_id, r.document_number, r.warehouse.code)
        holds.setdefault((r.created_at, *document), []).append(r)
        if r.closed_at is not None:
            closes.setdefault((r.closed_at, r.status, *document), []).append(r)
    for (at, *document), rows in holds.items():
        played.steps.append((at, HOLD, rows[0].pk, (document, rows)))
    for (at, status, *document), rows in closes.items():
        played.steps.append((at, CLOSE, rows[0].pk, (document, status, rows)))

    for event in (
        DeviceEvent.objects.filter(action__in=("block", "unblock"))
        .select_related("device__product", "from_location__warehouse")
        .order_by("id")
    ):
        what = BLOCK if event.action == "block" else UNBLOCK
        payload = (event.device.product.sku, event.from_location.warehouse.code)
        played.steps.append((event.created_at, what, event.pk, payload))
    played.steps.sort(key=lambda step: step[:3])
    return played


class Replay:
    """The played history booked through the services into a database with no books."""

    def __init__(self, played: Played):
        warehouses = Warehouse.objects.bulk_create(Warehouse(**w) for w in played.warehouses)
        self.warehouses = {w.code: w for w in warehouses}
        Location.objects.bulk_create(
            Location(
                warehouse=self.warehouses[loc["warehouse"]],
                **{k: v for k, v in loc.items() if k != "warehouse"},
            )
            for loc in played.locations
        )
        self.locations = {_place(loc): loc for loc in Location.objects.select_related("warehouse")}
        products = Product.objects.bulk_create(Product(**p) for p in played.products)
        self.products = {p.sku: p for p in products}
        self.packages: dict[tuple, IncomingPackage] = {}

    def run(self, steps) -> None:
        handlers = {
            BOOK: self.book,
            HOLD: self.hold,
            CLOSE: self.close,
            BLOCK: self.block,
            UNBLOCK: self.unblock,
        }
        for at, what, _, payload in steps:
            handlers[what](at, payload)

    def book(self, at: datetime, lines: list[dict]) -> None:
        specs = [self.spec(at, line) for line in lines]
        services.movements_book(specs=specs, actor=None, now=at)

    def spec(self, at: datetime, line: dict) -> services.MovementSpec:
        product = self.products[line["sku"]]
        source = self.locations[line["source"]]
        destination = self.locations[line["destination"]]
        # Out of an owned place the services cost a line at their own average; a dispatch
        # undone goes back at the cost it went out with (as billing books it).
        given = line["source_kind"] not in OWNED_KINDS or line["action"] == Action.UNDISPATCH
        unit_cost = line["unit_cost"] if given else None
        package = None
        if line["package"] is not None and line["action"] == Action.ADD:
            package = self.package_for(at, line, product, destination)
        return services.MovementSpec(
            product=product,
            source=source,
            destination=destination,
            quantity=line["quantity"],
            action=line["action"],
            unit_cost=unit_cost,
            serial=line["serial"],
            reason=line["reason"],
            reference=line["reference"],
            supplier=line["supplier"],
            package=package,
        )

    def package_for(self, at, line, product, location) -> IncomingPackage:
        """The package a stock-in opens, once for all the serials that arrive in it."""
        played = line["package"]
        key = (product.sku, location.warehouse_id, played["number"])
        if key not in self.packages:
            quantity, unit_cost = played["quantity"], played["unit_cost"]
            self.packages[key] = _package_open(
                line=StockInLine(product=product, quantity=quantity, unit_cost=unit_cost),
                index=0,
                location=location,
                quantity=quantity,
                unit_cost=unit_cost,
                reference=line["reference"],
                supplier=line["supplier"],
                now=at,
            )
        return self.packages[key]

    def hold(self, at, payload) -> None:
        (document_type, document_id, number, warehouse), rows = payload
        services.reservations_hold(
            document_type=document_type,
            document_id=document_id,
            document_number=number,
            warehouse=self.warehouses[warehouse],
            lines=[
                ReservationLine(
                    line_id=r.line_id, product=self.products[r.product.sku], quantity=r.quantity
                )
                for r in rows
            ],
            now=at,
        )

    def close(self, at, payload) -> None:
        (document_type, document_id, _, _), status, rows = payload
        closed = services.reservations_close(
            document_type=document_type,
            document_id=document_id,
            status=status,
            line_ids=[r.line_id for r in rows],
            now=at,
        )
        assert len(closed) == len(rows), ("closed", document_type, document_id, status)

    def block(self, at, payload, delta=Decimal(1)) -> None:
        sku, warehouse = payload
        stock_blocked_change(
            product=self.products[sku], warehouse_id=self.warehouses[warehouse].pk, delta=delta
        )

    def unblock(self, at, payload) -> None:
        self.block(at, payload, delta=Decimal(-1))


@pytest.fixture
def roles(db):
    """The demo users' groups (a committing test's flush may have wiped them)."""
    for name in ("Warehouse staff", "Billing clerk"):
        role(name)


def test_the_demo_generator_writes_the_books_the_services_write(roles):
    """Seeded, then replayed line by line through the services into an empty catalogue:
    the same ledger lines, positions, balances and averages, layers and consumptions,
    packages and reservations."""
    with transaction.atomic():
        users = users_ensure()
        seeding.seed_scale(
            size=seeding.SIZES[SCALE],
            seed=42,
            scale_name=SCALE,
            staff_id=users["staff"].pk,
            clerk_id=users["clerk"].pk,
        )
        generated = books_snapshot()
        played = played_read()
        transaction.set_rollback(True)
    assert not Product.objects.exists()
    kinds = {line["action"] for _, what, _, lines in played.steps if what == BOOK for line in lines}
    assert {"add", "move", "sell", "dispatch", "isolate", "remove"} <= kinds
    assert {HOLD, CLOSE, BLOCK} <= {what for _, what, _, _ in played.steps}

    Replay(played).run(played.steps)
    replayed = books_snapshot()

    for part in generated:
        assert replayed[part] == generated[part], part
