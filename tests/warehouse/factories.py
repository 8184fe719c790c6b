"""Reference data factories. Stock itself is always made by calling the services."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from warehouse import services
from warehouse.models import Location, Party, Product, Warehouse


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
