"""The warehouse services: what each business action books, and what it refuses.

A refused action raises a `WarehouseError` and books nothing: the ledger, the
positions and the balances are exactly as before (`ledger_snapshot`).
"""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser

from tests.warehouse.factories import (
    LocationFactory,
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    book_in,
    ledger_balances,
    ledger_snapshot,
    position_of,
    storage_of,
)
from warehouse import services
from warehouse.exceptions import (
    InactiveProduct,
    InsufficientStock,
    InvalidDestination,
    InvalidLocation,
    InvalidQuantity,
    InvalidSerials,
    WarehouseError,
)
from warehouse.models import (
    IncomingPackage,
    Location,
    Movement,
    Product,
    StockPosition,
    Warehouse,
    WarehouseStock,
)
from warehouse.selectors import serials_at
from warehouse.services import MovementSpec, StockInLine

pytestmark = pytest.mark.django_db

D = Decimal
Kind = Location.Kind
Action = Movement.Action
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="main", name="Main warehouse")


@pytest.fixture
def stock(warehouse):
    """The warehouse's main storage location, main/STOCK."""
    return storage_of(warehouse)


@pytest.fixture
def shelf(warehouse):
    return LocationFactory(warehouse=warehouse, code="SHELF", kind=Kind.STORAGE)


@pytest.fixture
def incoming(warehouse):
    return LocationFactory(warehouse=warehouse, code="IN", kind=Kind.INCOMING)


@pytest.fixture
def quarantine(warehouse):
    return LocationFactory(warehouse=warehouse, code="QUAR", kind=Kind.QUARANTINE)


@pytest.fixture
def north():
    """A second warehouse."""
    return WarehouseFactory(code="north", name="North depot")


@pytest.fixture
def actor():
    return UserFactory(username="stella")


@pytest.fixture
def bolt():
    """A counted product, in pieces."""
    return ProductFactory(sku="BOLT-8", name="Bolt M8")


@pytest.fixture
def cable():
    """A counted product sold by the metre."""
    return ProductFactory(sku="CAB-1", name="Network cable", unit=Product.Unit.METRE)


@pytest.fixture
def modem():
    """A traceable product: each unit has a serial number."""
    return ProductFactory(sku="MOD-1", name="Modem", traceable=True)


def balance(product, warehouse) -> WarehouseStock:
    return WarehouseStock.objects.get(product=product, warehouse=warehouse)


def virtual(warehouse, kind) -> Location:
    return services.virtual_location(warehouse=warehouse, kind=kind)


def reserve(product, warehouse, quantity):
    # Reservations arrive with billing; until then the column is set directly.
    WarehouseStock.objects.filter(product=product, warehouse=warehouse).update(reserved=D(quantity))


def remove(product, location, quantity=None, *, serials=(), actor=None, reason="damaged", **kw):
    return services.stock_remove(
        actor=actor,
        product=product,
        location=location,
        quantity=D(str(quantity)) if quantity is not None else None,
        serials=serials,
        reason=reason,
        **kw,
    )


def move(product, source, destination, quantity=None, *, serials=(), actor=None, **kw):
    return services.stock_move(
        actor=actor,
        product=product,
        source=source,
        destination=destination,
        quantity=D(str(quantity)) if quantity is not None else None,
        serials=serials,
        **kw,
    )


def isolate(product, location, quarantine, quantity=None, *, serials=(), reason="dented", **kw):
    return services.stock_isolate(
        actor=None,
        product=product,
        location=location,
        quarantine=quarantine,
        quantity=D(str(quantity)) if quantity is not None else None,
        serials=serials,
        reason=reason,
        **kw,
    )


def adjust(product, location, counted, *, unit_cost=None, reason="stocktake", **kw):
    return services.stock_adjust(
        actor=None,
        product=product,
        location=location,
        counted=D(str(counted)) if counted is not None else None,
        unit_cost=D(str(unit_cost)) if unit_cost is not None else None,
        reason=reason,
        **kw,
    )


def line(product, quantity, unit_cost="1.00", serials=()):
    return StockInLine(
        product=product,
        quantity=D(str(quantity)) if quantity is not None else None,
        unit_cost=D(str(unit_cost)),
        serials=tuple(serials),
    )


@pytest.fixture
def unchanged():
    """Assert that the block books nothing: `with unchanged(): ...` around a refused call."""

    class Unchanged:
        def __enter__(self):
            self.before = ledger_snapshot()

        def __exit__(self, *exc):
            assert ledger_snapshot() == self.before, "a refused action changed the stock"

    return Unchanged


# --------------------------------------------------------------------------- warehouses


def test_new_warehouse_has_its_virtual_locations_and_a_main_storage():
    """A new warehouse comes with supplier, adjustment, dispatched, rented, sold,
    installed and one storage location."""
    warehouse = services.warehouse_create(code="east", name="East", address="Dock 4")

    kinds = sorted(warehouse.locations.values_list("kind", "code"))
    assert kinds == sorted(
        [(kind.value, f"~{kind.value.upper()}") for kind in Location.VIRTUAL_KINDS]
        + [(Kind.STORAGE.value, "STOCK")]
    )
    assert warehouse.address == "Dock 4"


def test_ensuring_virtual_locations_again_creates_none():
    """Asking twice for a warehouse's virtual locations gives the same ones."""
    warehouse = services.warehouse_create(code="east", name="East")
    first = services.virtual_locations_ensure(warehouse=warehouse)
    count = Location.objects.count()

    again = services.virtual_locations_ensure(warehouse=warehouse)

    assert {kind: loc.pk for kind, loc in again.items()} == {
        kind: loc.pk for kind, loc in first.items()
    }
    assert set(again) == set(Location.VIRTUAL_KINDS)
    assert Location.objects.count() == count


def test_missing_virtual_locations_are_added_and_existing_ones_kept():
    """A warehouse made without virtual locations gets the missing ones on demand."""
    warehouse = Warehouse.objects.create(code="bare", name="Bare")
    supplier = Location.objects.create(
        warehouse=warehouse, code="VENDORS", name="Vendors", kind=Kind.SUPPLIER
    )

    locations = services.virtual_locations_ensure(warehouse=warehouse)

    assert set(locations) == set(Location.VIRTUAL_KINDS)
    assert locations[Kind.SUPPLIER] == supplier
    assert services.virtual_location(warehouse=warehouse, kind=Kind.SOLD).kind == Kind.SOLD


