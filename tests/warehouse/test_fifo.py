"""Incoming packages and FIFO cost layers: what opens a layer, what consumes it, the report.

Every scenario ends with the FIFO invariant: per product and warehouse, the
remaining quantities of the cost layers add up to what the business owns
there (in hand + dispatched + rented). Stock is booked through the services
the site uses (devices.services for stock-in and moves, billing.services for
sales, returns and orders).
"""

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing import services as billing
from devices import stock_booking
from devices.models import Device
from tests.warehouse.factories import (
    LocationFactory,
    PartyFactory,
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    position_of,
    storage_of,
)
from warehouse import selectors, services
from warehouse.exceptions import InvalidPackage
from warehouse.models import (
    CostLayer,
    IncomingPackage,
    LayerConsumption,
    Location,
    Movement,
    WarehouseStock,
)
from warehouse.services import StockInLine

pytestmark = pytest.mark.django_db

D = Decimal
Kind = Location.Kind
DAY1 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
DAY2 = datetime(2025, 3, 2, 9, 0, tzinfo=UTC)
DAY3 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DAY4 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def clerk():
    return UserFactory(username="carl")


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="main", name="Main warehouse")


@pytest.fixture
def stock(warehouse):
    return storage_of(warehouse)


@pytest.fixture
def dock(warehouse):
    """The main warehouse's incoming location, main/IN."""
    return LocationFactory(warehouse=warehouse, code="IN", name="Goods in", kind=Kind.INCOMING)


@pytest.fixture
def north():
    return WarehouseFactory(code="north", name="North depot")


@pytest.fixture
def bolt():
    return ProductFactory(sku="BOLT-1", name="Bolt", sale_price=D("9.00"))


@pytest.fixture
def modem():
    return ProductFactory(sku="MOD-1", name="Modem", traceable=True, sale_price=D("120.00"))


@pytest.fixture
def alice():
    return PartyFactory(name="Alice")


def package_in(location, product, quantity, price, number="", *, serials=(), now=DAY1, ref=""):
    """One package booked through the service the site books with; its movements back."""
    return stock_booking.stock_in(
        actor=None,
        location=location,
        lines=[
            StockInLine(
                product=product,
                quantity=None if quantity is None else D(str(quantity)),
                unit_cost=None,
                serials=tuple(serials),
                package_number=number,
                package_price=D(str(price)),
            )
        ],
        reference=ref,
        now=now,
    )


def put_away(dock, stock, product, quantity=None, *, serials=(), now=DAY2, package=None):
    return stock_booking.stock_move(
        actor=None,
        product=product,
        source=dock,
        destination=stock,
        quantity=None if quantity is None else D(str(quantity)),
        serials=serials,
        now=now,
        package=package,
    )


def sell(warehouse, party, product, quantity, clerk, *, now=DAY3):
    """An invoice for `quantity` of the product, posted: the goods leave ownership."""
    invoice = billing.invoice_create(
        actor=clerk,
        party=party,
        warehouse=warehouse,
        lines=[billing.LineInput(product=product, quantity=D(str(quantity)))],
        now=now,
    )
    return billing.invoice_post(invoice=invoice, actor=clerk, now=now)


def layers(product, warehouse):
    """The product's layers in the warehouse, oldest first: (package, quantity, remaining, cost)."""
    return [
        (layer.package_number, layer.quantity, layer.remaining, layer.unit_cost)
        for layer in CostLayer.objects.filter(product=product, warehouse=warehouse).order_by(
            "received_at", "id"
        )
    ]


def consumed_by(movements):
    """What the movements took from the layers: (package, quantity, unit cost), in order."""
    return [
        (c.layer.package_number, c.quantity, c.unit_cost)
        for c in LayerConsumption.objects.filter(movement__in=movements)
        .select_related("layer")
        .order_by("id")
    ]


def layers_agree_with_ownership():
    """Σ remaining of the layers per (product, warehouse) = in hand + dispatched + rented."""
    layered = defaultdict(Decimal)
    for layer in CostLayer.objects.all():
        layered[(layer.product_id, layer.warehouse_id)] += layer.remaining
    owned = {(s.product_id, s.warehouse_id): s.ownership for s in WarehouseStock.objects.all()}
    assert {k: v for k, v in layered.items() if v} == {k: v for k, v in owned.items() if v}


