"""Device helpers: reference data by factories, devices always through the services."""

from dataclasses import dataclass
from decimal import Decimal

import factory

from devices import services, stock_booking
from devices.models import Characteristic, Device, DeviceEvent, DeviceStatus, State
from tests.warehouse.factories import (
    LocationFactory,
    PartyFactory,
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    storage_of,
)
from warehouse.models import Location, Movement, Party, Product, WarehouseStock
from warehouse.services import StockInLine, virtual_location

Kind = Location.Kind


class DeviceStatusFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeviceStatus

    state = State.USED
    name = factory.Sequence(lambda n: f"status {n}")


class CharacteristicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Characteristic

    product = factory.SubFactory(ProductFactory, traceable=True)
    name = factory.Sequence(lambda n: f"characteristic {n}")
    type = Characteristic.Type.TEXT


@dataclass
class World:
    """One warehouse with its places, a traceable product, the parties and a clerk."""

    warehouse: object
    stock: Location  # main/STOCK, storage
    shelf: Location  # main/SHELF, storage
    incoming: Location
    quarantine: Location
    modem: Product  # traceable
    alice: Party  # contact
    bob: Party  # contact
    acme: Party  # merchant
    actor: object

    def virtual(self, kind) -> Location:
        return virtual_location(warehouse=self.warehouse, kind=kind)


def world_create() -> World:
    warehouse = WarehouseFactory(code="main", name="Main warehouse")
    return World(
        warehouse=warehouse,
        stock=storage_of(warehouse),
        shelf=LocationFactory(warehouse=warehouse, code="SHELF", kind=Kind.STORAGE),
        incoming=LocationFactory(warehouse=warehouse, code="IN", kind=Kind.INCOMING),
        quarantine=LocationFactory(warehouse=warehouse, code="QUAR", kind=Kind.QUARANTINE),
        modem=ProductFactory(sku="MOD-1", name="Modem", traceable=True),
        alice=PartyFactory(name="Alice", kind=Party.Kind.CONTACT),
        bob=PartyFactory(name="Bob", kind=Party.Kind.CONTACT),
        acme=PartyFactory(name="Acme Telecom", kind=Party.Kind.MERCHANT),
        actor=UserFactory(username="stella"),
    )


def devices_in(location, product, *serials, actor=None, unit_cost="10.00", **kwargs):
    """Stock-in of serial-numbered units through the devices service; the new devices back."""
    stock_booking.stock_in(
        actor=actor,
        location=location,
        lines=[
            StockInLine(
                product=product,
                quantity=Decimal(len(serials)),
                unit_cost=Decimal(unit_cost),
                serials=tuple(serials),
            )
        ],
        **kwargs,
    )
    return [Device.objects.get(product=product, serial=s) for s in serials]


def transition(device, action, *, actor=None, **kwargs) -> Device:
    return services.device_transition(device=device, action=action, actor=actor, **kwargs).device


def device_in_state(w: World, state, serial="S1", *, location=None) -> Device:
    """A device brought to `state` the way it happens in real life, through the services.

    Used devices came back from a rental; Sold ones were sold to the merchant
    Acme; own devices are Alice's.
    """
    location = location or w.stock
    if state == State.OWN:
        return services.device_register_own(
            actor=w.actor, product=w.modem, serial=serial, party=w.alice
        )
    (device,) = devices_in(location, w.modem, serial, actor=w.actor)
    steps = {
        State.NEW: [],
        State.USED: [("rent", {"party": w.alice}), ("return_rental", {"location": location})],
        State.BLOCKED: [("block", {})],
        State.DISPATCHED: [("dispatch", {"party": w.bob})],
        State.RENTED: [("rent", {"party": w.alice})],
        State.SOLD: [("sell", {"party": w.acme})],
        State.WRITTEN_OFF: [("write_off", {"reason": "lost"})],
    }[state]
    for action, kwargs in steps:
        device = transition(device, action, actor=w.actor, **kwargs)
    assert device.state == state
    return device


def reserve(product, warehouse, quantity):
    # Reservations arrive with billing; until then the column is set directly.
    WarehouseStock.objects.filter(product=product, warehouse=warehouse).update(
        reserved=Decimal(quantity)
    )


def balance(product, warehouse) -> WarehouseStock:
    return WarehouseStock.objects.get(product=product, warehouse=warehouse)


def device_snapshot(device) -> dict:
    """What a refused action must leave as it was: the device's row, history and the ledger."""
    row = Device.objects.filter(pk=device.pk).values().get()
    row.pop("updated_at")
    return {
        "device": row,
        "events": DeviceEvent.objects.filter(device_id=device.pk).count(),
        "movements": Movement.objects.count(),
        "balances": list(WarehouseStock.objects.order_by("pk").values()),
    }