# --------------------------------------------------------------------------- stock-in


def test_stock_in_books_goods_from_the_supplier_into_storage(warehouse, stock, bolt, actor):
    """A stock-in is one movement supplier → shelf; the shelf and the balance show the goods."""
    [movement] = services.stock_in(
        actor=actor,
        location=stock,
        lines=[line(bolt, 12, "2.50")],
        supplier="Acme Ltd",
        reference="PO-7",
        reason="restock",
    )

    movement.refresh_from_db()
    supplier = virtual(warehouse, Kind.SUPPLIER)
    assert (movement.action, movement.source, movement.destination) == (Action.ADD, supplier, stock)
    assert (movement.quantity, movement.unit_cost) == (D("12"), D("2.50"))
    assert (movement.supplier, movement.reference, movement.reason) == (
        "Acme Ltd",
        "PO-7",
        "restock",
    )
    assert position_of(bolt, stock) == 12
    assert position_of(bolt, supplier) == -12
    row = balance(bolt, warehouse)
    assert (row.in_hand, row.in_storage, row.average_cost) == (12, 12, D("2.50"))


def test_stock_in_to_incoming_is_in_hand_but_not_in_storage(warehouse, incoming, bolt):
    """Goods booked into an incoming location count in hand, not as storage stock."""
    book_in(incoming, bolt, 4)

    row = balance(bolt, warehouse)
    assert (row.in_hand, row.in_storage) == (4, 0)
    assert position_of(bolt, incoming) == 4


def test_two_deliveries_of_one_product_into_incoming_on_one_day_are_both_booked(incoming, bolt):
    """A clerk who books two deliveries of bolts into incoming on one day, without package
    numbers, sees both booked."""
    book_in(incoming, bolt, 4, now=NOW)
    book_in(incoming, bolt, 6, now=NOW)

    assert position_of(bolt, incoming) == 10
    numbers = IncomingPackage.objects.filter(product=bolt).values_list("number", flat=True)
    assert sorted(numbers) == [f"{NOW:%Y%m%d}", f"{NOW:%Y%m%d}-2"]


def test_stock_in_of_metres_keeps_three_decimals(warehouse, stock, cable):
    """Cable is booked by the metre, to the millimetre."""
    book_in(stock, cable, "12.345")

    assert position_of(cable, stock) == D("12.345")
    assert balance(cable, warehouse).in_hand == D("12.345")


def test_stock_in_of_three_serials_books_three_devices_of_one_unit(stock, modem):
    """A traceable stock-in books one movement of quantity 1 per serial number."""
    movements = book_in(stock, modem, None, "80.00", serials=[" SN-1", "SN-2 ", "SN-3"])

    assert sorted((m.serial, m.quantity) for m in movements) == [
        ("SN-1", 1),
        ("SN-2", 1),
        ("SN-3", 1),
    ]
    assert position_of(modem, stock) == 3
    assert serials_at(product=modem, location=stock) == ["SN-1", "SN-2", "SN-3"]


def test_stock_in_records_when_and_by_whom(stock, bolt, actor):
    """The movement carries the time it was booked for and the user who booked it."""
    [movement] = book_in(stock, bolt, 1, actor=actor, now=NOW)

    movement.refresh_from_db()
    assert movement.created_at == NOW
    assert movement.actor == actor


@pytest.mark.parametrize("nobody", [None, AnonymousUser()])
def test_stock_in_without_a_signed_in_user_records_no_actor(stock, bolt, nobody):
    """A booking made by a command or an anonymous request names no user."""
    [movement] = book_in(stock, bolt, 1, actor=nobody)

    movement.refresh_from_db()
    assert movement.actor is None


def test_one_stock_in_is_one_batch(stock, bolt, cable, modem):
    """All lines of one stock-in share a batch; the next stock-in has another."""
    movements = services.stock_in(
        actor=None,
        location=stock,
        lines=[line(bolt, 2), line(cable, "1.5"), line(modem, None, serials=["SN-1", "SN-2"])],
    )
    [later] = book_in(stock, bolt, 1)

    assert len(movements) == 4
    assert len({m.batch for m in movements}) == 1
    assert movements[0].batch is not None
    assert later.batch != movements[0].batch
    assert Movement.objects.filter(batch=movements[0].batch).count() == 4


@pytest.mark.parametrize("kind", [Kind.QUARANTINE, Kind.SUPPLIER, Kind.SOLD])
def test_stock_in_only_into_storage_or_incoming(warehouse, bolt, unchanged, kind):
    """Goods cannot be booked straight into quarantine or a virtual location."""
    if kind in Location.VIRTUAL_KINDS:
        location = virtual(warehouse, kind)
    else:
        location = LocationFactory(warehouse=warehouse, code="Q", kind=kind)

    with unchanged(), pytest.raises(InvalidLocation, match="storage or incoming"):
        book_in(location, bolt, 1)


def test_stock_in_without_lines_is_refused(stock, unchanged):
    """A stock-in needs at least one product."""
    with unchanged(), pytest.raises(InvalidQuantity, match="at least one product"):
        services.stock_in(actor=None, location=stock, lines=[])


def test_stock_in_at_a_negative_cost_is_refused(stock, bolt, unchanged):
    """A unit cost below zero is refused, naming the product."""
    with unchanged(), pytest.raises(WarehouseError) as refused:
        book_in(stock, bolt, 1, "-0.01")

    assert refused.value.message == "The unit cost of BOLT-8 cannot be negative."


@pytest.mark.parametrize("quantity", ["0", "-3", None])
def test_stock_in_of_no_or_negative_quantity_is_refused(stock, bolt, unchanged, quantity):
    """The quantity booked in must be greater than zero."""
    with unchanged(), pytest.raises(InvalidQuantity) as refused:
        book_in(stock, bolt, quantity)

    assert refused.value.message == "The quantity of BOLT-8 must be greater than zero."
    assert refused.value.field == "quantity"


def test_fraction_of_a_piece_is_refused(stock, bolt, unchanged):
    """A product counted in pieces takes whole numbers only."""
    with unchanged(), pytest.raises(InvalidQuantity) as refused:
        book_in(stock, bolt, "1.5")

    assert refused.value.message == "BOLT-8 is counted in pieces: 1.5 is not whole."


