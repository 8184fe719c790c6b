"""The generator: one History, the parts played in time order, in one transaction."""

from __future__ import annotations

import gc
import heapq
import io
import time
from collections import deque

from django.db import connection, transaction

from .catalogue import Catalogue
from .documents import Documents
from .ledger import Ledger
from .sizes import (
    BIG_TABLES,
    Size,
)
from .state import Doc
from .work import Work
from .writer import Writer, _without_secondary_indexes


class History(Catalogue, Ledger, Work, Documents, Writer):
    """Plays the history and writes it; see the package docstring."""

    def build(self) -> dict:
        """Everything, in one transaction; the counts written back."""
        started = time.monotonic()
        # Millions of small objects that live until the end: the cyclic collector
        # would walk them again and again for nothing.
        gc.disable()
        try:
            self.build_all()
        finally:
            gc.enable()
        self.timings["total"] = time.monotonic() - started
        return self.counts()

    def build_all(self) -> None:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
                cursor.execute("SET LOCAL work_mem = '256MB'")
                cursor.execute("SET LOCAL synchronous_commit = off")
            self.reference()
            self.ids_start()
            with _without_secondary_indexes(BIG_TABLES, self):
                self.catalogue()
                self.play()
                self.write_rest()
                self.derive()
            self.sequences()
            self.marker_write()

    # ----------------------------------------------------------------------- playing

    def play(self) -> None:
        """The plan, then every event in time order, the ledger streaming into COPY."""
        started = time.monotonic()
        self.plan()
        self.step("plan", started)
        started = time.monotonic()
        self.state_start()
        self.events_schedule()
        handlers = [
            self.on_delivery,
            self.on_putaway,
            self.on_work,
            self.on_doc,
            self.on_rental_back,
            self.on_credit,
            self.on_quarantine,
            self.on_catch_up,
            self.on_restock,
        ]
        with connection.cursor() as cursor:
            raw = cursor.cursor if hasattr(cursor, "cursor") else cursor
            with raw.copy(
                "COPY warehouse_movement (id, product_id, quantity, source_id, destination_id,"
                " action, unit_cost, serial, supplier, reason, reference, batch, package_id,"
                " actor_id, created_at) FROM STDIN",
            ) as copy:
                self.mv_copy = copy
                heap = self.heap
                pop = heapq.heappop
                while heap:
                    t, _, code, arg = pop(heap)
                    handlers[code](t, arg)
                self.mv_flush()
                self.step("history played", started)
                started = time.monotonic()
        self.step("ledger copy finished", started)
        self.own_devices_register()
        self.log(f"  {self.mv_count:,} movements, {len(self.d_product)} devices")

    def state_start(self) -> None:
        """What the player keeps while it plays: empty, the id counters at their start."""
        self.heap: list = []
        self.seq = 0
        self.mv_buffer: list[str] = []
        self.consumptions = io.StringIO()
        self.events = io.StringIO()
        self.layer_rows: list[list] = []
        self.last_layer = None
        # The ids of the three busiest tables, as plain counters.
        self.mv_next = self.mv_start = self.next_id["warehouse_movement"]
        self.lc_next = self.next_id["warehouse_layerconsumption"]
        self.cl_next = self.next_id["warehouse_costlayer"]
        self.track_costs = None
        self.packages: list[list] = []
        self.package_numbers: dict[int, str] = {}
        self.package_index: dict[int, list] = {}
        self.waiting_packages: dict[tuple[int, int], deque] = {}
        self.quarantined: dict[tuple[int, int], list[int]] = {}
        self.delivery_number = 0
        self.serial_counter = 100_000
        self.d_product, self.d_serial, self.d_eid, self.d_state, self.d_prev = [], [], [], [], []
        self.d_loc, self.d_owner, self.d_holder, self.d_created, self.d_updated = [], [], [], [], []
        self.d_package = []
        self.device_base = self.next_id["devices_device"] + 1
        self.queue = [deque(), deque()]
        self.docs: list[Doc] = []
        self.orders: list[Doc] = []
        self.invoices: list[Doc] = []
        self.credit_notes: list[tuple] = []
        self.rentals: list[list] = []
        self.number = {"ORD": 0, "INV": 0, "CN": 0}
        self.line_ids = {"order": 0, "invoice": 0}
        self.reservations: list[list] = []

    def events_schedule(self) -> None:
        """The first events: deliveries, each product's work, documents, restocks, catch-up."""
        rng = self.rng
        # Everything starts with an empty warehouse waiting for its first deliveries.
        for pair in self.pairs.values():
            pair.pending = True
            self.queue[pair.w].append(pair)
        for w in (0, 1):
            self.push(7 * 3600 + w * 1800, self.DELIVERY, w)
        n = self.size.products
        work_total = self.size.movements * 1.15
        self.work_mean = []
        for i in range(n):
            share = 0.5 / n + 0.5 * self.weight[i]
            events = max(1.0, work_total * share)
            self.work_mean.append(self.span / events)
            if self.stocked[i]:
                self.push(86400 * 2 + int(rng.expovariate(1.0) * self.work_mean[i]), self.WORK, i)
        for t, plan in self.plans:
            self.push(t, self.DOC, plan)
        # Devices arrive in planned deliveries spread over the years (and when stock runs low).
        for (i, _), pair in self.pairs.items():
            if self.p_traceable[i] and self.budget.get(i):
                for _ in range(self.restocks(self.budget[i]) - 1):
                    self.push(rng.randrange(20 * 86400, self.span), self.RESTOCK, pair)
        catch_up_day = max(1, self.size.days - 3)
        for w in (0, 1):
            self.push(catch_up_day * 86400 + 6 * 3600 + w * 600, self.CATCH_UP, w)


# --------------------------------------------------------------------------- entry points


def seed_scale(
    *, size: Size, seed: int, scale_name: str, staff_id: int, clerk_id: int, log=None
) -> dict:
    """Write the data set of `size` into an empty database; the counts and timings back."""
    started = time.monotonic()
    history = History(size=size, seed=seed, staff_id=staff_id, clerk_id=clerk_id, log=log)
    history.scale_name = scale_name
    history.seed_value = seed
    history.started_at = started
    counts = history.build()
    return {
        "counts": counts,
        "timings": history.timings,
        "seconds": round(time.monotonic() - started, 1),
    }
