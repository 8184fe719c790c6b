"""The ledger in integer arithmetic: movements, moving average, FIFO layers, devices."""

from __future__ import annotations

from devices.models import State

from .sizes import (
    DISPATCHED,
    OWNED,
    REAL,
    RENTED,
    STORAGE,
)
from .state import N, Pair, Player, money, opt, qty


class Ledger(Player):
    """Books one movement as the services would: positions, average, layers, device place."""

    # ----------------------------------------------------------------------- the ledger writer

    def move(
        self,
        i,
        milli,
        src,
        dst,
        action,
        t,
        *,
        cost=None,
        serial="",
        reason="",
        ref="",
        supplier="",
        package=None,
        batch=None,
    ):
        """One movement through the rules of `movements_book`; returns its id."""
        kind_src = self.loc_kind[src]
        kind_dst = self.loc_kind[dst]
        ws = self.loc_wh[src]
        wd = self.loc_wh[dst]
        ps = self.pairs[(i, ws)]
        same = ws == wd
        pd = ps if same else self.pair(i, wd)
        src_owned = kind_src in OWNED
        dst_owned = kind_dst in OWNED
        if kind_src in REAL:
            places = getattr(ps, kind_src)
            held = places.get(src, 0)
            assert held >= milli, ("negative", self.p_sku[i], src, held, milli)
            if kind_src == STORAGE and not (kind_dst == STORAGE and same):
                assert ps.in_storage - ps.reserved - ps.blocked >= milli, (
                    "reserved",
                    self.p_sku[i],
                    ps.available,
                    milli,
                )
        if cost is None:
            cost = ps.avg if src_owned else pd.avg
        self.mv_next += 1
        mid = self.mv_next
        leaves = src_owned and not (dst_owned and same)
        enters = dst_owned and not (src_owned and same)
        if enters:
            owned = pd.in_hand + pd.dispatched + pd.rented
            if owned <= 0:
                pd.avg = cost
            else:
                pd.avg = (2 * (owned * pd.avg + milli * cost) + owned + milli) // (
                    2 * (owned + milli)
                )
        # Positions and balance columns.
        if kind_src in REAL:
            left = held - milli
            if left:
                places[src] = left
            else:
                del places[src]
            ps.in_hand -= milli
            if kind_src == STORAGE:
                ps.in_storage -= milli
        elif kind_src == DISPATCHED:
            ps.dispatched -= milli
        elif kind_src == RENTED:
            ps.rented -= milli
        if kind_dst in REAL:
            places = getattr(pd, kind_dst)
            places[dst] = places.get(dst, 0) + milli
            pd.in_hand += milli
            if kind_dst == STORAGE:
                pd.in_storage += milli
        elif kind_dst == DISPATCHED:
            pd.dispatched += milli
        elif kind_dst == RENTED:
            pd.rented += milli
        # FIFO layers.
        taken = None
        if leaves:
            taken = []
            left = milli
            layers = ps.layers
            write = self.consumptions.write
            while left > 0:
                layer = layers[0]
                take = layer[8] if layer[8] < left else left
                layer[8] -= take
                left -= take
                taken.append((layer, take))
                self.lc_next += 1
                write(f"{self.lc_next}\t{layer[0]}\t{mid}\t{qty(take)}\t{money(layer[9])}\n")
                if layer[8] == 0:
                    del layers[0]
        if enters:
            if taken is not None:
                for layer, take in taken:
                    self.layer_open(
                        pd, layer[3], layer[4], mid, layer[6], take, layer[9], merge=None
                    )
            else:
                number = self.package_numbers[package] if package else ref
                self.layer_open(
                    pd,
                    package,
                    number,
                    mid,
                    t,
                    milli,
                    cost,
                    merge=(batch, i, wd, package, number, t, cost),
                )
        buffer = self.mv_buffer
        buffer.append(
            f"{mid}\t{self.p_id[i]}\t{qty(milli)}\t{src}\t{dst}\t{action}\t{money(cost)}\t"
            f"{serial}\t{supplier}\t{reason}\t{ref}\t{batch or N}\t"
            f"{N if package is None else package}\t{self.staff}\t{self.ts(t)}\n"
        )
        if len(buffer) >= 20_000:
            self.mv_flush()
        if self.track_costs is not None:
            self.track_costs.append((milli, cost))
        return mid

    def layer_open(self, pair, package, number, mid, received, milli, cost, *, merge):
        last = self.last_layer
        if merge is not None and last is not None and last[10] == merge:
            last[7] += milli  # serials of one package: one layer
            last[8] += milli
            return
        layer = [
            self.new_layer_id(),
            self.p_id[pair.i],
            pair.w,
            package,
            number,
            mid,
            received,
            milli,
            milli,
            cost,
            merge,
        ]
        self.layer_rows.append(layer)
        self.last_layer = layer
        layers = pair.layers
        if not layers or (layers[-1][6], layers[-1][0]) <= (received, layer[0]):
            layers.append(layer)
        else:
            key = (received, layer[0])
            at = len(layers)
            while at > 0 and (layers[at - 1][6], layers[at - 1][0]) > key:
                at -= 1
            layers.insert(at, layer)

    def new_layer_id(self) -> int:
        self.cl_next += 1
        return self.cl_next

    def mv_flush(self) -> None:
        if self.mv_buffer:
            self.mv_copy.write("".join(self.mv_buffer))
            self.mv_buffer = []

    # ----------------------------------------------------------------------- devices

    def device_new(self, i, serial, loc, t, mid, package) -> int:
        d = len(self.d_product)
        self.d_product.append(i)
        self.d_serial.append(serial)
        self.d_eid.append(
            ":".join(
                f"{b:02X}"
                for b in (2, 0x5E, (d >> 24) & 255, (d >> 16) & 255, (d >> 8) & 255, d & 255)
            )
            if self.rng.random() < 0.4
            else ""
        )
        self.d_state.append(State.NEW)
        self.d_prev.append(State.NEW)
        self.d_loc.append(loc)
        self.d_owner.append(None)
        self.d_holder.append(None)
        self.d_created.append(t)
        self.d_updated.append(t)
        self.d_package.append(package)
        self.event(d, "transition", "stock_in", "", State.NEW, None, loc, None, None, mid, t)
        return d

    def event(
        self,
        d,
        kind,
        action,
        from_state,
        to_state,
        from_loc,
        to_loc,
        from_owner,
        to_owner,
        mid,
        t,
        ref="",
        reason="",
    ):
        self.events.write(
            f"{self.new_id('devices_deviceevent')}\t{d + self.device_base}\t{kind}\t{action}\t"
            f"{from_state}\t{to_state}\t{{}}\t{reason}\t{ref}\t{self.staff}\t{self.ts(t)}\t"
            f"{opt(from_loc)}\t{opt(from_owner)}\t{opt(mid)}\t{opt(to_loc)}\t{opt(to_owner)}\n"
        )

    def device_move(
        self,
        d,
        dst,
        action,
        ledger_action,
        t,
        *,
        state=None,
        owner="keep",
        holder="keep",
        ref="",
        reason="",
        batch=None,
        cost=None,
    ):
        """A device changes place (and maybe state, owner, holder): ledger line and event."""
        i = self.d_product[d]
        src = self.d_loc[d]
        mid = self.move(
            i,
            1000,
            src,
            dst,
            ledger_action,
            t,
            serial=self.d_serial[d],
            ref=ref,
            reason=reason,
            batch=batch,
            cost=cost,
        )
        before_state, before_owner = self.d_state[d], self.d_owner[d]
        if state is not None and state != before_state:
            self.d_prev[d] = before_state
            self.d_state[d] = state
        if owner != "keep":
            self.d_owner[d] = owner
        if holder != "keep":
            self.d_holder[d] = holder
        self.d_loc[d] = dst
        self.d_updated[d] = t
        if action == "move":
            kind = "location"
        elif self.d_state[d] != before_state:
            kind = "transition"
        elif self.d_owner[d] != before_owner:
            kind = "owner"
        else:
            kind = "location"
        self.event(
            d,
            kind,
            action,
            before_state,
            self.d_state[d],
            src,
            dst,
            before_owner,
            self.d_owner[d],
            mid,
            t,
            ref=ref,
            reason=reason,
        )
        return mid

    def take_device(self, pair: Pair) -> int:
        """A free device in storage: from the fullest location, New before Used."""
        loc = max(pair.avail, key=lambda k: (len(pair.avail[k]), -k))
        devices = pair.avail[loc]
        d = devices.pop()
        if not devices:
            del pair.avail[loc]
        return d

    def put_device(self, pair: Pair, d: int, loc: int) -> None:
        pair.avail.setdefault(loc, []).append(d)