def test_whole_number_written_with_decimals_is_a_valid_piece_count(stock, bolt):
    """2.000 pieces are two pieces."""
    book_in(stock, bolt, "2.000")

    assert position_of(bolt, stock) == 2


def test_quantity_with_more_than_three_decimals_is_refused(stock, cable, unchanged):
    """Quantities are kept to the thousandth: a fourth decimal is refused, not rounded."""
    with unchanged(), pytest.raises(InvalidQuantity) as refused:
        book_in(stock, cable, "1.2345")

    assert refused.value.message == "The quantity of CAB-1 has more than 3 decimals."


def test_inactive_product_cannot_be_booked_in(stock, bolt, unchanged):
    """An inactive product is refused at stock-in, naming it."""
    bolt.active = False
    bolt.save()

    with unchanged(), pytest.raises(InactiveProduct) as refused:
        book_in(stock, bolt, 1)

    assert refused.value.message == "BOLT-8 is inactive: it cannot be booked in."
    assert refused.value.field == "product"


@pytest.mark.parametrize("serials", [(), ("", "  ")])
def test_traceable_stock_in_without_serials_is_refused(stock, modem, unchanged, serials):
    """A traceable product needs one serial number per unit."""
    with unchanged(), pytest.raises(InvalidSerials) as refused:
        book_in(stock, modem, 2, serials=serials)

    assert refused.value.message == "MOD-1 is traceable: give one serial number per unit."
    assert refused.value.field == "serials"


def test_serial_given_twice_in_one_line_is_refused(stock, modem, unchanged):
    """The same serial number twice in the form is refused, naming it."""
    with unchanged(), pytest.raises(InvalidSerials, match=r"given twice: SN-1\."):
        book_in(stock, modem, None, serials=["SN-1", "SN-2", " SN-1"])


def test_serial_given_on_two_lines_of_one_stock_in_is_refused(stock, modem, unchanged):
    """One device cannot arrive twice in one stock-in, even on separate lines."""
    with unchanged(), pytest.raises(InvalidSerials, match=r"given twice: SN-1\."):
        services.stock_in(
            actor=None,
            location=stock,
            lines=[line(modem, None, serials=["SN-1"]), line(modem, None, serials=["SN-1"])],
        )


def test_quantity_that_disagrees_with_the_serial_count_is_refused(stock, modem, unchanged):
    """A traceable quantity is the number of serials given."""
    with unchanged(), pytest.raises(InvalidSerials) as refused:
        book_in(stock, modem, 2, serials=["SN-1", "SN-2", "SN-3"])

    assert refused.value.message == "2 units of MOD-1 but 3 serial numbers."


def test_serial_already_in_stock_is_refused_and_books_none(stock, north, modem, unchanged):
    """A serial the business already holds, here or in another warehouse, is refused."""
    book_in(stock, modem, None, serials=["SN-1"])
    book_in(storage_of(north), modem, None, serials=["SN-7"])

    with unchanged(), pytest.raises(InvalidSerials) as refused:
        book_in(stock, modem, None, serials=["SN-2", "SN-7", "SN-1"])

    assert refused.value.message == "MOD-1 already has these serial numbers in stock: SN-1, SN-7."


def test_serials_on_a_counted_product_are_refused(stock, bolt, unchanged):
    """A product that is not traceable takes no serial numbers."""
    with unchanged(), pytest.raises(InvalidSerials) as refused:
        book_in(stock, bolt, 1, serials=["SN-1"])

    assert refused.value.message == "BOLT-8 is not traceable: it takes no serial numbers."


@pytest.mark.parametrize(
    "bad_line",
    [
        pytest.param(lambda p: line(p["cable"], "1.2345"), id="fourth-decimal"),
        pytest.param(lambda p: line(p["bolt"], "0.5"), id="half-a-piece"),
        pytest.param(lambda p: line(p["modem"], None, serials=["SN-1"]), id="serial-in-stock"),
        pytest.param(lambda p: line(p["inactive"], 1), id="inactive-product"),
        pytest.param(lambda p: line(p["bolt"], 1, "-1"), id="negative-cost"),
    ],
)
def test_bad_second_line_books_neither_line(stock, bolt, cable, modem, unchanged, bad_line):
    """A stock-in is all lines or none: a bad second line leaves the first unbooked too."""
    book_in(stock, modem, None, serials=["SN-1"])
    products = {
        "bolt": bolt,
        "cable": cable,
        "modem": modem,
        "inactive": ProductFactory(sku="OLD-1", active=False),
    }

    with unchanged(), pytest.raises(WarehouseError):
        services.stock_in(
            actor=None, location=stock, lines=[line(bolt, 5, "2.00"), bad_line(products)]
        )

    assert position_of(bolt, stock) == 0


# --------------------------------------------------------------------------- moving average cost


def test_stock_in_recomputes_the_moving_average_cost(warehouse, stock, bolt):
    """10 @ 2.00 then 30 @ 4.00: (10 × 2.00 + 30 × 4.00) / 40 = 140 / 40 = 3.5000."""
    book_in(stock, bolt, 10, "2.00")
    assert balance(bolt, warehouse).average_cost == D("2.0000")

    book_in(stock, bolt, 30, "4.00")

    assert balance(bolt, warehouse).average_cost == D("3.5000")


def test_average_cost_is_rounded_to_four_decimals(warehouse, stock, bolt):
    """1 @ 1.00 then 2 @ 2.00: 5.00 / 3 = 1.66666… → 1.6667 (half up)."""
    book_in(stock, bolt, 1, "1.00")
    book_in(stock, bolt, 2, "2.00")

    assert balance(bolt, warehouse).average_cost == D("1.6667")


def test_two_lines_of_one_product_average_in_order(warehouse, stock, incoming, bolt):
    """Goods in incoming are owned too: 10 @ 2.00 incoming, then 10 @ 4.00 + 20 @ 1.00 stored.

    (10 × 2 + 10 × 4) / 20 = 3.0000, then (20 × 3 + 20 × 1) / 40 = 2.0000.
    """
    book_in(incoming, bolt, 10, "2.00")
    services.stock_in(
        actor=None, location=stock, lines=[line(bolt, 10, "4.00"), line(bolt, 20, "1.00")]
    )

    assert balance(bolt, warehouse).average_cost == D("2.0000")


