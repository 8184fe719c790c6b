"""The device state machine, pair by pair: what each action does from each state.

Every (state, action) pair is tried through the services. The allowed ones
land the device in the state, place, owner and holder DESIGN.md gives; the
refused ones raise IllegalTransition naming the device, its state and the
action, and leave the device, its history and the ledger exactly as they were.
"""

import pytest

from devices import services, stock_booking
from devices.exceptions import DuplicateSerial, IllegalTransition, InvalidOwner
from devices.models import Device, DeviceEvent, State
from devices.states import GIVEN, ORIGIN, PREVIOUS, SAME, TRANSITIONS, allowed_actions
from tests.devices.factories import (
    World,
    balance,
    device_in_state,
    device_snapshot,
    devices_in,
    transition,
    world_create,
)
from tests.warehouse.factories import ledger_snapshot
from warehouse.models import Location, Movement

pytestmark = pytest.mark.django_db

Kind = Location.Kind
S = State

# Places an action may leave the device in: "here" (where it was), "stock"
# (main/STOCK, where every device of these tests is booked in), "shelf" (the
# location given to the action), None (nowhere: an own device), or the kind
# of a virtual location of the warehouse.
HERE, STOCK, SHELF = "here", "stock", "shelf"

# The design's table, written out: (state, action) → (state after, place, owner, holder).
# "bob" is the party the action names; "keep" is the owner before.
ALLOWED = {
    (S.NEW, "block"): (S.BLOCKED, HERE, None, None),
    (S.USED, "block"): (S.BLOCKED, HERE, None, None),
    (S.BLOCKED, "unblock"): (S.NEW, HERE, None, None),  # it was New when blocked
    (S.NEW, "dispatch"): (S.DISPATCHED, Kind.DISPATCHED, None, "bob"),
    (S.USED, "dispatch"): (S.DISPATCHED, Kind.DISPATCHED, None, "bob"),
    (S.DISPATCHED, "undispatch"): (S.NEW, STOCK, None, None),  # dispatched New from STOCK
    (S.NEW, "sell"): (S.SOLD, Kind.SOLD, "bob", None),
    (S.USED, "sell"): (S.SOLD, Kind.SOLD, "bob", None),
    (S.DISPATCHED, "sell"): (S.SOLD, Kind.SOLD, "bob", None),
    (S.NEW, "rent"): (S.RENTED, Kind.RENTED, None, "bob"),
    (S.USED, "rent"): (S.RENTED, Kind.RENTED, None, "bob"),
    (S.DISPATCHED, "rent"): (S.RENTED, Kind.RENTED, None, "bob"),
    (S.RENTED, "return_rental"): (S.USED, SHELF, None, None),
    (S.SOLD, "return"): (S.USED, SHELF, None, None),
    (S.SOLD, "transfer"): (S.SOLD, HERE, "bob", None),
    (S.OWN, "transfer"): (S.OWN, None, "bob", None),
    (S.OWN, "register_own"): (S.OWN, None, "bob", None),
    (S.NEW, "write_off"): (S.WRITTEN_OFF, Kind.ADJUSTMENT, None, None),
    (S.USED, "write_off"): (S.WRITTEN_OFF, Kind.ADJUSTMENT, None, None),
    (S.BLOCKED, "write_off"): (S.WRITTEN_OFF, Kind.ADJUSTMENT, None, None),
    (S.WRITTEN_OFF, "found"): (S.NEW, SHELF, None, None),  # it was New when written off
    (S.NEW, "move"): (S.NEW, SHELF, None, None),
    (S.USED, "move"): (S.USED, SHELF, None, None),
    (S.BLOCKED, "move"): (S.BLOCKED, SHELF, None, None),
}
# Actions that only create a device: never allowed on one that exists.
CREATING = {"stock_in", "adjust_in", "register_own"}
ALL_PAIRS = [(state, action) for state in State for action in TRANSITIONS]
REFUSED = [pair for pair in ALL_PAIRS if pair not in ALLOWED]


@pytest.fixture
def w() -> World:
    return world_create()


