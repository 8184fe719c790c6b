"""Billing helpers: reference data by factories, stock and documents through the services.

The books are checked the way an auditor would: the open reservations add up
to the reserved column, every cached position equals Σ in − Σ out of the
ledger, and every balance column equals the positions of its kind.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Sum

from billing import services
from billing.models import CreditNote, Invoice, Order, OrderLine, Rental
from devices import stock_booking
from devices.models import Device
from tests.warehouse.factories import (
    LocationFactory,
    PartyFactory,
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    storage_of,
)
from warehouse.models import (
    Location,
    Movement,
    Party,
    Product,
    Reservation,
    StockPosition,
    Warehouse,
    WarehouseStock,
)
from warehouse.services import StockInLine, virtual_location

Kind = Location.Kind
D = Decimal


@dataclass
class Shop:
    """One warehouse with two storage shelves and a quarantine, three products, a customer."""

    warehouse: Warehouse
    stock: Location  # main/STOCK, storage
    shelf: Location  # main/SHELF, storage
    quarantine: Location  # main/QUAR
    cable: Product  # counted, by the metre, sold at 2.50
    router: Product  # counted, in pieces, sold at 80.00
    modem: Product  # traceable, sold at 120.00, rented at 15.00
    alice: Party
    clerk: object

    def virtual(self, kind) -> Location:
        return virtual_location(warehouse=self.warehouse, kind=kind)


def shop_create() -> Shop:
    warehouse = WarehouseFactory(code="main", name="Main warehouse")
    return Shop(
        warehouse=warehouse,
        stock=storage_of(warehouse),
        shelf=LocationFactory(warehouse=warehouse, code="SHELF", kind=Kind.STORAGE),
        quarantine=LocationFactory(warehouse=warehouse, code="QUAR", kind=Kind.QUARANTINE),
        cable=ProductFactory(
            sku="CAB-1", name="Cable", unit=Product.Unit.METRE, sale_price=D("2.50")
        ),
        router=ProductFactory(sku="RTR-1", name="Router", sale_price=D("80.00")),
        modem=ProductFactory(
            sku="MOD-1",
            name="Modem",
            traceable=True,
            sale_price=D("120.00"),
            rental_price=D("15.00"),
        ),
        alice=PartyFactory(name="Alice"),
        clerk=UserFactory(username="carl"),
    )


def goods_in(location, product, quantity, unit_cost="4.00", *, actor=None):
    """Counted goods booked in from a supplier through the service."""
    return stock_booking.stock_in(
        actor=actor,
        location=location,
        lines=[StockInLine(product=product, quantity=D(str(quantity)), unit_cost=D(unit_cost))],
    )


def devices_in(location, product, *serials, unit_cost="50.00", actor=None) -> list[Device]:
    """Serial-numbered units booked in through the devices service; the New devices back."""
    stock_booking.stock_in(
        actor=actor,
        location=location,
        lines=[
            StockInLine(
                product=product,
                quantity=D(len(serials)),
                unit_cost=D(unit_cost),
                serials=tuple(serials),
            )
        ],
    )
    return [Device.objects.get(product=product, serial=s) for s in serials]


def sale(product, quantity, **kwargs) -> services.LineInput:
    return services.LineInput(product=product, quantity=D(str(quantity)), **kwargs)


def rental(product, quantity=1, **kwargs) -> services.LineInput:
    return services.LineInput(
        product=product, quantity=D(str(quantity)), kind=OrderLine.Kind.RENTAL, **kwargs
    )


def order_create(shop: Shop, *lines, party=None) -> Order:
    return services.order_create(
        actor=shop.clerk, party=party or shop.alice, warehouse=shop.warehouse, lines=lines
    )


def invoice_create(shop: Shop, *lines, party=None):
    return services.invoice_create(
        actor=shop.clerk, party=party or shop.alice, warehouse=shop.warehouse, lines=lines
    )


def balance(product, warehouse) -> WarehouseStock:
    """The product's balance in the warehouse, fresh from the database (zeros if none)."""
    row = WarehouseStock.objects.filter(product=product, warehouse=warehouse).first()
    return row or WarehouseStock(product=product, warehouse=warehouse)