def test_removal_keeps_the_average_and_is_valued_at_it(warehouse, stock, bolt):
    """Taking 15 out of 10 @ 2.00 + 30 @ 4.00 leaves 25 at 3.5000, the removal valued at 3.5000."""
    book_in(stock, bolt, 10, "2.00")
    book_in(stock, bolt, 30, "4.00")

    [movement] = remove(bolt, stock, 15)

    row = balance(bolt, warehouse)
    assert (row.in_hand, row.average_cost) == (25, D("3.5000"))
    assert movement.unit_cost == D("3.5000")


def test_first_stock_in_after_running_out_takes_the_new_cost(warehouse, stock, bolt):
    """10 @ 2.00 all removed, then 5 @ 7.00: the average is 7.0000, the old one forgotten."""
    book_in(stock, bolt, 10, "2.00")
    remove(bolt, stock, 10)
    assert balance(bolt, warehouse).average_cost == D("2.0000")

    book_in(stock, bolt, 5, "7.00")

    assert balance(bolt, warehouse).average_cost == D("7.0000")


def test_move_between_warehouses_carries_the_source_average(warehouse, stock, north, bolt):
    """main holds 10 @ 2.00, north 10 @ 5.00; moving main's 10 to north gives north
    (10 × 5.00 + 10 × 2.00) / 20 = 3.5000 and leaves main's average at 2.0000."""
    north_stock = storage_of(north)
    book_in(stock, bolt, 10, "2.00")
    book_in(north_stock, bolt, 10, "5.00")

    [movement] = move(bolt, stock, north_stock, 10)

    assert movement.unit_cost == D("2.0000")
    main, far = balance(bolt, warehouse), balance(bolt, north)
    assert (main.in_hand, main.in_storage, main.average_cost) == (0, 0, D("2.0000"))
    assert (far.in_hand, far.in_storage, far.average_cost) == (20, 20, D("3.5000"))


def test_move_to_an_empty_warehouse_takes_the_source_average(stock, north, bolt):
    """The first goods in a warehouse arrive at the average of the warehouse they left."""
    book_in(stock, bolt, 10, "2.00")
    book_in(stock, bolt, 30, "4.00")

    move(bolt, stock, storage_of(north), 4)

    assert balance(bolt, north).average_cost == D("3.5000")


def test_move_inside_a_warehouse_keeps_the_average(warehouse, stock, shelf, incoming, bolt):
    """Moving goods between shelves or putting away incoming goods revalues nothing."""
    book_in(stock, bolt, 10, "2.00")
    book_in(incoming, bolt, 30, "4.00")

    move(bolt, stock, shelf, 5)
    move(bolt, incoming, shelf, 30)

    assert balance(bolt, warehouse).average_cost == D("3.5000")


def test_adjustment_up_without_a_cost_is_valued_at_the_average(warehouse, stock, bolt):
    """Counting 44 where 40 are booked at 3.5000 books a gain of 4 @ 3.5000; the average stays."""
    book_in(stock, bolt, 10, "2.00")
    book_in(stock, bolt, 30, "4.00")

    movement = adjust(bolt, stock, 44)

    assert (movement.action, movement.quantity, movement.unit_cost) == (
        Action.ADJUST_UP,
        4,
        D("3.5000"),
    )
    assert balance(bolt, warehouse).average_cost == D("3.5000")


def test_adjustment_up_at_a_given_cost_enters_the_average(warehouse, stock, bolt):
    """10 @ 2.00 counted as 12 at 5.00 each: (10 × 2.00 + 2 × 5.00) / 12 = 2.5000."""
    book_in(stock, bolt, 10, "2.00")

    adjust(bolt, stock, 12, unit_cost="5.00")

    assert balance(bolt, warehouse).average_cost == D("2.5000")


# --------------------------------------------------------------------------- balance columns


def test_in_hand_is_storage_plus_incoming_plus_quarantine(
    warehouse, stock, shelf, incoming, quarantine, bolt
):
    """7 + 2 on shelves, 4 incoming, 3 isolated: 16 in hand, 9 in storage."""
    book_in(stock, bolt, 12)
    book_in(incoming, bolt, 4)
    move(bolt, stock, shelf, 2)
    isolate(bolt, stock, quarantine, 3)

    row = balance(bolt, warehouse)
    assert (row.in_hand, row.in_storage) == (16, 9)
    assert row.available == 9
    assert (position_of(bolt, stock), position_of(bolt, shelf)) == (7, 2)
    assert (position_of(bolt, incoming), position_of(bolt, quarantine)) == (4, 3)


def test_balances_are_kept_per_warehouse(warehouse, stock, north, bolt):
    """Stock booked in one warehouse does not show in another."""
    book_in(stock, bolt, 5)
    book_in(storage_of(north), bolt, 2)

    assert balance(bolt, warehouse).in_hand == 5
    assert balance(bolt, north).in_hand == 2


# --------------------------------------------------------------------------- remove


def test_remove_takes_goods_out_to_the_adjustment_location(warehouse, stock, bolt, actor):
    """Removing 4 of 10 leaves 6, books a Remove to the loss location with its reason."""
    book_in(stock, bolt, 10)

    [movement] = remove(bolt, stock, 4, actor=actor, reason="scrapped", now=NOW)

    movement.refresh_from_db()
    loss = virtual(warehouse, Kind.ADJUSTMENT)
    assert (movement.action, movement.source, movement.destination) == (Action.REMOVE, stock, loss)
    assert (movement.quantity, movement.reason) == (4, "scrapped")
    assert (movement.actor, movement.created_at) == (actor, NOW)
    assert position_of(bolt, stock) == 6
    assert position_of(bolt, loss) == 4
    row = balance(bolt, warehouse)
    assert (row.in_hand, row.in_storage) == (6, 6)


