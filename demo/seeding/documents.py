"""The documents: orders, invoices, credit notes, rentals, own devices."""

from __future__ import annotations

from devices.models import State

from .sizes import (
    CREDIT_SHARE,
    Kind,
)
from .state import Doc, Line, Player, round_div


class Documents(Player):
    """A document's steps: create, confirm (reserve), dispatch, complete, post, cancel, credit."""

    # -- documents

    def on_doc(self, t, arg):
        """A document's next step: arg is a plan name (a new document) or (doc, step)."""
        if isinstance(arg, str):
            self.doc_create(t, arg)
        else:
            doc, step = arg
            getattr(self, f"doc_{step}")(t, doc)

    def doc_number(self, prefix: str) -> str:
        self.number[prefix] += 1
        return f"{prefix}-{self.number[prefix]:06d}"

    def doc_create(self, t, plan):
        rng = self.rng
        w = 0 if rng.random() < 0.65 else 1
        party = rng.choice(self.contact_ids) if rng.random() < 0.85 else rng.choice(self.party_ids)
        doc = Doc(plan, party, w, t)
        n_lines = rng.choices((1, 2, 3, 4), (45, 30, 15, 10))[0]
        seen = set()
        for position in range(1, n_lines + 1):
            i = self.pick_product(w)
            if i is None or i in seen:
                continue
            seen.add(i)
            traceable = self.p_traceable[i]
            rental = traceable and doc.type == "order" and rng.random() < 0.18
            if traceable:
                milli = rng.choices((1, 2, 3, 5, 10), (35, 25, 15, 15, 10))[0] * 1000
            elif self.p_step[i] == 1000:
                milli = rng.choices((1, 2, 3, 5, 10, 20), (30, 25, 15, 15, 10, 5))[0] * 1000
            else:
                milli = rng.choice((5000, 10000, 20000, 25000, 50000, 100000))
                if rng.random() < 0.3:
                    milli += rng.randrange(1, 999)
            price = self.p_rental[i] if rental else self.p_price[i]
            until = None
            if rental:
                until = t // 86400 + rng.randrange(30, 240)
            doc.lines.append(Line(i, milli, price, "rental" if rental else "sale", until, position))
        if not doc.lines:
            i = self.pick_product(w)
            if i is None:
                i = next(k for k in range(len(self.p_id)) if self.stocked[k])
            w = doc.w = self.stocked[i][0]
            doc.lines.append(
                Line(
                    i,
                    self.p_step[i] if self.p_step[i] == 1000 else 10000,
                    self.p_price[i],
                    "sale",
                    None,
                    1,
                )
            )
        if doc.type == "order":
            doc.number = self.doc_number("ORD")
            self.orders.append(doc)
        else:
            doc.number = self.doc_number("INV")
            self.invoices.append(doc)
        doc.id = len(self.orders) if doc.type == "order" else len(self.invoices)
        for line in doc.lines:
            self.line_ids[doc.type] += 1
            line.id = self.line_ids[doc.type]
        if plan in ("order_draft", "invoice_draft"):
            return
        self.push(t + rng.randrange(300, 3600), self.DOC, (doc, "confirm"))

    def doc_confirm(self, t, doc):
        """Confirm an order / issue an invoice: reserve every line (shrunk to what is free)."""
        rng = self.rng
        shrunk = {}
        for line in doc.lines:
            pair = self.pairs.get((line.i, doc.w))
            free = pair.available if pair else 0
            step = 1000 if self.p_traceable[line.i] else self.p_step[line.i]
            shrunk[line.id] = min(line.qty, (free // step) * step)
        if not any(shrunk.values()):
            # Nothing to reserve: the clerk cancels it, as it was typed.
            doc.status = "cancelled"
            doc.cancelled = doc.updated = t
            return
        # The clerk trims the lines to what is free (and drops those with nothing).
        kept = []
        for line in doc.lines:
            if shrunk[line.id] > 0:
                line.qty = shrunk[line.id]
                kept.append(line)
        doc.lines = kept
        for line in kept:
            pair = self.pairs[(line.i, doc.w)]
            pair.reserved += line.qty
            rid = self.new_id("warehouse_reservation")
            line.reservation = [rid, "open", None, t]
            self.reorder_check(pair)
        if doc.type == "order":
            doc.status, doc.confirmed = "confirmed", t
        else:
            doc.status, doc.issued = "issued", t
        doc.updated = t
        plan = doc.plan
        if plan == "order_completed":
            if rng.random() < 0.5:
                self.push(t + rng.randrange(3600, 30 * 3600), self.DOC, (doc, "dispatch"))
            else:
                self.push(t + rng.randrange(1800, 6 * 3600), self.DOC, (doc, "complete"))
        elif plan == "order_dispatched":
            self.push(t + rng.randrange(1800, 30 * 3600), self.DOC, (doc, "dispatch"))
        elif plan in ("order_cancelled", "invoice_cancelled"):
            self.push(t + rng.randrange(3600, 5 * 86400), self.DOC, (doc, "cancel"))
        elif plan == "invoice_posted":
            self.push(t + rng.randrange(1800, 3 * 86400), self.DOC, (doc, "post"))

    def consume(self, t, doc, line):
        pair = self.pairs[(line.i, doc.w)]
        pair.reserved -= line.qty
        line.reservation[1], line.reservation[2] = "consumed", t

    def stock_out(self, t, doc, line, kind, action, batch):
        """Counted goods leave storage, fullest location first; returns Σ qty × cost."""
        pair = self.pairs[(line.i, doc.w)]
        dst = self.virtual[doc.w][kind]
        left = line.qty
        value = 0
        for loc, held in sorted(pair.storage.items(), key=lambda kv: (-kv[1], kv[0])):
            take = min(left, held)
            self.track_costs = []
            self.move(line.i, take, loc, dst, action, t, ref=doc.number, batch=batch)
            value += sum(m * c for m, c in self.track_costs)
            self.track_costs = None
            left -= take
            if left <= 0:
                break
        assert left == 0, ("stock out", self.p_sku[line.i], left)
        self.reorder_check(pair)
        return value

    def doc_dispatch(self, t, doc):
        batch = self.uuid()
        for line in sorted(doc.lines, key=lambda li: (li.i, li.id)):
            self.consume(t, doc, line)
            pair = self.pairs[(line.i, doc.w)]
            if self.p_traceable[line.i]:
                for _ in range(line.qty // 1000):
                    d = self.take_device(pair)
                    self.device_move(
                        d,
                        self.virtual[doc.w][Kind.DISPATCHED],
                        "dispatch",
                        "dispatch",
                        t,
                        state=State.DISPATCHED,
                        holder=doc.party,
                        ref=doc.number,
                        batch=batch,
                    )
                    line.devices.append(d)
                self.reorder_check(pair)
            else:
                self.stock_out(t, doc, line, Kind.DISPATCHED, "dispatch", batch)
        doc.status, doc.dispatched, doc.updated = "dispatched", t, t
        if doc.plan == "order_completed":
            self.push(t + self.rng.randrange(3600, 72 * 3600), self.DOC, (doc, "complete"))

    def doc_complete(self, t, doc):
        rng = self.rng
        dispatched = doc.status == "dispatched"
        batch = self.uuid()
        sales = [line for line in doc.lines if line.kind == "sale"]
        invoice = None
        if sales:
            invoice = Doc("invoice_of_order", doc.party, doc.w, t)
            invoice.number = self.doc_number("INV")
            self.invoices.append(invoice)
            invoice.id = len(self.invoices)
            invoice.status, invoice.issued, invoice.posted = "posted", t, t
            invoice.order = doc
            doc.invoice = invoice
        for line in sorted(doc.lines, key=lambda li: (li.i, li.id)):
            pair = self.pairs[(line.i, doc.w)]
            if not dispatched:
                self.consume(t, doc, line)
            if line.kind == "sale":
                copy = Line(line.i, line.qty, line.price, "sale", None, line.position)
                self.line_ids["invoice"] += 1
                copy.id = self.line_ids["invoice"]
                invoice.lines.append(copy)
                self.sell(t, doc, line, copy, batch, from_dispatched=dispatched, pair=pair)
            else:
                devices = line.devices or [self.take_device(pair) for _ in range(line.qty // 1000)]
                line.devices = devices
                for d in devices:
                    self.device_move(
                        d,
                        self.virtual[doc.w][Kind.RENTED],
                        "rent",
                        "rent",
                        t,
                        state=State.RENTED,
                        holder=doc.party,
                        ref=doc.number,
                        batch=batch,
                    )
                    rental = [
                        self.new_id("billing_rental"),
                        t,
                        line.until,
                        None,
                        d,
                        line,
                        doc.party,
                        None,
                        doc.number,
                    ]
                    self.rentals.append(rental)
                    back = (line.until or 0) * 86400 + rng.randrange(-5 * 86400, 10 * 86400)
                    if rng.random() < 0.8:
                        self.push(max(back, t + 86400), self.RENTAL_BACK, (rental, doc.w))
                self.reorder_check(pair)
        doc.status, doc.completed, doc.updated = "completed", t, t
        if invoice is not None:
            invoice.updated = t
            self.credit_maybe(t, invoice)

    def sell(self, t, doc, line, invoice_line, batch, *, from_dispatched, pair):
        if self.p_traceable[line.i]:
            if not line.devices:
                line.devices = [self.take_device(pair) for _ in range(line.qty // 1000)]
            total = 0
            for d in line.devices:
                self.track_costs = []
                self.device_move(
                    d,
                    self.virtual[doc.w][Kind.SOLD],
                    "sell",
                    "sell",
                    t,
                    state=State.SOLD,
                    owner=doc.party,
                    holder=None,
                    ref=doc.number,
                    batch=batch,
                )
                total += self.track_costs[0][1]
                self.track_costs = None
            invoice_line.devices = list(line.devices)
            invoice_line.unit_cost = round_div(total, len(line.devices))
            self.reorder_check(pair)
        elif from_dispatched:
            self.track_costs = []
            self.move(
                line.i,
                line.qty,
                self.virtual[doc.w][Kind.DISPATCHED],
                self.virtual[doc.w][Kind.SOLD],
                "sell",
                t,
                ref=doc.number,
                batch=batch,
            )
            invoice_line.unit_cost = self.track_costs[0][1]
            self.track_costs = None
        else:
            value = self.stock_out(t, doc, line, Kind.SOLD, "sell", batch)
            invoice_line.unit_cost = round_div(value, line.qty)

    def doc_post(self, t, doc):
        batch = self.uuid()
        for line in sorted(doc.lines, key=lambda li: (li.i, li.id)):
            self.consume(t, doc, line)
            pair = self.pairs[(line.i, doc.w)]
            self.sell(t, doc, line, line, batch, from_dispatched=False, pair=pair)
        doc.status, doc.posted, doc.updated = "posted", t, t
        self.credit_maybe(t, doc)

    def doc_cancel(self, t, doc):
        for line in doc.lines:
            if line.reservation and line.reservation[1] == "open":
                pair = self.pairs[(line.i, doc.w)]
                pair.reserved -= line.qty
                line.reservation[1], line.reservation[2] = "released", t
        doc.status, doc.cancelled, doc.updated = "cancelled", t, t

    def credit_maybe(self, t, invoice):
        rng = self.rng
        if rng.random() < CREDIT_SHARE:
            self.push(t + rng.randrange(3 * 86400, 40 * 86400), self.CREDIT, invoice)

    def on_credit(self, t, invoice):
        """A credit note brings part of a sold line back to storage."""
        rng = self.rng
        line = rng.choice(invoice.lines)
        pair = self.pairs[(line.i, invoice.w)]
        dst = rng.choice(pair.home) if pair.home else self.stock_loc[invoice.w]
        number = self.doc_number("CN")
        batch = self.uuid()
        if self.p_traceable[line.i]:
            d = rng.choice(line.devices)
            if self.d_state[d] != State.SOLD:
                self.number["CN"] -= 1
                return
            self.device_move(
                d,
                dst,
                "return",
                "return",
                t,
                state=State.USED,
                owner=None,
                holder=None,
                ref=number,
                batch=batch,
                cost=line.unit_cost,
            )
            self.put_device(pair, d, dst)
            milli = 1000
        else:
            step = self.p_step[line.i]
            milli = max(step, (line.qty // 2 // step) * step) if step == 1000 else line.qty // 2
            if milli <= 0:
                self.number["CN"] -= 1
                return
            self.move(
                line.i,
                milli,
                self.virtual[invoice.w][Kind.SOLD],
                dst,
                "return",
                t,
                cost=line.unit_cost,
                ref=number,
                batch=batch,
            )
            d = None
        self.credit_notes.append((number, t, invoice, line, milli, d, dst))

    def on_rental_back(self, t, arg):
        rental, w = arg
        d = rental[4]
        if self.d_state[d] != State.RENTED:
            return
        pair = self.pairs[(self.d_product[d], w)]
        dst = self.rng.choice(pair.home) if pair.home else self.stock_loc[w]
        self.device_move(
            d,
            dst,
            "return_rental",
            "return_rental",
            t,
            state=State.USED,
            holder=None,
            ref=rental[8],
            batch=self.uuid(),
        )
        self.put_device(pair, d, dst)
        rental[3] = t
        rental[7] = dst

    def own_devices_register(self):
        """Customers' own devices: never in the warehouse, owned by a contact."""
        rng = self.rng
        traceable = [i for i in range(len(self.p_id)) if self.p_traceable[i]]
        for k in range(self.own_devices):
            i = rng.choice(traceable)
            d = len(self.d_product)
            t = self.workday_time(rng.randrange(self.size.days))
            owner = rng.choice(self.contact_ids)
            self.d_product.append(i)
            self.d_serial.append(f"CUST-{k + 1:06d}")
            self.d_eid.append("")
            self.d_state.append(State.OWN)
            self.d_prev.append(State.OWN)
            self.d_loc.append(None)
            self.d_owner.append(owner)
            self.d_holder.append(None)
            self.d_created.append(t)
            self.d_updated.append(t)
            self.d_package.append(None)
            self.event(
                d,
                "transition",
                "register_own",
                "",
                State.OWN,
                None,
                None,
                None,
                owner,
                None,
                t,
                reason="Customer brought it for service",
            )