@pytest.fixture(autouse=True)
def _layers_checked_after_each_scenario(db):
    """Whatever a scenario books, its layers end up agreeing with what is owned."""
    yield
    layers_agree_with_ownership()


def balance(product, warehouse) -> WarehouseStock:
    return WarehouseStock.objects.get(product=product, warehouse=warehouse)


@pytest.fixture
def two_packages(dock, stock, bolt):
    """The worked example's deliveries, put away: P1 10 bolts for 20.00, P2 30 for 120.00."""
    package_in(dock, bolt, 10, "20.00", "P1", now=DAY1)
    package_in(dock, bolt, 30, "120.00", "P2", now=DAY2)
    put_away(dock, stock, bolt, 40, now=DAY2)
    return bolt


# --------------------------------------------------------------------------- opening layers


def test_each_booked_package_opens_a_layer_at_its_unit_cost(warehouse, dock, bolt):
    """A package of 10 bolts for 20.00 opens one layer of 10 at 2.00, dated its arrival."""
    movements = package_in(dock, bolt, 10, "20.00", "P1", now=DAY1, ref="DN-1")

    package = IncomingPackage.objects.get(product=bolt)
    assert (package.number, package.quantity, package.package_price, package.unit_cost) == (
        "P1",
        D(10),
        D("20.00"),
        D("2.00"),
    )
    assert (package.put_away, package.location, package.received_at) == (D(0), dock, DAY1)
    layer = CostLayer.objects.get(product=bolt)
    assert (layer.package, layer.package_number, layer.received_at) == (package, "P1", DAY1)
    assert (layer.quantity, layer.remaining, layer.unit_cost) == (D(10), D(10), D("2.00"))
    assert layer.movement == movements[0]
    assert movements[0].package == package
    assert movements[0].unit_cost == D("2.00")
    layers_agree_with_ownership()


def test_a_package_price_that_does_not_divide_evenly_is_rounded_to_four_places(dock, bolt):
    """3 bolts for 10.00 cost 3.3333 each."""
    package_in(dock, bolt, 3, "10.00", "P1")

    assert layers(bolt, dock.warehouse) == [("P1", D(3), D(3), D("3.3333"))]


def test_a_traceable_package_opens_one_layer_for_all_its_devices(warehouse, dock, modem):
    """Three modems for 150.00: one layer of 3 at 50.00, three New devices in incoming."""
    package_in(dock, modem, None, "150.00", "M1", serials=["S-1", "S-2", "S-3"])

    assert layers(modem, warehouse) == [("M1", D(3), D(3), D("50.00"))]
    devices = Device.objects.filter(product=modem).order_by("serial")
    assert [(d.serial, d.state, d.location) for d in devices] == [
        ("S-1", "new", dock),
        ("S-2", "new", dock),
        ("S-3", "new", dock),
    ]
    assert set(
        Movement.objects.filter(product=modem).values_list("package__number", flat=True)
    ) == {"M1"}
    layers_agree_with_ownership()


def test_package_prices_make_the_moving_average(warehouse, dock, bolt):
    """P1 10 × 2.00 then P2 30 × 4.00: (20.00 + 120.00) ÷ 40 = 3.50."""
    package_in(dock, bolt, 10, "20.00", "P1", now=DAY1)
    package_in(dock, bolt, 30, "120.00", "P2", now=DAY2)

    assert balance(bolt, warehouse).average_cost == D("3.50")
    assert layers(bolt, warehouse) == [
        ("P1", D(10), D(10), D("2.00")),
        ("P2", D(30), D(30), D("4.00")),
    ]


# --------------------------------------------------------------------------- consuming layers