def test_removing_more_than_the_location_holds_is_refused(stock, bolt, unchanged):
    """Removing 11 where 10 are is refused, naming product, location, what is there and asked."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(InsufficientStock) as refused:
        remove(bolt, stock, 11)

    error = refused.value
    assert (error.product, error.location) == (bolt, stock)
    assert (error.available, error.requested) == (10, 11)
    assert error.message == "Not enough BOLT-8 (Bolt M8) in main/STOCK: 10 available, 11 asked."
    assert error.field == "quantity"


def test_removing_from_a_location_that_never_held_the_product_is_refused(
    stock, shelf, bolt, unchanged
):
    """An empty shelf has 0 available, whatever the warehouse holds elsewhere."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(InsufficientStock) as refused:
        remove(bolt, shelf, 1)

    assert (
        refused.value.message == "Not enough BOLT-8 (Bolt M8) in main/SHELF: 0 available, 1 asked."
    )


def test_removing_metres_names_them_without_trailing_zeros(stock, cable, unchanged):
    """2.5 m on the shelf, 2.75 m asked: the message says 2.5 and 2.75."""
    book_in(stock, cable, "2.5")

    with unchanged(), pytest.raises(InsufficientStock, match=r": 2\.5 available, 2\.75 asked\."):
        remove(cable, stock, "2.75")


def test_remove_from_a_virtual_location_is_refused(warehouse, bolt, unchanged):
    """Only real locations can be emptied by a removal."""
    with unchanged(), pytest.raises(InvalidLocation, match="only be removed from a real location"):
        remove(bolt, virtual(warehouse, Kind.SUPPLIER), 1)


@pytest.mark.parametrize("reason", ["", "   "])
def test_remove_without_a_reason_is_refused(stock, bolt, unchanged, reason):
    """A removal must say why."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(WarehouseError, match="Say why the goods are removed"):
        remove(bolt, stock, 1, reason=reason)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "The quantity of BOLT-8 must be greater than zero."),
        ("-1", "The quantity of BOLT-8 must be greater than zero."),
        ("0.5", "BOLT-8 is counted in pieces: 0.5 is not whole."),
    ],
)
def test_remove_of_an_invalid_quantity_is_refused(stock, bolt, unchanged, quantity, message):
    """Removal quantities are positive whole pieces."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(InvalidQuantity) as refused:
        remove(bolt, stock, quantity)

    assert refused.value.message == message


def test_remove_of_a_device_by_serial(stock, modem):
    """A device is removed by its serial and no longer shows in the location."""
    book_in(stock, modem, None, serials=["SN-1", "SN-2"])

    [movement] = remove(modem, stock, serials=["SN-2"])

    assert (movement.serial, movement.quantity) == ("SN-2", 1)
    assert position_of(modem, stock) == 1
    assert serials_at(product=modem, location=stock) == ["SN-1"]


def test_remove_of_a_device_not_in_the_location_is_refused(stock, shelf, modem, unchanged):
    """A serial elsewhere, or never booked, cannot leave this location; both are named."""
    book_in(stock, modem, None, serials=["SN-1"])
    book_in(shelf, modem, None, serials=["SN-2"])

    with unchanged(), pytest.raises(InvalidSerials) as refused:
        remove(modem, stock, serials=["SN-1", "SN-2", "SN-9"])

    assert refused.value.message == "Not in main/STOCK: SN-2, SN-9."


def test_remove_of_a_device_without_its_serial_is_refused(stock, modem, unchanged):
    """Devices leave by serial number, never by a bare count."""
    book_in(stock, modem, None, serials=["SN-1"])

    with unchanged(), pytest.raises(InvalidSerials, match="give one serial number per unit"):
        remove(modem, stock, 1)


def test_remove_of_a_device_named_twice_is_refused(stock, modem, unchanged):
    """The same serial twice in one removal is refused."""
    book_in(stock, modem, None, serials=["SN-1", "SN-2"])

    with unchanged(), pytest.raises(InvalidSerials, match=r"given twice: SN-1\."):
        remove(modem, stock, serials=["SN-1", "SN-1"])


def test_remove_with_serials_of_a_counted_product_is_refused(stock, bolt, unchanged):
    """A counted product is removed by quantity, not serial."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(InvalidSerials, match="not traceable"):
        remove(bolt, stock, 1, serials=["SN-1"])


def test_reserved_stock_cannot_be_removed(warehouse, stock, bolt, unchanged):
    """With 8 of 10 reserved, removing 3 is refused (2 available); removing 2 is booked."""
    book_in(stock, bolt, 10)
    reserve(bolt, warehouse, 8)

    with unchanged(), pytest.raises(InsufficientStock) as refused:
        remove(bolt, stock, 3)

    assert (refused.value.available, refused.value.requested) == (2, 3)
    assert refused.value.message.startswith(
        "Not enough BOLT-8 (Bolt M8) in main/STOCK: 2 available"
    )
    assert "8 more reserved" in refused.value.message
    remove(bolt, stock, 2)
    assert position_of(bolt, stock) == 8


def test_reservations_do_not_hold_back_quarantined_goods(warehouse, stock, quarantine, bolt):
    """Reservations are on storage stock: goods in quarantine can still be written off."""
    book_in(stock, bolt, 10)
    isolate(bolt, stock, quarantine, 4)
    reserve(bolt, warehouse, 6)

    remove(bolt, quarantine, 4)

    row = balance(bolt, warehouse)
    assert (row.in_hand, row.in_storage, row.reserved) == (6, 6, 6)


def test_inactive_product_can_still_be_removed_and_moved(stock, shelf, bolt):
    """Deactivating a product stops stock-in only: what is on the shelves can still go."""
    book_in(stock, bolt, 10)
    bolt.active = False
    bolt.save()

    move(bolt, stock, shelf, 4)
    remove(bolt, stock, 6)

    assert (position_of(bolt, stock), position_of(bolt, shelf)) == (0, 4)


# --------------------------------------------------------------------------- move


def test_move_between_shelves_keeps_the_warehouse_balance(warehouse, stock, shelf, bolt, actor):
    """Moving 4 of 10 to another shelf is one Move; in hand and in storage stay 10."""
    book_in(stock, bolt, 10)

    [movement] = move(bolt, stock, shelf, 4, actor=actor, reason="tidy up", now=NOW)

    movement.refresh_from_db()
    assert (movement.action, movement.source, movement.destination) == (Action.MOVE, stock, shelf)
    assert (movement.reason, movement.actor, movement.created_at) == ("tidy up", actor, NOW)
    assert (position_of(bolt, stock), position_of(bolt, shelf)) == (6, 4)
    row = balance(bolt, warehouse)
    assert (row.in_hand, row.in_storage) == (10, 10)


def test_putting_away_incoming_goods_makes_them_storage_stock(warehouse, stock, incoming, bolt):
    """Incoming → storage: in hand unchanged, in storage up."""
    book_in(incoming, bolt, 10)

    move(bolt, incoming, stock, 10)

    row = balance(bolt, warehouse)
    assert (row.in_hand, row.in_storage) == (10, 10)
    assert position_of(bolt, incoming) == 0


def test_move_of_devices_follows_their_serials(stock, north, modem):
    """Devices moved to another warehouse are found there by serial."""
    north_stock = storage_of(north)
    book_in(stock, modem, None, serials=["SN-1", "SN-2", "SN-3"])

    movements = move(modem, stock, north_stock, serials=["SN-3", "SN-1"])

    assert sorted(m.serial for m in movements) == ["SN-1", "SN-3"]
    assert serials_at(product=modem, location=north_stock) == ["SN-1", "SN-3"]
    assert serials_at(product=modem, location=stock) == ["SN-2"]
    assert (position_of(modem, stock), position_of(modem, north_stock)) == (1, 2)


def test_moving_more_than_the_location_holds_is_refused(stock, shelf, bolt, unchanged):
    """Moving 11 where 10 are is refused and books nothing."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(InsufficientStock) as refused:
        move(bolt, stock, shelf, 11)

    assert (refused.value.location, refused.value.available, refused.value.requested) == (
        stock,
        10,
        11,
    )


