"""The one writer of device history: each history line and its outbox event, together.

Every service that changes a device (a transition, a status, characteristics,
an owner, parts, a reservation, a stock-in or an import) writes its history
through `history_write`, in its own transaction: one INSERT for the history
lines, one for their events (`warehouse.events`), whatever their number.
"""

from __future__ import annotations

from collections.abc import Sequence

from warehouse.events import events_record
from warehouse.models import Event

from .models import DeviceEvent

Kind = Event.Kind

# The event kind of each history action (the actions of `devices.states.TRANSITIONS` and the
# edits beside them).
EVENT_KINDS = {
    "stock_in": Kind.DEVICE_STOCKED_IN,
    "adjust_in": Kind.DEVICE_ADJUSTED_IN,
    "import": Kind.DEVICE_IMPORTED,
    "block": Kind.DEVICE_BLOCKED,
    "unblock": Kind.DEVICE_UNBLOCKED,
    "dispatch": Kind.DEVICE_DISPATCHED,
    "undispatch": Kind.DEVICE_UNDISPATCHED,
    "sell": Kind.DEVICE_SOLD,
    "rent": Kind.DEVICE_RENTED,
    "return_rental": Kind.DEVICE_RENTAL_RETURNED,
    "return": Kind.DEVICE_RETURNED,
    "transfer": Kind.DEVICE_TRANSFERRED,
    "register_own": Kind.DEVICE_REGISTERED,
    "write_off": Kind.DEVICE_WRITTEN_OFF,
    "found": Kind.DEVICE_FOUND,
    "move": Kind.DEVICE_MOVED,
    "status": Kind.DEVICE_STATUS_SET,
    "details": Kind.DEVICE_DETAILS_SET,
    "assemble": Kind.DEVICE_ASSEMBLED,
    "disassemble": Kind.DEVICE_DISASSEMBLED,
    "reserve": Kind.DEVICE_RESERVED,
    "release": Kind.DEVICE_RELEASED,
}


def history_write(lines: Sequence[DeviceEvent]) -> list[DeviceEvent]:
    """Append history lines and one `device.<what happened>` event each; the lines back.

    Reads only what the lines hold (device, its product and status): no query
    when the caller has them, as every service does.
    """
    lines = DeviceEvent.objects.bulk_create(lines)
    events_record([device_event(line) for line in lines])
    return lines


def device_event(line: DeviceEvent) -> Event:
    """The outbox event of a history line just written (not saved)."""
    device = line.device
    return Event(
        kind=EVENT_KINDS[line.action],
        subject={"type": "device", "serial": device.serial, "product": device.product.sku},
        movement_id=line.movement_id,
        actor_id=line.actor_id,
        created_at=line.created_at,
        data={
            "history": line.pk,
            "action": line.action,
            "from_state": line.from_state,
            "to_state": line.to_state,
            "status": device.status.name if device.status_id else "",
            "from_owner": line.from_owner_id,
            "to_owner": line.to_owner_id,
            "changes": line.changes,
            "reason": line.reason,
            "reference": line.reference,
        },
    )