def test_a_sale_consumes_the_oldest_layers_first_worked_example(
    warehouse, two_packages, alice, clerk
):
    """The worked example, every number written out.

    P1: 10 bolts for 20.00 → 2.00 each; P2: 30 bolts for 120.00 → 4.00 each.
    Moving average: (10 × 2.00 + 30 × 4.00) ÷ 40 = 140.00 ÷ 40 = 3.50.
    Selling 15: FIFO takes all of P1 (10 × 2.00 = 20.00) and 5 of P2
    (5 × 4.00 = 20.00): the cost of the goods sold is 40.00.
    Left: 25 of P2 × 4.00 = 100.00 by FIFO; 25 × 3.50 = 87.50 by the moving average.
    """
    bolt = two_packages

    invoice = sell(warehouse, alice, bolt, 15, clerk)

    sale = Movement.objects.filter(reference=invoice.number)
    assert consumed_by(sale) == [("P1", D(10), D("2.00")), ("P2", D(5), D("4.00"))]
    cost_of_goods = sum(
        c.quantity * c.unit_cost for c in LayerConsumption.objects.filter(movement__in=sale)
    )
    assert cost_of_goods == D("40.00")
    assert layers(bolt, warehouse) == [
        ("P1", D(10), D(0), D("2.00")),
        ("P2", D(30), D(25), D("4.00")),
    ]
    rows = list(selectors.fifo_report(product=bolt))
    assert [(r["package_number"], r["remaining"], r["remaining_value"]) for r in rows] == [
        ("P1", D(0), D(0)),
        ("P2", D(25), D("100.00")),
    ]
    stock = balance(bolt, warehouse)
    assert (stock.ownership, stock.average_cost) == (D(25), D("3.50"))
    assert stock.ownership * stock.average_cost == D("87.50")
    layers_agree_with_ownership()


def test_a_sale_larger_than_one_layer_spans_three(warehouse, dock, stock, bolt, alice, clerk):
    """Layers of 2, 3 and 4: selling 6 empties the first two and takes 1 of the third."""
    package_in(dock, bolt, 2, "2.00", "A", now=DAY1)
    package_in(dock, bolt, 3, "6.00", "B", now=DAY2)
    package_in(dock, bolt, 4, "12.00", "C", now=DAY3)
    put_away(dock, stock, bolt, 9, now=DAY3)

    invoice = sell(warehouse, alice, bolt, 6, clerk, now=DAY4)

    assert consumed_by(Movement.objects.filter(reference=invoice.number)) == [
        ("A", D(2), D("1.00")),
        ("B", D(3), D("2.00")),
        ("C", D(1), D("3.00")),
    ]
    assert [remaining for _, _, remaining, _ in layers(bolt, warehouse)] == [D(0), D(0), D(3)]
    layers_agree_with_ownership()


def test_a_credit_note_return_opens_a_layer_at_the_returned_cost(
    warehouse, stock, two_packages, alice, clerk
):
    """5 of the 15 sold come back at the sale's cost (3.50) as a layer dated the return.

    The next sale still takes the older P2 layer first.
    """
    bolt = two_packages
    invoice = sell(warehouse, alice, bolt, 15, clerk, now=DAY3)
    line = invoice.lines.get()
    assert line.unit_cost == D("3.50")  # the moving average at the sale
    credit = billing.creditnote_create(
        actor=clerk,
        invoice=invoice,
        return_location=stock,
        lines=[billing.CreditLineInput(invoice_line=line, quantity=D(5))],
        now=DAY4,
    )
    billing.creditnote_post(credit_note=credit, actor=clerk, now=DAY4)

    returned = CostLayer.objects.get(product=bolt, package_number=credit.number)
    assert (returned.quantity, returned.remaining, returned.unit_cost) == (
        D(5),
        D(5),
        D("3.50"),
    )
    assert returned.received_at == DAY4
    assert returned.package is None
    layers_agree_with_ownership()

    later = sell(warehouse, alice, bolt, 27, clerk, now=DAY4)
    assert consumed_by(Movement.objects.filter(reference=later.number)) == [
        ("P2", D(25), D("4.00")),
        (credit.number, D(2), D("3.50")),
    ]
    layers_agree_with_ownership()


def test_a_move_to_another_warehouse_carries_its_layers(warehouse, north, stock, two_packages):
    """Moving 15 bolts north takes P1 and 5 of P2 from main and opens the same layers north."""
    bolt = two_packages

    movements = stock_booking.stock_move(
        actor=None,
        product=bolt,
        source=stock,
        destination=storage_of(north),
        quantity=D(15),
        now=DAY3,
    )

    assert consumed_by(movements) == [("P1", D(10), D("2.00")), ("P2", D(5), D("4.00"))]
    assert layers(bolt, warehouse) == [
        ("P1", D(10), D(0), D("2.00")),
        ("P2", D(30), D(25), D("4.00")),
    ]
    assert layers(bolt, north) == [("P1", D(10), D(10), D("2.00")), ("P2", D(5), D(5), D("4.00"))]
    carried = CostLayer.objects.filter(warehouse=north).order_by("received_at")
    assert [layer.received_at for layer in carried] == [DAY1, DAY2]  # the packages' dates
    layers_agree_with_ownership()