def act(w: World, device: Device, action: str) -> Device:
    """Try `action` on the device as a clerk would: Bob is the party, SHELF the place."""
    if action == "register_own":
        return services.device_register_own(
            actor=w.actor, product=device.product, serial=device.serial, party=w.bob
        )
    return transition(
        device, action, actor=w.actor, party=w.bob, location=w.shelf, reason="state table"
    )


def place(w: World, device_before: Device, spec):
    if spec == HERE:
        return device_before.location
    if spec == STOCK:
        return w.stock
    if spec == SHELF:
        return w.shelf
    if spec is None:
        return None
    return w.virtual(spec)


def test_the_table_has_the_designed_actions():
    """The transition table names exactly the actions of DESIGN.md (and moves inside the
    warehouse, and found again); a new action must be added to this test's table too."""
    assert set(TRANSITIONS) == {action for _, action in ALLOWED} | CREATING


@pytest.mark.parametrize("state", list(State))
def test_allowed_actions_of_each_state_match_the_design(state):
    """The actions offered for a device in each state are the design's, no more."""
    assert set(allowed_actions(state)) == {a for s, a in ALLOWED if s == state}


def test_only_creating_actions_start_from_no_device():
    """Stock-in, an adjustment up and registering an own device are how a device begins."""
    assert set(allowed_actions(None)) == CREATING


@pytest.mark.parametrize(("state", "action"), list(ALLOWED))
def test_allowed_transition_lands_device_in_its_state_place_and_hands(w, state, action):
    """An allowed action gives the device the state, place, owner and holder of the table,
    and appends one history event (and one ledger movement when it changes place)."""
    device = device_in_state(w, state)
    events, movements = device.events.count(), Movement.objects.count()
    target, place_spec, owner, holder = ALLOWED[(state, action)]

    act(w, device, action)

    after = Device.objects.get(pk=device.pk)
    assert after.state == target
    assert after.location == place(w, device, place_spec)
    assert after.location_kind == (after.location.kind if after.location else "")
    assert after.owner == (w.bob if owner == "bob" else None)
    assert after.holder == (w.bob if holder == "bob" else None)
    assert after.events.count() == events + 1
    moved = after.location_id != device.location_id
    assert Movement.objects.count() == movements + (1 if moved else 0)
    event = after.events.first()
    assert (event.action, event.from_state, event.to_state) == (action, state, target)
    assert (event.from_location_id, event.to_location_id) == (
        device.location_id,
        after.location_id,
    )
    assert (event.from_owner_id, event.to_owner_id) == (device.owner_id, after.owner_id)
    assert event.actor == w.actor
    if moved:
        assert event.movement.serial == device.serial
        assert (event.movement.source, event.movement.destination) == (
            device.location,
            after.location,
        )


@pytest.mark.parametrize(("state", "action"), REFUSED)
def test_refused_transition_names_device_state_and_action_and_changes_nothing(w, state, action):
    """A refused action says which device, in which state, could not do what; the device,
    its history and the ledger are untouched."""
    device = device_in_state(w, state)
    before = device_snapshot(device)

    with pytest.raises(IllegalTransition) as refused:
        act(w, device, action)

    message = refused.value.message
    assert "MOD-1 #S1" in message
    assert f"is {State(state).label}" in message
    words = "register as an own device" if action == "register_own" else TRANSITIONS[action].label
    assert words in message
    assert device_snapshot(device) == before


@pytest.mark.parametrize("state", [s for s in State if s != S.OWN])
def test_an_existing_serial_is_never_stocked_in_again(w, state):
    """Booking in a serial the product already has, whatever its state, is refused naming
    the serial and its state; nothing is booked."""
    device_in_state(w, state)
    before = ledger_snapshot()

    with pytest.raises(DuplicateSerial, match=rf"MOD-1 already has .*S1 \({State(state).label}\)"):
        devices_in(w.stock, w.modem, "S1", "S2")

    assert ledger_snapshot() == before
    assert Device.objects.count() == 1


def test_stock_in_creates_a_new_device_owned_by_the_business_in_its_location(w):
    """A booked-in serial is a New device in the location it was booked into, ours."""
    (device,) = devices_in(w.incoming, w.modem, "S9", actor=w.actor)

    assert (device.state, device.location, device.owner, device.holder) == (
        S.NEW,
        w.incoming,
        None,
        None,
    )
    event = device.events.get()
    assert (event.action, event.from_state, event.to_state) == ("stock_in", "", S.NEW)