def position(product, location) -> Decimal:
    row = StockPosition.objects.filter(product=product, location=location).first()
    return row.quantity if row else D(0)


def ledger(reference: str):
    """The movements a document caused, oldest first, as (action, source, destination, qty)."""
    return [
        (m.action, m.source.code, m.destination.code, m.quantity, m.serial)
        for m in Movement.objects.filter(reference=reference)
        .select_related("source", "destination")
        .order_by("id")
    ]


def books_check() -> None:
    """The books agree with themselves; called after every step of a test.

    Σ open reservations per (product, warehouse) = WarehouseStock.reserved;
    each cached position = Σ in − Σ out of the ledger; each balance column =
    the positions of its kinds; nothing reserved beyond what may be reserved.
    """
    open_ = defaultdict(Decimal)
    for row in (
        Reservation.objects.filter(status=Reservation.Status.OPEN)
        .values("product_id", "warehouse_id")
        .annotate(total=Sum("quantity"))
    ):
        open_[(row["product_id"], row["warehouse_id"])] = row["total"]
    stocks = {(s.product_id, s.warehouse_id): s for s in WarehouseStock.objects.all()}
    reserved = {key: s.reserved for key, s in stocks.items() if s.reserved}
    assert reserved == {key: total for key, total in open_.items() if total}, (
        "open reservations and reserved columns disagree"
    )

    positions = {
        (p.product_id, p.location_id): p.quantity for p in StockPosition.objects.all() if p.quantity
    }
    assert positions == {key: q for key, q in _ledger_sums().items() if q}, (
        "positions and ledger disagree"
    )

    columns = {
        "in_hand": (Kind.STORAGE, Kind.INCOMING, Kind.QUARANTINE),
        "in_storage": (Kind.STORAGE,),
        "dispatched": (Kind.DISPATCHED,),
        "rented": (Kind.RENTED,),
    }
    sums = defaultdict(Decimal)
    for p in StockPosition.objects.all():
        for column, kinds in columns.items():
            if p.location_kind in kinds:
                sums[(p.product_id, p.warehouse_id, column)] += p.quantity
    for key, s in stocks.items():
        for column in columns:
            assert getattr(s, column) == sums[(*key, column)], f"{s}: {column} disagrees"
        assert 0 <= s.reserved <= s.in_storage - s.blocked, f"{s}: reserved beyond storage"


def _ledger_sums() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT product_id, location_id, SUM(quantity) FROM (
                SELECT product_id, destination_id AS location_id, quantity FROM warehouse_movement
                UNION ALL
                SELECT product_id, source_id, -quantity FROM warehouse_movement
            ) AS legs
            GROUP BY product_id, location_id
            """
        )
        return {(product, location): total for product, location, total in cursor.fetchall()}


def snapshot() -> dict:
    """What a refused step must leave as it was: documents, reservations, devices, ledger."""
    return {
        "orders": list(Order.objects.order_by("pk").values("pk", "number", "status")),
        "order_lines": list(OrderLine.objects.order_by("pk").values()),
        "invoices": list(Invoice.objects.order_by("pk").values("pk", "number", "status")),
        "credit_notes": list(CreditNote.objects.order_by("pk").values("pk", "status")),
        "rentals": list(Rental.objects.order_by("pk").values()),
        "reservations": list(Reservation.objects.order_by("pk").values()),
        "devices": list(
            Device.objects.order_by("pk").values(
                "pk", "state", "location_id", "owner_id", "holder_id", "reserved_by"
            )
        ),
        "movements": Movement.objects.count(),
        "balances": list(WarehouseStock.objects.order_by("pk").values()),
    }