def test_a_move_within_a_warehouse_leaves_the_layers_alone(warehouse, two_packages, stock):
    bolt = two_packages
    shelf = LocationFactory(warehouse=warehouse, code="SHELF")
    before = layers(bolt, warehouse)

    stock_booking.stock_move(
        actor=None, product=bolt, source=stock, destination=shelf, quantity=D(12)
    )

    assert layers(bolt, warehouse) == before
    assert not LayerConsumption.objects.exists()
    layers_agree_with_ownership()


def test_an_order_dispatched_then_cancelled_leaves_the_layers_unchanged(
    warehouse, two_packages, alice, clerk
):
    """Dispatched goods are still owned: neither the dispatch nor the cancellation consumes."""
    bolt = two_packages
    before = layers(bolt, warehouse)
    order = billing.order_create(
        actor=clerk,
        party=alice,
        warehouse=warehouse,
        lines=[billing.LineInput(product=bolt, quantity=D(15))],
    )
    billing.order_confirm(order=order, actor=clerk)
    billing.order_dispatch(order=order, actor=clerk)

    assert balance(bolt, warehouse).dispatched == D(15)
    assert layers(bolt, warehouse) == before
    layers_agree_with_ownership()

    billing.order_cancel(order=order, actor=clerk)

    assert balance(bolt, warehouse).dispatched == D(0)
    assert layers(bolt, warehouse) == before
    assert not LayerConsumption.objects.exists()
    layers_agree_with_ownership()


def test_written_off_devices_consume_the_oldest_layer(warehouse, dock, stock, modem):
    """Two modem packages (3 at 50.00, 2 at 80.00): writing off two takes them from the first."""
    package_in(dock, modem, None, "150.00", "M1", serials=["S-1", "S-2", "S-3"], now=DAY1)
    package_in(dock, modem, None, "160.00", "M2", serials=["S-4", "S-5"], now=DAY2)
    put_away(dock, stock, modem, serials=["S-4", "S-5"], now=DAY2)

    movements = stock_booking.stock_remove(
        actor=None, product=modem, location=stock, serials=["S-4", "S-5"], reason="Broken"
    )

    assert consumed_by(movements) == [("M1", D(1), D("50.00")), ("M1", D(1), D("50.00"))]
    assert layers(modem, warehouse) == [
        ("M1", D(3), D(1), D("50.00")),
        ("M2", D(2), D(2), D("80.00")),
    ]
    assert set(
        Device.objects.filter(serial__in=["S-4", "S-5"]).values_list("state", flat=True)
    ) == {"written_off"}
    layers_agree_with_ownership()


def test_removed_goods_consume_the_oldest_layers(warehouse, stock, two_packages):
    bolt = two_packages

    movements = services.stock_remove(
        actor=None, product=bolt, location=stock, quantity=D(12), reason="Rusted"
    )

    assert consumed_by(movements) == [("P1", D(10), D("2.00")), ("P2", D(2), D("4.00"))]
    layers_agree_with_ownership()


def test_adjustments_consume_down_and_open_a_layer_up(warehouse, stock, two_packages):
    """A count below the books consumes like a removal; a gain opens a layer at its cost."""
    bolt = two_packages

    down = services.stock_adjust(
        actor=None, product=bolt, location=stock, counted=D(35), reason="Stocktake"
    )
    assert consumed_by([down]) == [("P1", D(5), D("2.00"))]
    services.stock_adjust(
        actor=None,
        product=bolt,
        location=stock,
        counted=D(37),
        unit_cost=D("5.00"),
        reason="Found",
        now=DAY4,
    )

    assert layers(bolt, warehouse)[-1] == ("", D(2), D(2), D("5.00"))
    layers_agree_with_ownership()


# --------------------------------------------------------------------------- the report


def test_the_report_traces_each_package_of_the_worked_example(
    warehouse, two_packages, alice, clerk
):
    """Per package: received, its value, consumed, remaining and its value."""
    bolt = two_packages
    sell(warehouse, alice, bolt, 15, clerk)

    rows = [
        (
            r["product__sku"],
            r["warehouse__code"],
            r["package_number"],
            r["received_at"],
            r["received"],
            r["received_value"],
            r["consumed"],
            r["remaining"],
            r["remaining_value"],
        )
        for r in selectors.fifo_report()
    ]

    assert rows == [
        ("BOLT-1", "main", "P1", DAY1, D(10), D("20.00"), D(10), D(0), D("0.00")),
        ("BOLT-1", "main", "P2", DAY2, D(30), D("120.00"), D(5), D(25), D("100.00")),
    ]