# --------------------------------------------------------------------------- block and unblock


@pytest.mark.parametrize("state", [S.NEW, S.USED])
def test_unblocking_gives_back_the_state_before_the_block(w, state):
    """A Used device blocked and unblocked is Used again; a New one is New again."""
    device = device_in_state(w, state)
    transition(device, "block", actor=w.actor, reason="suspect")

    after = transition(device, "unblock", actor=w.actor)

    assert (after.state, after.location) == (state, w.stock)
    assert balance(w.modem, w.warehouse).blocked == 0


def test_a_blocked_device_moved_to_quarantine_unblocks_there_in_its_earlier_state(w):
    """Moving a blocked device does not change what unblocking gives back."""
    device = device_in_state(w, S.USED)
    transition(device, "block", actor=w.actor)
    transition(device, "move", actor=w.actor, location=w.quarantine)

    after = transition(device, "unblock", actor=w.actor)

    assert (after.state, after.location) == (S.USED, w.quarantine)


def test_unblocking_after_several_blocks_uses_the_latest(w):
    """New, blocked, unblocked, rented, returned Used, blocked again: unblocking gives Used."""
    device = device_in_state(w, S.NEW)
    transition(device, "block", actor=w.actor)
    transition(device, "unblock", actor=w.actor)
    transition(device, "rent", actor=w.actor, party=w.alice)
    transition(device, "return_rental", actor=w.actor, location=w.stock)
    transition(device, "block", actor=w.actor)

    assert transition(device, "unblock", actor=w.actor).state == S.USED


# --------------------------------------------------------------------------- dispatch undone


@pytest.mark.parametrize(("state", "origin"), [(S.NEW, "stock"), (S.USED, "shelf")])
def test_undoing_a_dispatch_brings_the_device_back_as_it_was(w, state, origin):
    """Cancelling a dispatch returns the device to the state and location it left."""
    location = getattr(w, origin)
    device = device_in_state(w, state, location=location)
    transition(device, "dispatch", actor=w.actor, party=w.alice, reference="ORD-000001")
    assert balance(w.modem, w.warehouse).dispatched == 1

    after = transition(device, "undispatch", actor=w.actor, reference="ORD-000001")

    assert (after.state, after.location, after.holder, after.owner) == (
        state,
        location,
        None,
        None,
    )
    stock = balance(w.modem, w.warehouse)
    assert (stock.dispatched, stock.in_storage) == (0, 1)
    assert after.events.first().movement.action == Movement.Action.UNDISPATCH


# --------------------------------------------------------------------------- ownership


def test_ownership_passes_from_a_merchant_to_a_contact(w):
    """A device sold to a merchant can be transferred to a contact; it stays Sold."""
    device = device_in_state(w, S.SOLD)  # sold to Acme, a merchant
    movements = Movement.objects.count()

    after = transition(device, "transfer", actor=w.actor, party=w.alice, reason="resold")

    assert (after.state, after.owner, after.location) == (S.SOLD, w.alice, w.virtual(Kind.SOLD))
    event = after.events.first()
    assert (event.kind, event.from_owner, event.to_owner) == (
        DeviceEvent.Kind.OWNER,
        w.acme,
        w.alice,
    )
    assert Movement.objects.count() == movements


@pytest.mark.parametrize("state", [S.SOLD, S.OWN])
def test_ownership_passes_from_a_contact_to_a_contact(w, state):
    """Alice's device (bought or her own) can be transferred to Bob."""
    device = device_in_state(w, state)
    if state == S.SOLD:
        device = transition(device, "transfer", actor=w.actor, party=w.alice)

    after = transition(device, "transfer", actor=w.actor, party=w.bob)

    assert (after.state, after.owner) == (state, w.bob)


