"""The opening-stock importer books what the services book, row for row (Hypothesis).

The importer replays the ledger's rules in set-based SQL for speed. Random
opening stock (counted products in pieces and metres, several locations in
two warehouses, quantities, unit costs given or left to the average; one
file, or a second one restating some locations) is booked once through the
services, as `movements_book` books a count (an adjustment up or down from the
warehouse's adjustment location, one batch per file, in the file's order),
and once through `OpeningStockImporter`, each into a fresh database. The
ledger lines, positions, balances with their average cost and the FIFO
layers and consumptions must be the same rows (`tests.books.books_snapshot`).

Traceable products are refused by this importer: their units come in through
the devices import, which books with `movements_book` itself.
"""

from __future__ import annotations

import csv
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.books import books_snapshot
from warehouse import services
from warehouse.imports import IMPORTERS, OPENING_REASON
from warehouse.models import Location, Movement, Product, StockPosition

Kind = Location.Kind
# (warehouse, code, kind): where opening stock may go (storage and quarantine).
PLACES = [
    ("main", "STOCK", Kind.STORAGE),
    ("main", "SHELF", Kind.STORAGE),
    ("main", "QUAR", Kind.QUARANTINE),
    ("north", "STOCK", Kind.STORAGE),
]
PRODUCTS = {"BOLT": Product.Unit.PIECE, "NUT": Product.Unit.PIECE, "CABLE": Product.Unit.METRE}

# A row: SKU, place, quantity (whole pieces; metres to the millimetre), unit cost or empty.
COST = st.one_of(
    st.none(),
    st.integers(0, 2_000_000).map(lambda n: Decimal(n).scaleb(-4)),
)
ROW = st.tuples(
    st.sampled_from(sorted(PRODUCTS)),
    st.integers(0, len(PLACES) - 1),
    st.integers(0, 400_000),
    COST,
)
FILE = st.lists(ROW, min_size=1, max_size=10, unique_by=lambda row: (row[0], row[1]))


def quantity_of(sku: str, amount: int) -> Decimal:
    if PRODUCTS[sku] == Product.Unit.PIECE:
        return Decimal(amount % 500)
    return Decimal(amount).scaleb(-3)


class World:
    """A fresh set of warehouses, locations and products, named as every example names them."""

    def __init__(self):
        warehouses = {
            code: services.warehouse_create(code=code, name=code.title())
            for code in ("main", "north")
        }
        self.locations = {}
        for warehouse, code, kind in PLACES:
            location, _ = Location.objects.get_or_create(
                warehouse=warehouses[warehouse],
                code=code,
                defaults={"name": code.title(), "kind": kind},
            )
            self.locations[(warehouse, code)] = location
        self.products = {
            sku: Product.objects.create(sku=sku, name=sku.title(), unit=unit)
            for sku, unit in PRODUCTS.items()
        }


def book_through_services(world: World, rows, *, name: str) -> None:
    """The file as the services book a count: the difference from the books, in file order."""
    specs = []
    for sku, place, amount, cost in rows:
        warehouse, code, _ = PLACES[place]
        location = world.locations[(warehouse, code)]
        product = world.products[sku]
        booked = (
            StockPosition.objects.filter(product=product, location=location)
            .values_list("quantity", flat=True)
            .first()
        ) or Decimal(0)
        difference = quantity_of(sku, amount) - booked
        if difference == 0:
            continue
        adjustment = services.virtual_location(
            warehouse=location.warehouse_id, kind=Kind.ADJUSTMENT
        )
        up = difference > 0
        specs.append(
            services.MovementSpec(
                product=product,
                source=adjustment if up else location,
                destination=location if up else adjustment,
                quantity=abs(difference),
                action=Movement.Action.ADJUST_UP if up else Movement.Action.ADJUST_DOWN,
                unit_cost=cost if up else None,
                reason=OPENING_REASON,
                reference=name,
            )
        )
    services.movements_book(specs=specs, actor=None, now=timezone.now())


def book_through_importer(folder: Path, rows, *, name: str) -> None:
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["warehouse", "location", "sku", "quantity", "unit_cost"])
        for sku, place, amount, cost in rows:
            warehouse, code, _ = PLACES[place]
            out.writerow(
                [warehouse, code, sku, quantity_of(sku, amount), "" if cost is None else cost]
            )
    result = IMPORTERS["opening_stock"](path=path, name=name).run()
    assert result.ok, result.problems


def books_after(book) -> dict[str, list[tuple]]:
    """The books `book` writes into a fresh database, rolled back afterwards."""
    with transaction.atomic():
        world = World()
        book(world)
        books = books_snapshot()
        transaction.set_rollback(True)
    return books


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(files=st.lists(FILE, min_size=1, max_size=2))
def test_opening_stock_imported_books_what_the_services_book(files):
    names = [f"opening-{n}.csv" for n in range(1, len(files) + 1)]

    def by_services(world):
        for rows, name in zip(files, names, strict=True):
            book_through_services(world, rows, name=name)

    def by_importer(world):
        with tempfile.TemporaryDirectory() as folder:
            for rows, name in zip(files, names, strict=True):
                book_through_importer(Path(folder), rows, name=name)

    expected = books_after(by_services)
    imported = books_after(by_importer)

    for part in expected:
        assert imported[part] == expected[part], part