def test_the_report_names_the_movements_that_consumed_a_package(
    warehouse, two_packages, alice, clerk
):
    bolt = two_packages
    invoice = sell(warehouse, alice, bolt, 15, clerk)

    rows = selectors.package_consumptions(product=bolt, package_number="P2")

    assert [(c.movement.action, c.quantity, c.unit_cost, c.movement.reference) for c in rows] == [
        ("sell", D(5), D("4.00"), invoice.number)
    ]


def test_the_report_filters_by_product_warehouse_and_received_dates(
    warehouse, north, dock, stock, two_packages
):
    bolt = two_packages
    nut = ProductFactory(sku="NUT-1")
    package_in(dock, nut, 5, "5.00", "N1", now=DAY3)
    stock_booking.stock_move(
        actor=None, product=bolt, source=stock, destination=storage_of(north), quantity=D(3)
    )

    def report(**criteria):
        return [
            (r["product__sku"], r["warehouse__code"], r["package_number"])
            for r in selectors.fifo_report(**criteria)
        ]

    assert report(product=nut) == [("NUT-1", "main", "N1")]
    assert report(warehouse=north) == [("BOLT-1", "north", "P1")]
    assert report(date_from=date(2025, 3, 2)) == [
        ("BOLT-1", "main", "P2"),
        ("NUT-1", "main", "N1"),
    ]
    assert report(date_to=date(2025, 3, 1), warehouse=warehouse) == [("BOLT-1", "main", "P1")]


def test_the_report_totals_agree_with_the_moving_average_quantities(
    warehouse, north, dock, stock, two_packages, modem, alice, clerk
):
    """After sales, a return, a transfer, a dispatch and a write-off, both valuations own as much.

    Per product and warehouse, and in total, the report's remaining quantity
    equals in hand + dispatched + rented of the balance.
    """
    bolt = two_packages
    package_in(dock, modem, None, "150.00", "M1", serials=["S-1", "S-2", "S-3"], now=DAY1)
    put_away(dock, stock, modem, serials=["S-1", "S-2", "S-3"])
    invoice = sell(warehouse, alice, bolt, 15, clerk)
    credit = billing.creditnote_create(
        actor=clerk,
        invoice=invoice,
        return_location=stock,
        lines=[billing.CreditLineInput(invoice_line=invoice.lines.get(), quantity=D(4))],
    )
    billing.creditnote_post(credit_note=credit, actor=clerk)
    stock_booking.stock_move(
        actor=None, product=bolt, source=stock, destination=storage_of(north), quantity=D(6)
    )
    order = billing.order_create(
        actor=clerk,
        party=alice,
        warehouse=warehouse,
        lines=[billing.LineInput(product=bolt, quantity=D(3))],
    )
    billing.order_confirm(order=order, actor=clerk)
    billing.order_dispatch(order=order, actor=clerk)
    stock_booking.stock_remove(
        actor=None, product=modem, location=stock, serials=["S-2"], reason="Dropped"
    )
    sell(warehouse, alice, modem, 1, clerk)

    report = defaultdict(Decimal)
    for row in selectors.fifo_report():
        report[(row["product__sku"], row["warehouse__code"])] += row["remaining"]
    owned = {
        (s.product.sku, s.warehouse.code): s.ownership
        for s in WarehouseStock.objects.select_related("product", "warehouse")
    }
    assert dict(report) == owned
    assert owned == {
        ("BOLT-1", "main"): D(23),  # 40 − 15 + 4 − 6; the 3 dispatched still owned
        ("BOLT-1", "north"): D(6),
        ("MOD-1", "main"): D(1),  # 3 − 1 written off − 1 sold
    }
    assert sum(report.values()) == sum(owned.values())
    layers_agree_with_ownership()


# --------------------------------------------------------------------------- packages


def test_putting_a_whole_package_away_takes_it_off_the_waiting_list(dock, stock, bolt):
    package_in(dock, bolt, 10, "20.00", "P1")

    put_away(dock, stock, bolt, 10)

    package = IncomingPackage.objects.get(number="P1")
    assert (package.put_away, package.waiting) == (D(10), D(0))
    assert list(selectors.package_waiting_list()) == []