@pytest.mark.parametrize("state", [S.SOLD, S.OWN])
def test_ownership_never_passes_to_a_merchant(w, state):
    """Transferring a device to a merchant is refused, saying who the merchant is."""
    device = device_in_state(w, state)
    if state == S.SOLD:
        device = transition(device, "transfer", actor=w.actor, party=w.alice)
    before = device_snapshot(device)

    with pytest.raises(InvalidOwner, match="Acme Telecom is a merchant"):
        transition(device, "transfer", actor=w.actor, party=w.acme)

    assert device_snapshot(device) == before


def test_ownership_cannot_pass_to_its_owner(w):
    """Transferring Alice's own device to Alice is refused."""
    device = device_in_state(w, S.OWN)

    with pytest.raises(InvalidOwner, match="Alice owns MOD-1 #S1 already"):
        transition(device, "transfer", actor=w.actor, party=w.alice)


def test_a_transfer_names_the_new_owner(w):
    """Transferring without saying to whom is refused."""
    device = device_in_state(w, S.OWN)

    with pytest.raises(InvalidOwner, match="Choose the party"):
        transition(device, "transfer", actor=w.actor)


# --------------------------------------------------------------------------- own devices


def test_a_registered_own_device_is_the_contacts_and_nowhere_in_the_warehouse(w):
    """Registering an own device makes it Alice's, in no location, with no ledger line."""
    device = services.device_register_own(
        actor=w.actor, product=w.modem, serial="OWN-1", party=w.alice, reason="brought in"
    )

    assert (device.state, device.owner, device.location, device.location_kind) == (
        S.OWN,
        w.alice,
        None,
        "",
    )
    assert not Movement.objects.exists()
    event = device.events.get()
    assert (event.action, event.to_state, event.to_owner, event.actor) == (
        "register_own",
        S.OWN,
        w.alice,
        w.actor,
    )


def test_an_own_device_registered_by_another_contact_changes_owner(w):
    """The last contact to register an own device owns it."""
    device = device_in_state(w, S.OWN, "OWN-1")  # Alice's

    after = services.device_register_own(
        actor=w.actor, product=w.modem, serial="OWN-1", party=w.bob
    )

    assert (after.pk, after.state, after.owner) == (device.pk, S.OWN, w.bob)
    event = after.events.first()
    assert (event.kind, event.from_owner, event.to_owner) == (
        DeviceEvent.Kind.OWNER,
        w.alice,
        w.bob,
    )


def test_registering_an_own_device_twice_by_the_same_contact_is_refused(w):
    """Alice registering her own device again is refused; nothing changes."""
    device = device_in_state(w, S.OWN, "OWN-1")
    before = device_snapshot(device)

    with pytest.raises(InvalidOwner, match="Alice has registered MOD-1 #OWN-1 already"):
        services.device_register_own(actor=w.actor, product=w.modem, serial="OWN-1", party=w.alice)

    assert device_snapshot(device) == before


def test_a_merchant_never_registers_an_own_device(w):
    """Own devices belong to contacts: a merchant's registration is refused."""
    device_in_state(w, S.OWN, "OWN-1")

    with pytest.raises(InvalidOwner, match="Acme Telecom is a merchant"):
        services.device_register_own(actor=w.actor, product=w.modem, serial="NEW", party=w.acme)
    with pytest.raises(InvalidOwner, match="Acme Telecom is a merchant"):
        services.device_register_own(actor=w.actor, product=w.modem, serial="OWN-1", party=w.acme)
    with pytest.raises(InvalidOwner, match="Acme Telecom is a merchant"):
        transition(Device.objects.get(serial="OWN-1"), "register_own", party=w.acme)
    assert Device.objects.get().owner == w.alice


def test_an_own_device_is_never_stocked_in(w):
    """Booking in a serial registered as a customer's own device is refused naming it."""
    device_in_state(w, S.OWN, "OWN-1")
    before = ledger_snapshot()

    with pytest.raises(DuplicateSerial, match="MOD-1: OWN-1 is a customer’s own device"):
        devices_in(w.stock, w.modem, "S1", "OWN-1")
    with pytest.raises(DuplicateSerial, match="OWN-1 is a customer’s own device"):
        stock_booking.device_adjust_in(
            actor=w.actor, product=w.modem, location=w.stock, serials=["OWN-1"], reason="found"
        )

    assert ledger_snapshot() == before
    assert Device.objects.get().state == S.OWN