def test_move_from_a_virtual_location_is_refused(warehouse, stock, bolt, unchanged):
    """Goods are moved from a real location only."""
    with unchanged(), pytest.raises(InvalidLocation) as refused:
        move(bolt, virtual(warehouse, Kind.SUPPLIER), stock, 1)

    assert refused.value.field == "location"


def test_move_to_a_virtual_location_is_refused(warehouse, stock, bolt, unchanged):
    """Goods are moved to a real location only: selling or dispatching is another action."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(InvalidDestination) as refused:
        move(bolt, stock, virtual(warehouse, Kind.SOLD), 1)

    assert refused.value.field == "destination"


def test_move_into_an_incoming_location_is_refused(stock, incoming, bolt, unchanged):
    """Incoming locations receive deliveries only; goods are not moved back into them."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(InvalidDestination, match="receives deliveries"):
        move(bolt, stock, incoming, 1)


def test_move_to_the_same_location_is_refused(stock, bolt, unchanged):
    """Moving goods to where they already are is refused."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(InvalidDestination, match="already in"):
        move(bolt, stock, stock, 1)


def test_move_of_a_fraction_of_a_piece_is_refused(stock, shelf, bolt, unchanged):
    """Half a bolt cannot be moved."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(InvalidQuantity, match="not whole"):
        move(bolt, stock, shelf, "0.5")


def test_move_of_a_device_not_in_the_source_is_refused(stock, shelf, modem, unchanged):
    """A device is moved from the location it is in, nowhere else."""
    book_in(shelf, modem, None, serials=["SN-1"])
    book_in(stock, modem, None, serials=["SN-2"])

    with unchanged(), pytest.raises(InvalidSerials, match=r"Not in main/STOCK: SN-1\."):
        move(modem, stock, shelf, serials=["SN-1"])


def test_reserved_stock_cannot_leave_the_warehouse(warehouse, stock, north, bolt, unchanged):
    """With all 10 reserved, moving to another warehouse is refused."""
    book_in(stock, bolt, 10)
    reserve(bolt, warehouse, 10)

    with unchanged(), pytest.raises(InsufficientStock, match=r"0 available \(10 more reserved"):
        move(bolt, stock, storage_of(north), 1)


def test_reserved_stock_may_change_shelf(warehouse, stock, shelf, bolt):
    """Reservations are per warehouse: reserved goods can move between its storage shelves."""
    book_in(stock, bolt, 10)
    reserve(bolt, warehouse, 10)

    move(bolt, stock, shelf, 10)

    assert position_of(bolt, shelf) == 10
    assert balance(bolt, warehouse).available == 0


# --------------------------------------------------------------------------- isolate


def test_isolate_moves_storage_stock_to_quarantine(warehouse, stock, quarantine, bolt):
    """Isolating 3 of 10: still 10 in hand, 7 in storage, 3 in quarantine."""
    book_in(stock, bolt, 10)

    [movement] = isolate(bolt, stock, quarantine, 3, reason="water damage")

    assert (movement.action, movement.destination, movement.reason) == (
        Action.ISOLATE,
        quarantine,
        "water damage",
    )
    row = balance(bolt, warehouse)
    assert (row.in_hand, row.in_storage) == (10, 7)
    assert (position_of(bolt, stock), position_of(bolt, quarantine)) == (7, 3)


def test_isolate_a_device_by_serial(stock, quarantine, modem):
    """A suspect device goes to quarantine by its serial."""
    book_in(stock, modem, None, serials=["SN-1", "SN-2"])

    isolate(modem, stock, quarantine, serials=["SN-1"])

    assert serials_at(product=modem, location=quarantine) == ["SN-1"]


def test_isolate_only_from_storage(incoming, quarantine, bolt, unchanged):
    """Incoming goods are not isolated from incoming: they are put away first."""
    book_in(incoming, bolt, 10)

    with unchanged(), pytest.raises(InvalidLocation, match="is not storage"):
        isolate(bolt, incoming, quarantine, 1)


def test_isolate_only_into_quarantine(stock, shelf, bolt, unchanged):
    """The destination of an isolation must be a quarantine location."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(InvalidDestination, match="is not a quarantine location"):
        isolate(bolt, stock, shelf, 1)


def test_isolate_into_another_warehouses_quarantine_is_refused(stock, north, bolt, unchanged):
    """Quarantine is in the same warehouse as the goods."""
    book_in(stock, bolt, 10)
    far_quarantine = LocationFactory(warehouse=north, code="QUAR", kind=Kind.QUARANTINE)

    with unchanged(), pytest.raises(InvalidDestination, match="same warehouse"):
        isolate(bolt, stock, far_quarantine, 1)


def test_isolate_without_a_reason_is_refused(stock, quarantine, bolt, unchanged):
    """An isolation must say why."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(WarehouseError, match="Say why the goods are isolated"):
        isolate(bolt, stock, quarantine, 1, reason=" ")


