"""Refusals of the devices' services: each lands under the field it concerns, and what a
document's reservation, a sold or rented device and a reservation's warehouse refuse.

A refused booking changes nothing: not the device, its history, nor the ledger.
"""

from decimal import Decimal as D

import pytest

from devices import services, stock_booking
from devices.exceptions import IllegalTransition, InvalidDeviceLocation
from devices.models import DeviceEvent, State
from devices.states import TRANSITIONS
from devices.views import DIALOGS, _form_error
from tests.devices.factories import (
    World,
    device_in_state,
    device_snapshot,
    transition,
    world_create,
)
from tests.warehouse.factories import (
    ProductFactory,
    WarehouseFactory,
    book_in,
    ledger_snapshot,
    storage_of,
)
from warehouse.forms import StockIsolateForm, StockRemoveForm

pytestmark = pytest.mark.django_db

S = State
DOCUMENT = "ORD-000042"


@pytest.fixture
def w() -> World:
    return world_create()


@pytest.fixture
def screws(w):
    """50 counted screws in main/STOCK."""
    product = ProductFactory(sku="SCR-1", name="Screw")
    book_in(w.stock, product, 50)
    return product


def _refusal(call):
    """The error the call is refused with, after checking it changed nothing."""
    before = ledger_snapshot()
    with pytest.raises(Exception) as refused:  # noqa: PT011 - the caller checks which
        call()
    assert ledger_snapshot() == before
    return refused.value


def _shown_under(dialog: str, device, exc) -> list[str]:
    """The messages the device dialog shows under the refusal's field, as the view puts it."""
    form = DIALOGS[dialog].form_class({}, device=device)
    form.is_valid()
    _form_error(form, exc)
    return form.errors.get(exc.field, [])


# --------------------------------------------------------------------------- under their field


def test_devices_found_without_a_reason_are_refused_under_reason(w):
    """An adjustment up of devices that does not say why is refused on its reason."""
    exc = _refusal(
        lambda: stock_booking.device_adjust_in(
            actor=w.actor, product=w.modem, location=w.stock, serials=["S9"], reason="  "
        )
    )

    assert (exc.field, exc.message) == ("reason", "Say why the devices are added.")


@pytest.mark.parametrize(
    ("booking", "form_class", "message"),
    [
        ("stock_isolate", StockIsolateForm, "Say why the goods are isolated."),
        ("stock_remove", StockRemoveForm, "Say why the goods are removed."),
    ],
)
def test_devices_isolated_or_removed_without_a_reason_are_refused_under_reason(
    w, booking, form_class, message
):
    """Isolating or removing devices without a reason: the page's Reason field shows it."""
    device = device_in_state(w, S.NEW)
    where = {"stock_isolate": {"quarantine": w.quarantine}, "stock_remove": {}}[booking]
    call = getattr(stock_booking, booking)

    exc = _refusal(
        lambda: call(
            actor=w.actor,
            product=w.modem,
            location=w.stock,
            serials=[device.serial],
            reason=" ",
            **where,
        )
    )

    assert (exc.field, exc.message) == ("reason", message)
    assert exc.field in form_class(product=w.modem).fields


def test_a_traceable_part_is_refused_under_part(w):
    """Installing a traceable product as a part: the Assemble dialog says so under Part."""
    device = device_in_state(w, S.NEW)
    device_in_state(w, S.NEW, "S2")

    exc = _refusal(
        lambda: services.device_assemble(
            device=device, part=w.modem, quantity=D(1), source=w.stock, actor=None
        )
    )

    assert exc.message == "MOD-1 is traceable: a device is not installed as a part."
    assert exc.message in _shown_under("assemble", device, exc)
    assert exc.field == "part"


def test_a_part_not_taken_from_storage_is_refused_under_its_source(w, screws):
    """Parts come from storage: a quarantine as the source is refused under Taken from."""
    device = device_in_state(w, S.NEW)

    exc = _refusal(
        lambda: services.device_assemble(
            device=device, part=screws, quantity=D(1), source=w.quarantine, actor=None
        )
    )

    assert isinstance(exc, InvalidDeviceLocation)
    assert exc.field == "source"
    assert exc.message in _shown_under("assemble", device, exc)


def test_a_part_taken_out_into_incoming_is_refused_under_its_destination(w, screws):
    """A removed part goes to storage or quarantine: incoming is refused under Back into."""
    device = device_in_state(w, S.NEW)
    services.device_assemble(device=device, part=screws, quantity=D(2), source=w.stock, actor=None)

    exc = _refusal(
        lambda: services.device_disassemble(
            device=device, part=screws, quantity=D(1), destination=w.incoming, actor=None
        )
    )

    assert isinstance(exc, InvalidDeviceLocation)
    assert exc.field == "destination"
    assert exc.message in _shown_under("disassemble", device, exc)


# --------------------------------------------------------------------------- reserved devices