def test_a_dispatched_device_goes_only_to_the_party_it_was_sent_to(w):
    """Selling or renting a dispatched device to someone else than its holder is refused."""
    device = device_in_state(w, S.DISPATCHED)

    with pytest.raises(InvalidOwner, match="was dispatched to Bob, not to Alice"):
        services.device_transition(device=device, action="sell", party=w.alice, actor=w.actor)

    assert Device.objects.get(pk=device.pk).state == S.DISPATCHED


# --------------------------------------------------------------------------- the rows themselves


def _row_cases():
    """(action, state it starts from, where a GIVEN place is) for every row of the table:
    each state it may start from, and a move both to storage and into quarantine."""
    cases = []
    for action, rule in TRANSITIONS.items():
        for state in sorted(rule.sources, key=lambda s: s or ""):
            cases.append(pytest.param(action, state, "shelf", id=f"{action}-{state or 'none'}"))
            if rule.ledger_into_quarantine:
                cases.append(
                    pytest.param(action, state, "quarantine", id=f"{action}-{state}-quarantine")
                )
    return cases


def _row_act(w: World, action: str, state, given: Location) -> tuple[Device, Device | None]:
    """The device as it was (None: it did not exist) and as the row's action left it."""
    if state is None:
        # How devices begin: through the services that create them.
        if action == "stock_in":
            (device,) = devices_in(given, w.modem, "S1", actor=w.actor)
        elif action == "adjust_in":
            (device,) = stock_booking.device_adjust_in(
                actor=w.actor, product=w.modem, location=given, serials=["S1"], reason="count"
            )
        else:
            device = services.device_register_own(
                actor=w.actor, product=w.modem, serial="S1", party=w.bob
            )
        return None, Device.objects.get(pk=device.pk)
    device = device_in_state(w, state)
    done = services.device_transition(
        device=device, action=action, actor=w.actor, party=w.bob, location=given, reason="row"
    )
    assert done.device.pk == device.pk
    assert done.event.device_id == device.pk
    return device, Device.objects.get(pk=device.pk)


@pytest.mark.parametrize(("action", "state", "given"), _row_cases())
def test_every_row_of_the_table_lands_the_device_where_the_row_says(w, action, state, given):
    """Each row, from each state it starts from, ends in the row's state and place, with the
    row's owner and holder, and books the row's ledger action (none when it stays put)."""
    rule = TRANSITIONS[action]
    given = {"shelf": w.shelf, "quarantine": w.quarantine}[given]

    before, after = _row_act(w, action, state, given)

    # What the history says the device was before the step it undoes.
    last = before and before.events.filter(to_state=before.state, kind="transition").first()
    previous = last.from_state if last and last.from_state else S.USED
    expected = {PREVIOUS: previous, SAME: before and before.state}.get(rule.target, rule.target)
    assert after.state == expected
    if before is None:  # booked in where the clerk said, or never in the warehouse
        place = given if rule.ledger else None
    elif rule.place in (None, GIVEN, ORIGIN):
        place = {None: before.location, GIVEN: given, ORIGIN: last and last.from_location}[
            rule.place
        ]
    else:
        place = w.virtual(rule.place)
    assert after.location == place
    assert after.owner == (w.bob if rule.owner_after == "party" else None)
    assert after.holder == (w.bob if rule.party_holds else None)
    movement = after.events.first().movement
    if rule.ledger is None:
        assert movement is None
    else:
        source_kind = before.location_kind if before else None
        into_quarantine = source_kind == Kind.STORAGE and place.kind == Kind.QUARANTINE
        ledger = (rule.ledger_into_quarantine if into_quarantine else None) or rule.ledger
        assert (movement.action, movement.destination, movement.serial) == (ledger, place, "S1")


def test_a_reservation_refuses_exactly_the_rows_that_say_so():
    """Blocking, writing off, moving and transferring take a device from under a document;
    the document's own dispatch, sale and rental are what it reserved the device for."""
    refused = {action for action, rule in TRANSITIONS.items() if rule.refused_reserved}

    assert refused == {"block", "write_off", "move", "transfer"}