def test_putting_part_of_a_package_away_leaves_the_rest_waiting(dock, stock, bolt):
    package_in(dock, bolt, 10, "20.00", "P1")

    put_away(dock, stock, bolt, 4)

    [package] = selectors.package_waiting_list()
    assert (package.number, package.put_away, package.waiting) == ("P1", D(4), D(6))


def test_counted_goods_are_put_away_from_the_oldest_package_first(dock, stock, bolt):
    package_in(dock, bolt, 10, "20.00", "P1", now=DAY1)
    package_in(dock, bolt, 30, "120.00", "P2", now=DAY2)

    put_away(dock, stock, bolt, 15)

    waiting = [(p.number, p.put_away, p.waiting) for p in selectors.package_waiting_list()]
    assert waiting == [("P2", D(5), D(25))]


def test_putting_away_a_chosen_package_credits_it_first(dock, stock, bolt):
    """Putting away 12 from P2 credits P2 fully, then the oldest other package for the rest."""
    package_in(dock, bolt, 10, "20.00", "P1", now=DAY1)
    package_in(dock, bolt, 10, "40.00", "P2", now=DAY2)
    chosen = IncomingPackage.objects.get(number="P2")

    movements = put_away(dock, stock, bolt, 12, package=chosen)

    waiting = [(p.number, p.put_away, p.waiting) for p in selectors.package_waiting_list()]
    assert waiting == [("P1", D(2), D(8))]
    assert movements[0].package == chosen


def test_goods_found_in_an_incoming_location_arrive_as_a_package(warehouse, dock, bolt):
    """A count that finds more in incoming opens a package, so the list adds up."""
    package_in(dock, bolt, 5, "10.00", "P1", now=DAY1)

    services.stock_adjust(
        actor=None, product=bolt, location=dock, counted=D(7), reason="Count", now=DAY2
    )

    packages = {p.number: p.waiting for p in selectors.package_waiting_list()}
    assert packages == {"P1": D(5), f"ADJ-{DAY2:%Y%m%d}": D(2)}
    assert sum(packages.values()) == position_of(bolt, dock)


def test_devices_of_a_traceable_package_are_put_away_by_serial(dock, stock, modem):
    """Serials name their package: putting away S-5 credits M2 though M1 is older."""
    package_in(dock, modem, None, "150.00", "M1", serials=["S-1", "S-2", "S-3"], now=DAY1)
    package_in(dock, modem, None, "160.00", "M2", serials=["S-4", "S-5"], now=DAY2)

    put_away(dock, stock, modem, serials=["S-5", "S-2"])

    waiting = [(p.number, p.put_away, p.waiting) for p in selectors.package_waiting_list()]
    assert waiting == [("M1", D(1), D(2)), ("M2", D(1), D(1))]
    assert Device.objects.get(serial="S-5").location == stock


def test_goods_booked_straight_into_storage_with_a_package_number_are_not_waiting(
    warehouse, stock, bolt
):
    """A numbered package booked into storage opens its layer and is put away at once."""
    package_in(stock, bolt, 10, "20.00", "P9")

    package = IncomingPackage.objects.get(number="P9")
    assert package.waiting == D(0)
    assert list(selectors.package_waiting_list()) == []
    assert layers(bolt, warehouse) == [("P9", D(10), D(10), D("2.00"))]


def test_packages_without_a_number_are_numbered_from_the_reference_then_the_date(dock, bolt):
    package_in(dock, bolt, 1, "1.00", ref="DN-7", now=DAY1)
    package_in(dock, bolt, 1, "1.00", ref="DN-7", now=DAY1)
    package_in(dock, bolt, 1, "1.00", now=DAY1)

    numbers = IncomingPackage.objects.order_by("id").values_list("number", flat=True)
    assert list(numbers) == ["DN-7", "DN-7-2", "20250301"]
    assert [n for n, *_ in layers(bolt, dock.warehouse)] == ["DN-7", "DN-7-2", "20250301"]


def test_a_package_number_given_twice_is_refused_and_books_nothing(dock, bolt):
    package_in(dock, bolt, 1, "1.00", "P1")
    before = (Movement.objects.count(), CostLayer.objects.count())

    with pytest.raises(InvalidPackage, match="Package P1 of BOLT-1 was booked already"):
        package_in(dock, bolt, 2, "2.00", "P1")

    assert (Movement.objects.count(), CostLayer.objects.count()) == before