def test_isolating_more_than_the_location_holds_is_refused(stock, quarantine, bolt, unchanged):
    """Isolating 11 of 10 is refused and books nothing."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(InsufficientStock, match="10 available, 11 asked"):
        isolate(bolt, stock, quarantine, 11)


def test_reserved_stock_cannot_be_isolated(warehouse, stock, quarantine, bolt, unchanged):
    """Reserved goods stay for sale: with 9 of 10 reserved, isolating 2 is refused."""
    book_in(stock, bolt, 10)
    reserve(bolt, warehouse, 9)

    with unchanged(), pytest.raises(InsufficientStock, match=r"1 available \(9 more reserved"):
        isolate(bolt, stock, quarantine, 2)


# --------------------------------------------------------------------------- adjust


def test_count_below_the_books_is_an_adjustment_down(warehouse, stock, bolt, actor):
    """Counting 7 where 10 are booked books 3 out to the adjustment location."""
    book_in(stock, bolt, 10, "2.00")

    movement = services.stock_adjust(
        actor=actor, product=bolt, location=stock, counted=D("7"), reason="stocktake", now=NOW
    )

    movement.refresh_from_db()
    loss = virtual(warehouse, Kind.ADJUSTMENT)
    assert (movement.action, movement.source, movement.destination) == (
        Action.ADJUST_DOWN,
        stock,
        loss,
    )
    assert (movement.quantity, movement.unit_cost) == (3, D("2.0000"))
    assert (movement.actor, movement.created_at, movement.reason) == (actor, NOW, "stocktake")
    assert position_of(bolt, stock) == 7
    row = balance(bolt, warehouse)
    assert (row.in_hand, row.in_storage, row.average_cost) == (7, 7, D("2.0000"))


def test_count_above_the_books_is_an_adjustment_up(warehouse, stock, cable):
    """Counting 12.5 m where 10 m are booked books a gain of 2.5 m from the adjustment location."""
    book_in(stock, cable, 10)

    movement = adjust(cable, stock, "12.5")

    assert (movement.action, movement.source, movement.quantity) == (
        Action.ADJUST_UP,
        virtual(warehouse, Kind.ADJUSTMENT),
        D("2.5"),
    )
    assert position_of(cable, stock) == D("12.5")


def test_count_equal_to_the_books_books_nothing(stock, bolt):
    """When the count agrees with the books there is nothing to adjust."""
    book_in(stock, bolt, 10)
    movements = Movement.objects.count()

    assert adjust(bolt, stock, 10) is None

    assert Movement.objects.count() == movements
    assert position_of(bolt, stock) == 10
    assert position_of(bolt, virtual(stock.warehouse, Kind.ADJUSTMENT)) == 0
    assert balance(bolt, stock.warehouse).in_hand == 10


def test_count_on_an_empty_shelf_books_the_find(warehouse, stock, shelf, bolt):
    """Goods found where none were booked are a gain, valued at the warehouse average."""
    book_in(stock, bolt, 10, "3.00")

    movement = adjust(bolt, shelf, 2)

    assert (movement.quantity, movement.unit_cost) == (2, D("3.0000"))
    assert balance(bolt, warehouse).in_hand == 12


def test_count_to_zero_in_quarantine(warehouse, stock, quarantine, bolt):
    """Any real location can be counted, quarantine included."""
    book_in(stock, bolt, 10)
    isolate(bolt, stock, quarantine, 4)

    adjust(bolt, quarantine, 0)

    row = balance(bolt, warehouse)
    assert (row.in_hand, row.in_storage) == (6, 6)


def test_count_of_a_virtual_location_is_refused(warehouse, bolt, unchanged):
    """Virtual locations are not counted."""
    with unchanged(), pytest.raises(InvalidLocation, match="Only a real location can be counted"):
        adjust(bolt, virtual(warehouse, Kind.ADJUSTMENT), 1)


@pytest.mark.parametrize("counted", ["-1", None])
def test_negative_or_missing_count_is_refused(stock, bolt, unchanged, counted):
    """A count is zero or more."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(InvalidQuantity, match="cannot be negative"):
        adjust(bolt, stock, counted)


@pytest.mark.parametrize(
    ("product_name", "counted", "message"),
    [
        ("bolt", "9.5", "BOLT-8 is counted in pieces: 9.5 is not whole."),
        ("cable", "9.0001", "The quantity of CAB-1 has more than 3 decimals."),
    ],
)
def test_count_of_an_impossible_quantity_is_refused(
    request, stock, unchanged, product_name, counted, message
):
    """Pieces are counted whole, metres to the millimetre."""
    product = request.getfixturevalue(product_name)
    book_in(stock, product, 10)

    with unchanged(), pytest.raises(InvalidQuantity) as refused:
        adjust(product, stock, counted)

    assert refused.value.message == message


def test_count_of_a_traceable_product_is_refused(stock, modem, unchanged):
    """Devices are adjusted one by one, never by a count."""
    book_in(stock, modem, None, serials=["SN-1"])

    with unchanged(), pytest.raises(WarehouseError, match="adjust its devices one by one"):
        adjust(modem, stock, 0)


def test_adjustment_without_a_reason_is_refused(stock, bolt, unchanged):
    """An adjustment must say why."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(WarehouseError, match="Say why the stock is adjusted"):
        adjust(bolt, stock, 8, reason="")


def test_adjustment_up_at_a_negative_cost_is_refused(stock, bolt, unchanged):
    """A gain valued below zero is refused like a stock-in at a negative cost."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(WarehouseError, match="cannot be negative"):
        adjust(bolt, stock, 12, unit_cost="-1.00")


def test_count_below_the_reserved_quantity_is_refused(warehouse, stock, bolt, unchanged):
    """With 8 of 10 reserved, a count of 5 cannot write off reserved goods."""
    book_in(stock, bolt, 10)
    reserve(bolt, warehouse, 8)

    with (
        unchanged(),
        pytest.raises(InsufficientStock, match=r"2 available \(8 more reserved.*5 asked"),
    ):
        adjust(bolt, stock, 5)