def _reserved(w: World):
    device = device_in_state(w, S.NEW)
    device_in_state(w, S.NEW, "S2")  # a free unit beside it: stock alone would not refuse
    return services.device_reserve(
        device=device, document=DOCUMENT, warehouse_id=w.warehouse.pk, actor=w.actor
    )


def _booking(name: str, w: World, device):
    common = {"actor": w.actor, "product": w.modem, "serials": [device.serial], "reason": "x"}
    return {
        "write_off": lambda: transition(device, "write_off", reason="lost"),
        "block": lambda: transition(device, "block", reason="dent"),
        "move": lambda: transition(device, "move", location=w.shelf),
        "isolate": lambda: transition(device, "move", location=w.quarantine),
        "stock_remove": lambda: stock_booking.stock_remove(location=w.stock, **common),
        "stock_move": lambda: stock_booking.stock_move(
            source=w.stock, destination=w.shelf, **common
        ),
        "stock_isolate": lambda: stock_booking.stock_isolate(
            location=w.stock, quarantine=w.quarantine, **common
        ),
    }[name]


@pytest.mark.parametrize(
    "action",
    ["write_off", "block", "move", "isolate", "stock_remove", "stock_move", "stock_isolate"],
)
def test_a_device_reserved_by_a_document_cannot_be_taken_from_under_it(w, action):
    """Writing off, blocking, moving or isolating a device an order holds, from its page or
    the stock pages, is refused naming the order; device, history and ledger stay as they were."""
    device = _reserved(w)
    before = device_snapshot(device)

    exc = _refusal(_booking(action, w, device))

    assert isinstance(exc, IllegalTransition), exc
    assert exc.message.startswith(f"MOD-1 #S1 is reserved by {DOCUMENT}: “")
    assert device_snapshot(device) == before


def test_a_device_reserved_by_a_document_cannot_be_transferred(w):
    """Transfer starts from Sold or Own devices, which the database never lets a document
    hold: its row refuses a reservation all the same, should that ever change."""
    assert TRANSITIONS["transfer"].refused_reserved
    assert not ({S.NEW, S.USED, S.DISPATCHED} & TRANSITIONS["transfer"].sources)


@pytest.mark.parametrize("action", ["dispatch", "sell", "rent"])
def test_a_device_reserved_by_one_document_is_not_reserved_by_another(w, action):
    """Another document that would dispatch, sell or rent a held device is refused when it
    reserves it, naming the holder; the holder's own dispatch, sale or rental goes on."""
    device = _reserved(w)
    before = device_snapshot(device)

    with pytest.raises(IllegalTransition, match=f"reserved by {DOCUMENT}: “reserve”"):
        services.device_reserve(device=device, document="INV-000007", warehouse_id=w.warehouse.pk)
    assert device_snapshot(device) == before

    done = services.device_transition(
        device=device, action=action, party=w.bob, actor=w.actor, reference=DOCUMENT
    )
    assert done.device.state == TRANSITIONS[action].target


def test_a_device_reserved_twice_for_one_document_is_held_once(w):
    """Reserving a device again for the document that holds it books nothing more."""
    device = _reserved(w)
    before = device_snapshot(device)

    again = services.device_reserve(device=device, document=DOCUMENT, warehouse_id=w.warehouse.pk)

    assert again.reserved_by == DOCUMENT
    assert device_snapshot(device) == before
    assert DeviceEvent.objects.filter(device=device, action="reserve").count() == 1


def test_a_device_in_another_warehouse_s_storage_is_not_reserved(w):
    """A document of the main warehouse cannot hold a device stored at north."""
    north = WarehouseFactory(code="north")
    device = device_in_state(w, S.NEW, location=storage_of(north))
    before = device_snapshot(device)

    with pytest.raises(InvalidDeviceLocation, match="not in storage of the document's warehouse"):
        services.device_reserve(device=device, document=DOCUMENT, warehouse_id=w.warehouse.pk)

    assert device_snapshot(device) == before
    assert device_snapshot(device)["device"]["reserved_by"] == ""


# --------------------------------------------------------------------------- parts of devices out


@pytest.mark.parametrize(("action", "label"), [("sell", "Sold"), ("rent", "Rented")])
def test_parts_are_not_taken_out_of_a_sold_or_rented_device(w, screws, action, label):
    """A device sold or rented keeps its parts: taking one out is refused, nothing moves."""
    device = device_in_state(w, S.NEW)
    services.device_assemble(device=device, part=screws, quantity=D(2), source=w.stock, actor=None)
    device = transition(device, action, party=w.bob)
    before = device_snapshot(device)

    exc = _refusal(
        lambda: services.device_disassemble(
            device=device, part=screws, quantity=D(1), destination=w.stock, actor=None
        )
    )

    assert isinstance(exc, IllegalTransition), exc
    assert exc.message == f"MOD-1 #S1 is {label}: “take parts out of” is not allowed."
    assert device_snapshot(device) == before
    assert device.parts.get().quantity == 2
