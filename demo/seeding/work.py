"""The warehouse's days: deliveries, put-away, restocking, moves, counts, quarantine."""

from __future__ import annotations

from collections import deque
from datetime import timedelta

from devices.models import State

from .sizes import (
    REASONS_ISOLATE,
    REASONS_REMOVE,
    Kind,
)
from .state import Pair, Player, round_div


class Work(Player):
    """The events of stock work, each booked through Ledger.move."""

    # -- deliveries

    def on_delivery(self, t, w):
        rng = self.rng
        queue = self.queue[w]
        if queue:
            count = min(len(queue), max(10, len(queue) // 6), 250)
            lines = [queue.popleft() for _ in range(count)]
            self.deliver(t, w, lines)
        gap = rng.randrange(3600, 4 * 3600) if queue else rng.randrange(2 * 3600, 9 * 3600)
        self.push(t + gap, self.DELIVERY, w)

    def on_catch_up(self, t, w):
        """Near the end, the devices still to come arrive (so the device count is exact)."""
        lines = [
            self.pairs[(i, w)]
            for i, left in sorted(self.budget.items())
            if left > 0 and (i, w) in self.pairs and self.stocked[i][0] == w
        ]
        for start in range(0, len(lines), 200):
            chunk = lines[start : start + 200]
            self.deliver(t, w, chunk, everything=True)

    def deliver(self, t, w, lines, *, everything=False):
        rng = self.rng
        into_incoming = rng.random() < 0.4
        loc = rng.choice(self.incoming[w]) if into_incoming else self.stock_loc[w]
        self.delivery_number += 1
        ref = f"DN-{self.delivery_number:06d}"
        supplier = rng.choice(self.suppliers)
        batch = self.uuid()
        for pair in lines:
            pair.pending = False
            i = pair.i
            cost = max(1, round(self.p_cost[i] * rng.uniform(0.92, 1.08)))
            if self.p_traceable[i]:
                left = self.budget.get(i, 0)
                held = pair.in_hand // 1000
                chunk = pair.high // 1000
                count = left if everything else min(left, max(chunk, chunk * 2 - held))
                if count <= 0:
                    continue
                self.budget[i] = left - count
                milli = count * 1000
            else:
                milli = pair.high - pair.in_hand
                step = self.p_step[i]
                milli = max(step, milli)
                if step == 1000:
                    milli = -(-milli // 1000) * 1000
                elif milli >= 20_000:
                    milli = -(-milli // 5000) * 5000
            package = None
            if into_incoming:
                package = self.package_open(i, w, loc, ref, milli, cost, supplier, t)
            if self.p_traceable[i]:
                for _ in range(milli // 1000):
                    serial = self.serial_next(i, t)
                    mid = self.move(
                        i,
                        1000,
                        self.virtual[w][Kind.SUPPLIER],
                        loc,
                        "add",
                        t,
                        cost=cost,
                        serial=serial,
                        ref=ref,
                        supplier=supplier,
                        package=package,
                        batch=batch,
                    )
                    d = self.device_new(i, serial, loc, t, mid, package)
                    if into_incoming:
                        pair.waiting.setdefault(loc, deque()).append(d)
                    else:
                        self.put_device(pair, d, loc)
            else:
                self.move(
                    i,
                    milli,
                    self.virtual[w][Kind.SUPPLIER],
                    loc,
                    "add",
                    t,
                    cost=cost,
                    ref=ref,
                    supplier=supplier,
                    package=package,
                    batch=batch,
                )
            if into_incoming:
                self.push(t + rng.randrange(2 * 3600, 40 * 3600), self.PUTAWAY, (i, w, loc))
            elif pair.home and loc not in pair.home:
                self.push(t + rng.randrange(3600, 72 * 3600), self.PUTAWAY, (i, w, loc))

    def serial_next(self, i, t) -> str:
        self.serial_counter += self.rng.randrange(1, 4)
        year = (self.t0 + timedelta(seconds=t)).year % 100
        return f"{self.p_prefix[i]}{year:02d}{self.serial_counter:07d}"

    def package_open(self, i, w, loc, ref, milli, cost, supplier, t) -> int:
        package_id = self.new_id("warehouse_incomingpackage")
        # The price is quantity × unit cost to 4 places, rounded as the database rounds it.
        price = round_div(milli * cost, 1000)
        row = [package_id, ref, milli, price, cost, 0, supplier, t, loc, i, w]
        self.packages.append(row)
        self.package_numbers[package_id] = ref
        self.package_index[package_id] = row
        self.waiting_packages.setdefault((i, loc), deque()).append(row)
        return package_id

    def on_putaway(self, t, arg):
        """Goods waiting in incoming (or in main storage) go to their home locations."""
        i, w, loc = arg
        pair = self.pairs[(i, w)]
        rng = self.rng
        if not pair.home:
            return
        batch = self.uuid()
        kind = self.loc_kind[loc]
        if self.p_traceable[i]:
            if kind == Kind.INCOMING:
                devices = pair.waiting.pop(loc, deque())
            else:
                if loc in pair.home:
                    return
                devices = pair.avail.pop(loc, [])
            for d in devices:
                dst = rng.choice(pair.home)
                self.device_move(d, dst, "move", "move", t, reason="Put away", batch=batch)
                self.put_device(pair, d, dst)
                if kind == Kind.INCOMING and self.d_package[d]:
                    self.package_index[self.d_package[d]][5] += 1000
            return
        held = getattr(pair, kind).get(loc, 0)
        if held <= 0:
            return
        dst = rng.choice(pair.home)
        if dst == loc:
            return
        self.move(i, held, loc, dst, "move", t, reason="Put away", batch=batch)
        if kind == Kind.INCOMING:
            left = held
            waiting = self.waiting_packages.get((i, loc), deque())
            while left > 0 and waiting:
                package = waiting[0]
                take = min(left, package[2] - package[5])
                package[5] += take
                left -= take
                if package[5] >= package[2]:
                    waiting.popleft()

    def on_restock(self, t, pair):
        if not pair.pending and self.budget.get(pair.i, 0) > 0:
            pair.pending = True
            self.queue[pair.w].append(pair)

    def reorder_check(self, pair: Pair) -> None:
        if not pair.pending and pair.in_hand - pair.reserved < pair.low:
            if self.p_traceable[pair.i] and self.budget.get(pair.i, 0) <= 0:
                return
            pair.pending = True
            self.queue[pair.w].append(pair)

    # -- day-to-day work

    def on_work(self, t, i):
        rng = self.rng
        self.push(t + max(600, int(rng.expovariate(1.0) * self.work_mean[i])), self.WORK, i)
        if not self.behind(t):
            return
        ws = self.stocked[i]
        w = ws[0] if len(ws) == 1 else rng.choice(ws)
        pair = self.pairs[(i, w)]
        if self.p_traceable[i]:
            self.work_devices(t, pair)
        else:
            self.work_counted(t, pair)

    def work_counted(self, t, pair):
        rng = self.rng
        i, w = pair.i, pair.w
        step = self.p_step[i]
        r = rng.random()
        if not pair.storage:
            if pair.quarantine:
                self.on_quarantine(t, (i, w, next(iter(pair.quarantine))))
            return
        src = rng.choice(list(pair.storage))
        held = pair.storage[src]
        batch = self.uuid()
        if r < 0.42:  # re-slotting inside the warehouse
            if src in pair.home:
                choices = [b for b in pair.home if b != src] or [rng.choice(self.bins[w])]
                dst = rng.choice(choices)
                part = max(step, round(held * rng.uniform(0.2, 0.7) / step) * step)
                milli = min(held, part)
            else:
                dst = rng.choice(pair.home) if pair.home else rng.choice(self.bins[w])
                milli = held
            if dst == src:
                dst = self.stock_loc[w] if src != self.stock_loc[w] else self.bins[w][0]
            self.move(i, milli, src, dst, "move", t, reason="Re-slotting", batch=batch)
        elif r < 0.64:  # stocktake: the count differs a little
            delta = step * rng.randint(1, 3) if step == 1000 else rng.randrange(100, 3000)
            loss = rng.random() < 0.55
            if loss and min(held, pair.available) >= delta:
                self.move(
                    i,
                    delta,
                    src,
                    self.virtual[w][Kind.ADJUSTMENT],
                    "adjust_down",
                    t,
                    reason="Stocktake",
                    batch=batch,
                )
                self.reorder_check(pair)
            else:
                self.move(
                    i,
                    delta,
                    self.virtual[w][Kind.ADJUSTMENT],
                    src,
                    "adjust_up",
                    t,
                    reason="Stocktake",
                    batch=batch,
                )
        elif r < 0.74:  # isolate
            milli = min(
                held,
                pair.available,
                step * rng.randint(1, 3) if step == 1000 else rng.randrange(500, 5000),
            )
            if milli <= 0:
                return
            qa = rng.choice(self.quarantine[w])
            self.move(
                i, milli, src, qa, "isolate", t, reason=rng.choice(REASONS_ISOLATE), batch=batch
            )
            self.push(t + rng.randrange(86400, 12 * 86400), self.QA, (i, w, qa))
        elif r < 0.81:  # remove
            milli = min(
                held,
                pair.available,
                step * rng.randint(1, 2) if step == 1000 else rng.randrange(200, 3000),
            )
            if milli <= 0:
                return
            self.move(
                i,
                milli,
                src,
                self.virtual[w][Kind.ADJUSTMENT],
                "remove",
                t,
                reason=rng.choice(REASONS_REMOVE),
                batch=batch,
            )
            self.reorder_check(pair)
        elif r < 0.86 and len(self.stocked[i]) == 2:  # transfer to the other warehouse
            other = self.pairs[(i, 1 - w)]
            milli = min(held, pair.available)
            milli = (milli // 2 // step) * step
            if milli <= 0 or not other.home:
                return
            dst = rng.choice(other.home)
            self.move(
                i,
                milli,
                src,
                dst,
                "move",
                t,
                reason=f"Transfer to {self.warehouses[1 - w].name}",
                batch=batch,
            )
            self.reorder_check(pair)
        else:  # consolidate into the home location
            dst = rng.choice(pair.home) if pair.home else self.stock_loc[w]
            if dst == src:
                dst = rng.choice(self.bins[w])
                if dst == src:
                    return
                milli = max(step, (held // 3 // step) * step)
                milli = min(milli, held)
            else:
                milli = held
            self.move(i, milli, src, dst, "move", t, reason="Consolidation", batch=batch)

    def work_devices(self, t, pair):
        rng = self.rng
        i, w = pair.i, pair.w
        r = rng.random()
        batch = self.uuid()
        if r < 0.84:  # move one to three devices to another shelf
            if not pair.avail:
                return
            src = rng.choice(list(pair.avail))
            devices = pair.avail[src]
            dst = rng.choice(pair.home) if pair.home else rng.choice(self.bins[w])
            if dst == src:
                dst = rng.choice(self.bins[w])
                if dst == src:
                    return
            for _ in range(min(len(devices), rng.choice((1, 1, 2, 3)))):
                d = devices.pop()
                self.device_move(d, dst, "move", "move", t, reason="Re-slotting", batch=batch)
                self.put_device(pair, d, dst)
            if not devices:
                del pair.avail[src]
        elif r < 0.9:  # isolate one
            if pair.available < 1000 or not pair.avail:
                return
            d = self.take_device(pair)
            qa = rng.choice(self.quarantine[w])
            self.device_move(
                d, qa, "move", "isolate", t, reason=rng.choice(REASONS_ISOLATE), batch=batch
            )
            self.quarantined.setdefault((i, qa), []).append(d)
            self.push(t + rng.randrange(86400, 15 * 86400), self.QA, (i, w, qa))
        elif r < 0.94:  # block one
            if pair.available < 1000 or not pair.avail:
                return
            d = self.take_device(pair)
            before = self.d_state[d]
            self.d_prev[d] = before
            self.d_state[d] = State.BLOCKED
            self.d_updated[d] = t
            pair.blocked += 1000
            pair.blocked_at.setdefault(self.d_loc[d], []).append(d)
            self.event(
                d,
                "transition",
                "block",
                before,
                State.BLOCKED,
                self.d_loc[d],
                self.d_loc[d],
                None,
                None,
                None,
                t,
                reason="Fault found at test",
            )
        elif r < 0.985:  # unblock one
            if not pair.blocked_at:
                return
            loc = rng.choice(list(pair.blocked_at))
            d = pair.blocked_at[loc].pop()
            if not pair.blocked_at[loc]:
                del pair.blocked_at[loc]
            state = self.d_prev[d]
            self.d_state[d] = state
            self.d_updated[d] = t
            pair.blocked -= 1000
            self.put_device(pair, d, loc)
            self.event(
                d,
                "transition",
                "unblock",
                State.BLOCKED,
                state,
                loc,
                loc,
                None,
                None,
                None,
                t,
                reason="Repaired",
            )
        else:  # write one off
            if pair.available < 1000 or not pair.avail:
                return
            d = self.take_device(pair)
            self.device_move(
                d,
                self.virtual[w][Kind.ADJUSTMENT],
                "write_off",
                "remove",
                t,
                state=State.WRITTEN_OFF,
                owner=None,
                reason=rng.choice(REASONS_REMOVE),
                batch=batch,
            )
            self.reorder_check(pair)

    def on_quarantine(self, t, arg):
        """What was isolated comes back to storage, or is scrapped."""
        i, w, qa = arg
        pair = self.pairs[(i, w)]
        rng = self.rng
        batch = self.uuid()
        if self.p_traceable[i]:
            devices = self.quarantined.pop((i, qa), [])
            for d in devices:
                if rng.random() < 0.85:
                    dst = rng.choice(pair.home) if pair.home else self.stock_loc[w]
                    self.device_move(d, dst, "move", "move", t, reason="Tested OK", batch=batch)
                    self.put_device(pair, d, dst)
                else:
                    self.device_move(
                        d,
                        self.virtual[w][Kind.ADJUSTMENT],
                        "write_off",
                        "remove",
                        t,
                        state=State.WRITTEN_OFF,
                        owner=None,
                        reason="Failed the test",
                        batch=batch,
                    )
            return
        held = pair.quarantine.get(qa, 0)
        if held <= 0:
            return
        if rng.random() < 0.7:
            dst = rng.choice(pair.home) if pair.home else self.stock_loc[w]
            self.move(i, held, qa, dst, "move", t, reason="Released from quarantine", batch=batch)
        else:
            self.move(
                i,
                held,
                qa,
                self.virtual[w][Kind.ADJUSTMENT],
                "remove",
                t,
                reason="Failed the test",
                batch=batch,
            )
            self.reorder_check(pair)
