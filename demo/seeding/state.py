"""The player's state: a product in a warehouse, a document, a line; the shared clock."""

from __future__ import annotations

import heapq
import time
from collections import deque
from datetime import UTC, datetime, timedelta

from django.db import connection

from .sizes import (
    Size,
)

# --------------------------------------------------------------------------- formatting

N = "\\N"


def qty(milli: int) -> str:
    """Thousandths as a decimal literal."""
    if milli % 1000 == 0:
        return str(milli // 1000)
    return f"{milli // 1000}.{milli % 1000:03d}"


def money(tenk: int) -> str:
    """Ten-thousandths as a decimal literal."""
    return f"{tenk // 10000}.{tenk % 10000:04d}"


def opt(value) -> str:
    return N if value is None else str(value)


def round_div(num: int, den: int) -> int:
    """num / den rounded half up (both positive): Decimal's ROUND_HALF_UP on 4 places."""
    return (2 * num + den) // (2 * den)


# --------------------------------------------------------------------------- the state


class Pair:
    """A product in a warehouse: what the services' cached rows and layers say, in thousandths."""

    __slots__ = (
        "i",
        "w",
        "storage",
        "incoming",
        "quarantine",
        "avail",
        "blocked_at",
        "in_storage",
        "in_hand",
        "reserved",
        "blocked",
        "dispatched",
        "rented",
        "avg",
        "layers",
        "home",
        "high",
        "low",
        "pending",
        "waiting",
    )

    def __init__(self, i, w):
        self.i, self.w = i, w
        self.storage: dict[int, int] = {}
        self.incoming: dict[int, int] = {}
        self.quarantine: dict[int, int] = {}
        self.avail: dict[int, list[int]] = {}  # devices free in storage, per location
        self.blocked_at: dict[int, list[int]] = {}
        self.in_storage = self.in_hand = self.reserved = self.blocked = 0
        self.dispatched = self.rented = 0
        self.avg = 0
        self.layers: list[list] = []  # open FIFO layers, oldest first
        self.home: list[int] = []
        self.high = self.low = 0
        self.pending = False
        self.waiting: dict[int, deque] = {}  # incoming location → packages not put away

    @property
    def available(self) -> int:
        return self.in_storage - self.reserved - self.blocked

    @property
    def owned(self) -> int:
        return self.in_hand + self.dispatched + self.rented


class Doc:
    __slots__ = (
        "plan",
        "type",
        "id",
        "number",
        "party",
        "w",
        "lines",
        "status",
        "created",
        "updated",
        "confirmed",
        "dispatched",
        "completed",
        "cancelled",
        "issued",
        "posted",
        "invoice",
        "order",
        "credited",
    )

    def __init__(self, plan, party, w, created):
        self.plan = plan
        self.type = "order" if plan.startswith("order") else "invoice"
        self.id = self.number = None
        self.party, self.w, self.created = party, w, created
        self.updated = created
        self.lines: list[Line] = []
        self.status = "draft"
        self.confirmed = self.dispatched = self.completed = self.cancelled = None
        self.issued = self.posted = None
        self.invoice = None  # an order's invoice (a Doc)
        self.order = None  # an invoice's order
        self.credited = False


class Line:
    __slots__ = (
        "id",
        "i",
        "qty",
        "price",
        "kind",
        "until",
        "position",
        "reservation",
        "devices",
        "unit_cost",
        "invoice_line",
    )

    def __init__(self, i, milli, price, kind, until, position):
        self.id = None
        self.i, self.qty, self.price, self.kind, self.until = i, milli, price, kind, until
        self.position = position
        self.reservation = None  # [id, status, closed]
        self.devices: list[int] = []
        self.unit_cost = 0
        self.invoice_line = None


# --------------------------------------------------------------------------- the generator


class Player:
    """What every part of the generator shares: the seeded clock, the event queue, COPY."""

    def __init__(self, *, size: Size, seed: int, staff_id: int, clerk_id: int, log=None):
        import random

        self.size = size
        self.rng = random.Random(seed)
        self.staff = staff_id
        self.clerk = clerk_id
        self.log = log or (lambda message: None)
        self.timings: dict[str, float] = {}
        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.end_day = end
        self.t0 = end - timedelta(days=size.days)
        self.span = size.days * 86400
        self.day_strings = [
            (self.t0 + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(size.days + 2)
        ]
        self._ts_cache = (-1, "")

    # ----------------------------------------------------------------------- helpers

    def ts(self, t: int) -> str:
        if self._ts_cache[0] == t:
            return self._ts_cache[1]
        d, r = divmod(t, 86400)
        h, r = divmod(r, 3600)
        m, s = divmod(r, 60)
        text = f"{self.day_strings[d]} {h:02d}:{m:02d}:{s:02d}+00"
        self._ts_cache = (t, text)
        return text

    def workday_time(self, day: int) -> int:
        return day * 86400 + 7 * 3600 + self.rng.randrange(11 * 3600)

    def uuid(self) -> str:
        """A version-4 UUID from the seeded generator (what a booking's batch is)."""
        x = self.rng.getrandbits(128)
        x = (x & ~(0xF000 << 64)) | (0x4000 << 64)
        x = (x & ~(0xC000 << 48)) | (0x8000 << 48)
        h = f"{x:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def push(self, t: int, code: int, arg) -> None:
        """Schedule an event; people work 07:00–19:00, so later times wait for the morning."""
        day, sec = divmod(t, 86400)
        if sec < 7 * 3600:
            t = day * 86400 + 7 * 3600 + sec % 3600
        elif sec >= 19 * 3600:
            t = (day + 1) * 86400 + 7 * 3600 + sec % 3600
        if t < self.span:
            self.seq += 1
            heapq.heappush(self.heap, (t, self.seq, code, arg))

    DELIVERY, PUTAWAY, WORK, DOC, RENTAL_BACK, CREDIT, QA, CATCH_UP, RESTOCK = range(9)

    def step(self, name: str, started: float) -> None:
        self.timings[name] = round(time.monotonic() - started, 2)
        self.log(f"  {name}: {self.timings[name]:.1f} s")

    def copy(self, table: str, columns: str, text: str) -> None:
        if not text:
            return
        with connection.cursor() as cursor:
            raw = cursor.cursor if hasattr(cursor, "cursor") else cursor
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(text)

    @property
    def mv_count(self) -> int:
        return self.mv_next - self.mv_start

    def behind(self, t: int) -> bool:
        """Is the ledger behind its target at time t? (work only happens then)"""
        return self.mv_next - self.mv_start < self.size.movements * (t / self.span) + 20
