"""The device state machine: the one table of legal transitions."""

from dataclasses import dataclass

from .models import State

# Markers for a transition's target state.
PREVIOUS = "previous"  # the state before the last block / dispatch, read from history
SAME = "same"  # the state does not change


@dataclass(frozen=True)
class Transition:
    label: str
    sources: frozenset  # states it may start from; None: the device does not exist yet
    target: str  # a State, PREVIOUS or SAME
    owner_after: str  # "business", "party", "registrant" or "unchanged"


def _t(label, sources, target, owner_after="business"):
    return Transition(label, frozenset(sources), target, owner_after)


AVAILABLE = (State.NEW, State.USED)

TRANSITIONS: dict[str, Transition] = {
    "stock_in": _t("stock-in", {None}, State.NEW),
    "adjust_in": _t("adjustment up", {None}, State.NEW),
    "block": _t("block", AVAILABLE, State.BLOCKED),
    "unblock": _t("unblock", {State.BLOCKED}, PREVIOUS),
    "dispatch": _t("dispatch", AVAILABLE, State.DISPATCHED),
    "undispatch": _t("undo dispatch", {State.DISPATCHED}, PREVIOUS),
    "sell": _t("sell", {*AVAILABLE, State.DISPATCHED}, State.SOLD, "party"),
    "rent": _t("rent", {*AVAILABLE, State.DISPATCHED}, State.RENTED),
    "return_rental": _t("return from rental", {State.RENTED}, State.USED),
    "return": _t("return (credit note)", {State.SOLD}, State.USED),
    "transfer": _t("transfer ownership", {State.SOLD, State.OWN}, SAME, "party"),
    "register_own": _t("register own device", {None, State.OWN}, State.OWN, "party"),
    "write_off": _t("write off", {*AVAILABLE, State.BLOCKED}, State.WRITTEN_OFF, "none"),
    # Lost, then found: back into stock in the state it was written off from.
    "found": _t("found again", {State.WRITTEN_OFF}, PREVIOUS),
    # Changing place inside the warehouse (move, isolate, put away).
    "move": _t("move", {*AVAILABLE, State.BLOCKED}, SAME),
}

# Actions a person starts from the device page (billing drives the others).
PAGE_ACTIONS = ("block", "unblock", "move", "write_off", "found", "transfer")


def allowed_actions(state) -> list[str]:
    """The actions whose transition may start from `state`."""
    return [name for name, t in TRANSITIONS.items() if state in t.sources]
