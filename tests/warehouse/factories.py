"""Reference data factories. Stock itself is always made by calling the services."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.db import connection

from warehouse import services
from warehouse.models import (
    Location,
    Movement,
    Party,
    Product,
    StockPosition,
    Warehouse,
    WarehouseStock,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("secret-pass")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    unit = Product.Unit.PIECE
    traceable = False


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party

    name = factory.Sequence(lambda n: f"Party {n}")
    kind = Party.Kind.CONTACT


class WarehouseFactory(factory.django.DjangoModelFactory):
    """A warehouse with its virtual locations and a STOCK storage location."""

    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"wh{n}")
    name = factory.Sequence(lambda n: f"Warehouse {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.warehouse_create(**kwargs)


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    warehouse = factory.SubFactory(WarehouseFactory)
    code = factory.Sequence(lambda n: f"L-{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Shelf {o.code}")
    kind = Location.Kind.STORAGE


def storage_of(warehouse: Warehouse) -> Location:
    return Location.objects.get(warehouse=warehouse, code="STOCK")


def book_in(location, product, quantity, unit_cost="1.00", *, actor=None, serials=(), **kwargs):
    """Stock-in of one product through the service, as a clerk would book it."""
    return services.stock_in(
        actor=actor,
        location=location,
        lines=[
            services.StockInLine(
                product=product,
                quantity=Decimal(str(quantity)) if quantity is not None else None,
                unit_cost=Decimal(str(unit_cost)),
                serials=tuple(serials),
            )
        ],
        **kwargs,
    )


def position_of(product, location) -> Decimal:
    """The cached quantity of a product in a location (0 when it never held any)."""
    position = StockPosition.objects.filter(product=product, location=location).first()
    return position.quantity if position else Decimal("0")


def ledger_snapshot():
    """What a refused booking must leave as it was: the ledger, the positions, the balances."""
    return (
        Movement.objects.count(),
        list(
            StockPosition.objects.order_by("product_id", "location_id").values_list(
                "product_id", "location_id", "quantity"
            )
        ),
        list(WarehouseStock.objects.order_by("product_id", "warehouse_id").values()),
    )


def ledger_balances() -> dict[tuple[int, int], Decimal]:
    """Σ in − Σ out of the ledger per (product id, location id), in one aggregate query."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT product_id, location_id, SUM(quantity) FROM (
                SELECT product_id, destination_id AS location_id, quantity
                FROM warehouse_movement
                UNION ALL
                SELECT product_id, source_id, -quantity FROM warehouse_movement
            ) AS legs
            GROUP BY product_id, location_id
            """
        )
        return {(product, location): total for product, location, total in cursor.fetchall()}


def assert_positions_equal_the_ledger():
    """Every cached position equals the sum of the ledger for its product and location."""
    ledger = ledger_balances()
    positions = {
        (p, loc): q
        for p, loc, q in StockPosition.objects.values_list("product_id", "location_id", "quantity")
    }
    for key in ledger.keys() | positions.keys():
        assert positions.get(key, Decimal(0)) == ledger.get(key, Decimal(0)), key