# --------------------------------------------------------------------------- movements_book


def spec(product, source, destination, quantity, action=Action.MOVE, **kwargs):
    return MovementSpec(
        product=product,
        source=source,
        destination=destination,
        quantity=D(str(quantity)),
        action=action,
        **kwargs,
    )


def test_booking_no_movements_writes_nothing(unchanged):
    """An empty booking is not an error and writes nothing."""
    with unchanged():
        assert services.movements_book(specs=[], actor=None) == []


def test_movements_booked_together_carry_the_given_batch(stock, shelf, bolt):
    """A caller can group its movements under its own batch id."""
    book_in(stock, bolt, 10)
    batch = uuid.uuid4()

    movements = services.movements_book(
        specs=[spec(bolt, stock, shelf, 2), spec(bolt, stock, shelf, 3)], actor=None, batch=batch
    )

    assert [m.batch for m in movements] == [batch, batch]
    assert position_of(bolt, shelf) == 5


def test_movements_booked_together_draw_on_the_same_stock(stock, shelf, bolt, unchanged):
    """Two movements of 6 out of 10 are refused together: the second finds 4."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(InsufficientStock) as refused:
        services.movements_book(
            specs=[spec(bolt, stock, shelf, 6), spec(bolt, stock, shelf, 6)], actor=None
        )

    assert (refused.value.available, refused.value.requested) == (4, 6)


def test_booking_a_movement_within_one_location_is_refused(stock, bolt, unchanged):
    """The ledger never books a movement from a location to itself."""
    book_in(stock, bolt, 10)

    with unchanged(), pytest.raises(InvalidDestination, match="already in that location"):
        services.movements_book(specs=[spec(bolt, stock, stock, 1)], actor=None)


@pytest.mark.parametrize(("quantity", "serial"), [("1", ""), ("2", "SN-1")])
def test_booking_a_device_without_one_serial_per_unit_is_refused(
    stock, shelf, modem, unchanged, quantity, serial
):
    """Each traceable unit moves on its own line with its serial."""
    book_in(stock, modem, None, serials=["SN-1", "SN-2"])

    with unchanged(), pytest.raises(InvalidSerials, match="each unit moves with its serial"):
        services.movements_book(
            specs=[spec(modem, stock, shelf, quantity, serial=serial)], actor=None
        )


def test_booking_an_inactive_product_in_is_refused(warehouse, stock, unchanged):
    """The single writer refuses a stock-in of an inactive product too."""
    old = ProductFactory(sku="OLD-1", active=False)
    supplier = virtual(warehouse, Kind.SUPPLIER)

    with unchanged(), pytest.raises(InactiveProduct):
        services.movements_book(
            specs=[spec(old, supplier, stock, 1, Action.ADD, unit_cost=D("1"))], actor=None
        )


def test_projection_equals_the_ledger_after_a_mixed_day(
    warehouse, stock, shelf, incoming, quarantine, north, bolt, cable, modem
):
    """After a day of bookings every cached position is Σ in − Σ out of the ledger."""
    book_in(stock, bolt, 20, "2.00")
    book_in(incoming, cable, "50.5", "0.80")
    book_in(stock, modem, None, "90", serials=["SN-1", "SN-2", "SN-3"])
    move(bolt, stock, shelf, 5)
    move(cable, incoming, stock, "20.25")
    isolate(bolt, shelf, quarantine, 1)
    remove(bolt, quarantine, 1)
    move(modem, stock, storage_of(north), serials=["SN-2"])
    adjust(cable, stock, "19")

    positions = {
        (p.product_id, p.location_id): p.quantity for p in StockPosition.objects.exclude(quantity=0)
    }
    ledger = {key: total for key, total in ledger_balances().items() if total != 0}
    assert positions == ledger


# --------------------------------------------------------------------------- document flows


@pytest.fixture
def flows(db):
    warehouse = WarehouseFactory()
    shelf = storage_of(warehouse)
    cable = ProductFactory()
    modem = ProductFactory(traceable=True)
    book_in(shelf, cable, 5)
    book_in(shelf, modem, 1, serials=["FLOW-1"])
    return warehouse, shelf, cable, modem


def test_stock_out_refuses_a_traceable_product_and_books_nothing(flows):
    warehouse, _, _, modem = flows
    before = ledger_snapshot()

    with pytest.raises(InvalidSerials, match="devices go out one by one"):
        services.stock_out(
            actor=None,
            product=modem,
            warehouse=warehouse,
            quantity=Decimal(1),
            to_kind=Location.Kind.DISPATCHED,
            action=Movement.Action.DISPATCH,
        )
    assert ledger_snapshot() == before


def test_stock_out_beyond_the_storage_names_the_shortfall_and_books_nothing(flows):
    warehouse, _, cable, _ = flows
    before = ledger_snapshot()

    with pytest.raises(InsufficientStock, match=r"5 available.*6 asked"):
        services.stock_out(
            actor=None,
            product=cable,
            warehouse=warehouse,
            quantity=Decimal(6),
            to_kind=Location.Kind.DISPATCHED,
            action=Movement.Action.DISPATCH,
        )
    assert ledger_snapshot() == before


def test_stock_between_refuses_a_traceable_product_and_books_nothing(flows):
    warehouse, shelf, _, modem = flows
    before = ledger_snapshot()

    with pytest.raises(InvalidSerials, match="devices move one by one"):
        services.stock_between(
            actor=None,
            product=modem,
            source=shelf,
            destination=services.virtual_location(warehouse=warehouse, kind=Location.Kind.SOLD),
            quantity=Decimal(1),
            action=Movement.Action.SELL,
        )
    assert ledger_snapshot() == before


def test_stock_between_beyond_the_storage_is_refused_and_books_nothing(flows):
    warehouse, shelf, cable, _ = flows
    before = ledger_snapshot()

    with pytest.raises(InsufficientStock):
        services.stock_between(
            actor=None,
            product=cable,
            source=shelf,
            destination=services.virtual_location(warehouse=warehouse, kind=Location.Kind.SOLD),
            quantity=Decimal(6),
            action=Movement.Action.SELL,
        )
    assert ledger_snapshot() == before
