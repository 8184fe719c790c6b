"""The device state machine: the one table of legal transitions.

Each row says all a transition does, and `devices.services.device_transition`
reads it without asking which transition it is: the states it starts from and
the state it ends in, the ledger action it books, where the device ends up,
which party it needs, whether a document's reservation refuses it, and who
owns and holds the device afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from warehouse.models import Location, Movement

from .models import Device, DeviceEvent, State

Kind = Location.Kind
Action = Movement.Action

# Markers for a transition's target state.
PREVIOUS = "previous"  # the state before the last block / dispatch, read from history
SAME = "same"  # the state does not change

# Markers for where a transition puts the device (else a virtual Location.Kind of its warehouse).
GIVEN = "given"  # a storage or quarantine location the user chooses
ORIGIN = "origin"  # the real place it left by the transition it undoes, read from history


@dataclass(frozen=True)
class TransitionRule:
    """One row of the table."""

    label: str
    sources: frozenset  # states it may start from; None: the device does not exist yet
    target: str  # a State, PREVIOUS or SAME
    owner_after: str = "business"  # "business", "party" (the party given) or "none"
    # The ledger action booked when the device changes place; None: it never does.
    ledger: str | None = None
    # The ledger action instead when it goes from storage into quarantine.
    ledger_into_quarantine: str | None = None
    # Where it ends up: None (it stays), GIVEN, ORIGIN or a virtual Location.Kind.
    place: str | None = None
    # GIVEN: the words asking for the place when none (or no storage/quarantine) is given.
    place_prompt: str = "Choose a storage or quarantine location."
    # Only a device in storage (or dispatched, on its way) may take it: not incoming or quarantined.
    from_storage: bool = False
    # The ledger takes it from this virtual place of the destination's warehouse, not from
    # where the device is (a found device comes back from the losses).
    booked_from: str | None = None
    # The party's part in the sentence "Choose the party who <party> <device>"; None: no party.
    party: str | None = None
    # Refused when the party is a merchant: the sentence, with {party}; None: any party.
    contact_only: str | None = None
    # Refused when the party owns the device already.
    new_owner: bool = False
    # The party holds the device afterwards (it is at the party's, still ours).
    party_holds: bool = False
    # Refused while a document reserves the device.
    refused_reserved: bool = False


@dataclass(frozen=True)
class Transition:
    """What a transition did: the device as it is now and the history event it wrote."""

    device: Device
    event: DeviceEvent

    @property
    def movement(self) -> Movement | None:
        """The ledger line it booked; None when the device did not change place."""
        return self.event.movement


AVAILABLE = (State.NEW, State.USED)
_IN_WAREHOUSE = (*AVAILABLE, State.DISPATCHED)
_COMES_BACK = "Choose the storage or quarantine it comes back to."
_CONTACTS_ONLY = "Only a contact registers an own device; {party} is a merchant."

TRANSITIONS: dict[str, TransitionRule] = {
    "stock_in": TransitionRule("stock-in", frozenset({None}), State.NEW, ledger=Action.ADD),
    "adjust_in": TransitionRule(
        "adjustment up", frozenset({None}), State.NEW, ledger=Action.ADJUST_UP
    ),
    "block": TransitionRule("block", frozenset(AVAILABLE), State.BLOCKED, refused_reserved=True),
    "unblock": TransitionRule("unblock", frozenset({State.BLOCKED}), PREVIOUS),
    "dispatch": TransitionRule(
        "dispatch",
        frozenset(AVAILABLE),
        State.DISPATCHED,
        ledger=Action.DISPATCH,
        place=Kind.DISPATCHED,
        from_storage=True,
        party="receives",
        party_holds=True,
    ),
    "undispatch": TransitionRule(
        "undo dispatch",
        frozenset({State.DISPATCHED}),
        PREVIOUS,
        ledger=Action.UNDISPATCH,
        place=ORIGIN,
    ),
    "sell": TransitionRule(
        "sell",
        frozenset(_IN_WAREHOUSE),
        State.SOLD,
        owner_after="party",
        ledger=Action.SELL,
        place=Kind.SOLD,
        from_storage=True,
        party="buys",
    ),
    "rent": TransitionRule(
        "rent",
        frozenset(_IN_WAREHOUSE),
        State.RENTED,
        ledger=Action.RENT,
        place=Kind.RENTED,
        from_storage=True,
        party="rents",
        party_holds=True,
    ),
    "return_rental": TransitionRule(
        "return from rental",
        frozenset({State.RENTED}),
        State.USED,
        ledger=Action.RETURN_RENTAL,
        place=GIVEN,
        place_prompt=_COMES_BACK,
    ),
    "return": TransitionRule(
        "return (credit note)",
        frozenset({State.SOLD}),
        State.USED,
        ledger=Action.RETURN,
        place=GIVEN,
        place_prompt=_COMES_BACK,
    ),
    "transfer": TransitionRule(
        "transfer ownership",
        frozenset({State.SOLD, State.OWN}),
        SAME,
        owner_after="party",
        party="becomes the owner of",
        contact_only=(
            "Ownership passes from a merchant to a contact or between contacts; "
            "{party} is a merchant / service provider."
        ),
        new_owner=True,
        refused_reserved=True,
    ),
    "register_own": TransitionRule(
        "register own device",
        frozenset({None, State.OWN}),
        State.OWN,
        owner_after="party",
        party="owns",
        contact_only=_CONTACTS_ONLY,
    ),
    "write_off": TransitionRule(
        "write off",
        frozenset({*AVAILABLE, State.BLOCKED}),
        State.WRITTEN_OFF,
        owner_after="none",
        ledger=Action.REMOVE,
        place=Kind.ADJUSTMENT,
        refused_reserved=True,
    ),
    # Lost, then found: back into stock in the state it was written off from.
    "found": TransitionRule(
        "found again",
        frozenset({State.WRITTEN_OFF}),
        PREVIOUS,
        ledger=Action.ADJUST_UP,
        place=GIVEN,
        place_prompt=_COMES_BACK,
        booked_from=Kind.ADJUSTMENT,
    ),
    # Changing place inside the warehouse (move, isolate, put away).
    "move": TransitionRule(
        "move",
        frozenset({*AVAILABLE, State.BLOCKED}),
        SAME,
        ledger=Action.MOVE,
        ledger_into_quarantine=Action.ISOLATE,
        place=GIVEN,
        refused_reserved=True,
    ),
}

# Actions a person starts from the device page (billing drives the others).
PAGE_ACTIONS = ("block", "unblock", "move", "write_off", "found", "transfer")


def allowed_actions(state) -> list[str]:
    """The actions whose transition may start from `state`."""
    return [name for name, t in TRANSITIONS.items() if state in t.sources]
