"""The event outbox: written with every change, read as a feed that loses nothing.

`events_record` is the one writer: the service that books a movement, takes a
device through a transition or steps a document calls it in its own
transaction, so an event exists exactly when its change committed (a
transactional outbox). `events_after` is the one reader: an integrator's
feed, paged by an opaque cursor, with no gap and no duplicate.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from django.db.models import Q
from django.db.models.expressions import RawSQL

from .exceptions import WarehouseError
from .models import Event, Movement

Kind = Event.Kind

# The oldest transaction still running when the statement's snapshot was taken:
# every transaction with a smaller id has finished, committed or rolled back.
_HORIZON = RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", [])

FEED_LIMIT_MAX = 1000


class InvalidCursor(WarehouseError):
    field = "after"


def events_record(events: Sequence[Event]) -> list[Event]:
    """Append `events` to the outbox in the caller's transaction: one INSERT for them all.

    Each row's `txid` is the writing transaction's id (a column default), its
    place in the feed.
    """
    if not events:
        return []
    return Event.objects.bulk_create(events)


def movement_events(movements: Sequence[Movement]) -> list[Event]:
    """The `movement.booked` events of ledger lines just written (none saved yet).

    Reads only what the booking holds (product, locations): no query.
    """
    events = []
    for m in movements:
        sku = m.product.sku
        subject = (
            {"type": "device", "serial": m.serial, "product": sku}
            if m.serial
            else {"type": "product", "sku": sku}
        )
        events.append(
            Event(
                kind=Kind.MOVEMENT_BOOKED,
                subject=subject,
                movement=m,
                actor_id=m.actor_id,
                created_at=m.created_at,
                data=movement_data(
                    action=m.action,
                    sku=sku,
                    quantity=m.quantity,
                    source=m.source.code,
                    destination=m.destination.code,
                    unit_cost=m.unit_cost,
                    serial=m.serial,
                    reference=m.reference,
                ),
            )
        )
    return events


def movement_data(
    *, action, sku, quantity, source, destination, unit_cost, serial, reference
) -> dict:
    """What a `movement.booked` event says (also written in SQL by the demo generator)."""
    return {
        "action": str(action),
        "sku": sku,
        "quantity": number_plain(quantity),
        "from": source,
        "to": destination,
        "unit_cost": number_plain(unit_cost),
        "serial": serial,
        "reference": reference,
    }


def number_plain(number) -> str:
    """A decimal as its shortest text ("2", "1.5"): what `trim_scale` gives in SQL."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --------------------------------------------------------------------------- the feed


def cursor_encode(txid: int, event_id: int) -> str:
    """The feed position just after event (txid, id), as an opaque URL-safe token."""
    return base64.urlsafe_b64encode(f"{txid}.{event_id}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[int, int]:
    """(txid, id) of a cursor from `cursor_encode`; InvalidCursor for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        txid, event_id = base64.urlsafe_b64decode(padded.encode("ascii")).decode().split(".")
        position = int(txid), int(event_id)
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidCursor(
            f"“{cursor[:40]}” is not a cursor of the event feed: pass the `next` cursor "
            "a page of events gave, or none to read from the start."
        ) from None
    if min(position) < 0 or max(position) >= 2**63:
        raise InvalidCursor(f"“{cursor[:40]}” is not a cursor of the event feed.")
    return position


def events_after(cursor: str | None, limit: int = 100) -> tuple[list[Event], str | None]:
    """The next `limit` events after `cursor` (None: from the start), and the cursor after them.

    The feed is ordered by (txid, id) and holds back every event whose
    transaction id is not below the snapshot's xmin, the oldest transaction
    still running. Event ids alone would lose events: ids are drawn when a
    row is inserted but become visible when its transaction commits, and
    transactions commit out of id order (T1 takes id 1, T2 takes id 2 and
    commits first; a reader that saw 2 and stored "after 2" never sees 1).
    Below xmin every transaction has finished, and a transaction started
    later gets a larger txid: nothing can still appear before the cursor, so
    a reader that stores the cursor sees every event once. The price: a long
    transaction holds the feed back until it ends. Reads in one statement, so
    the horizon and the rows come from the same snapshot.

    The cursor returned is where to continue; it is `cursor` itself when
    nothing new is readable yet. Raises InvalidCursor for a cursor this
    function did not make.
    """
    limit = max(1, min(int(limit), FEED_LIMIT_MAX))
    rows = Event.objects.filter(txid__lt=_HORIZON)
    if cursor:
        txid, event_id = cursor_decode(cursor)
        rows = rows.filter(Q(txid__gt=txid) | Q(txid=txid, id__gt=event_id))
    events = list(rows.select_related("actor").order_by("txid", "id")[:limit])
    if not events:
        return [], cursor
    last = events[-1]
    return events, cursor_encode(last.txid, last.pk)


def events_head() -> str:
    """The feed's cursor after its newest readable event ("" when there is none yet).

    The same horizon as `events_after` (every older transaction finished), so a
    subscription starting here misses nothing committed later.
    """
    last = (
        Event.objects.filter(txid__lt=_HORIZON)
        .order_by("-txid", "-id")
        .values_list("txid", "id")
        .first()
    )
    return cursor_encode(*last) if last else ""
