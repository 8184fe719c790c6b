"""Reference data, products and parties, and the plan of who stocks what."""

from __future__ import annotations

import io
import time
from decimal import Decimal

from django.db import connection

from devices.models import DeviceStatus, State
from warehouse import services
from warehouse.models import Location

from .sizes import (
    BIG_TABLES,
    BRANDS,
    BUSINESSES,
    CATEGORIES,
    COLOURS,
    DOCUMENTS_PER_PLAN,
    FIRST,
    LAST,
    OPEN_PLANS,
    PLACES,
    PLANS,
    STREETS,
    TOWNS,
    TRADES,
    Kind,
)
from .state import Pair, Player


class Catalogue(Player):
    """Warehouses, locations, statuses by the ORM; products and parties by COPY; the plan."""

    def reference(self) -> None:
        """Warehouses (with their virtual locations), locations and device statuses: the ORM."""
        started = time.monotonic()
        size = self.size
        self.warehouses = [
            services.warehouse_create(code="main", name="Main warehouse", address="Harbour Rd 12"),
            services.warehouse_create(code="north", name="North depot", address="Mill St 3"),
        ]
        self.loc_kind: dict[int, str] = {}
        self.loc_wh: dict[int, int] = {}  # location id → warehouse index
        self.virtual: list[dict[str, int]] = []
        self.bins: list[list[int]] = []  # storage locations per warehouse
        self.stock_loc: list[int] = []  # the "Main storage" of each warehouse
        self.incoming: list[list[int]] = []
        self.quarantine: list[list[int]] = []
        real = max(10, size.locations)
        shares = (0.62, 0.38)
        for w, warehouse in enumerate(self.warehouses):
            virtual = services.virtual_locations_ensure(warehouse=warehouse)
            self.virtual.append({kind: loc.pk for kind, loc in virtual.items()})
            for loc in virtual.values():
                self.loc_kind[loc.pk], self.loc_wh[loc.pk] = str(loc.kind), w
            stock = Location.objects.get(warehouse=warehouse, code="STOCK")
            n_in = 2 if w == 0 and real >= 40 else 1
            n_qa = 2 if w == 0 and real >= 40 else 1
            n_storage = max(3, round(real * shares[w]) - n_in - n_qa - 1)
            prefix = "A" if w == 0 else "N"
            racks = max(1, min(20, n_storage // 16))
            new = []
            made = 0
            aisle = 1
            while made < n_storage:
                for rack in range(1, racks + 1):
                    for level in range(1, 5):
                        if made >= n_storage:
                            break
                        new.append(
                            Location(
                                warehouse=warehouse,
                                code=f"{prefix}{aisle:02d}-{rack:02d}-{level}",
                                name=f"Aisle {prefix}{aisle}, rack {rack}, level {level}",
                                kind=Kind.STORAGE,
                            )
                        )
                        made += 1
                aisle += 1
            new += [
                Location(
                    warehouse=warehouse,
                    code=f"IN-{n}",
                    name=f"Goods receipt {n}",
                    kind=Kind.INCOMING,
                )
                for n in range(1, n_in + 1)
            ]
            new += [
                Location(
                    warehouse=warehouse,
                    code=f"QA-{n}",
                    name=f"Quarantine cage {n}",
                    kind=Kind.QUARANTINE,
                )
                for n in range(1, n_qa + 1)
            ]
            made_locations = Location.objects.bulk_create(new)
            self.stock_loc.append(stock.pk)
            self.loc_kind[stock.pk], self.loc_wh[stock.pk] = Kind.STORAGE, w
            bins, incoming, quarantine = [], [], []
            for loc in made_locations:
                self.loc_kind[loc.pk], self.loc_wh[loc.pk] = str(loc.kind), w
                {Kind.STORAGE: bins, Kind.INCOMING: incoming, Kind.QUARANTINE: quarantine}[
                    loc.kind
                ].append(loc.pk)
            self.bins.append(bins)
            self.incoming.append(incoming)
            self.quarantine.append(quarantine)
        self.statuses: dict[str, list[int]] = {}
        for state, names in (
            (State.USED, ["Awaiting test", "Tested OK", "Refurbished"]),
            (State.BLOCKED, ["Faulty", "Missing parts", "Held for audit"]),
            (State.NEW, ["Sealed box"]),
        ):
            for name in names:
                status, _ = DeviceStatus.objects.get_or_create(state=state, name=name)
                self.statuses.setdefault(state, []).append(status.pk)
        self.step("reference data", started)

    def ids_start(self) -> None:
        """The next free id of each table (they are empty on a first seed, but need not be)."""
        self.next_id = {}
        with connection.cursor() as cursor:
            for table in BIG_TABLES:
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
                self.next_id[table] = cursor.fetchone()[0]

    def new_id(self, table: str) -> int:
        self.next_id[table] += 1
        return self.next_id[table]

    # ----------------------------------------------------------------------- catalogue

    def catalogue(self) -> None:
        """Products and parties: realistic names, seeded, written by COPY."""
        started = time.monotonic()
        rng, size = self.rng, self.size
        n = size.products
        traceable_cats = [c for c in CATEGORIES if c[3]]
        counted_cats = [c for c in CATEGORIES if not c[3]]
        n_traceable = max(3, round(n * 0.3))
        self.p_id, self.p_sku, self.p_name, self.p_traceable = [], [], [], []
        self.p_unit, self.p_cost, self.p_price, self.p_rental, self.p_step = [], [], [], [], []
        self.p_prefix, self.p_active = [], []
        skus = set()
        rows = io.StringIO()
        created = self.ts(0)
        for index in range(n):
            traceable = index < n_traceable
            code, noun, unit, _, (low, high), models_ = rng.choice(
                traceable_cats if traceable else counted_cats
            )
            if unit == "kg" and rng.random() < 0.5:
                unit = "box"
            brand = rng.choice(BRANDS)
            model = rng.choice(models_)
            while True:
                number = rng.randrange(100, 10000)
                variant = rng.choice("ABCDEFGHJKLMNPRSTX")
                sku = f"{code}-{brand[:3].upper()}-{number}{variant}"
                if sku not in skus:
                    skus.add(sku)
                    break
            extra = rng.choice(COLOURS) if not traceable and rng.random() < 0.5 else ""
            name = f"{brand} {noun} {model} {number}{variant}" + (f", {extra}" if extra else "")
            cost = low * (high / low) ** rng.random()
            cost_tenk = max(100, round(cost * 10000))
            price = Decimal(cost_tenk * rng.uniform(1.3, 1.9) / 10000).quantize(Decimal("0.01"))
            rental = (
                Decimal(cost_tenk * rng.uniform(0.05, 0.1) / 10000).quantize(Decimal("0.01"))
                if traceable
                else Decimal("0.00")
            )
            active = traceable or rng.random() > 0.01
            pid = self.new_id("warehouse_product")
            self.p_id.append(pid)
            self.p_sku.append(sku)
            self.p_name.append(name)
            self.p_traceable.append(traceable)
            self.p_unit.append(unit)
            self.p_cost.append(cost_tenk)
            self.p_price.append(price)
            self.p_rental.append(rental)
            self.p_step.append(1000 if unit in ("pcs", "box") else 1)
            self.p_prefix.append(f"{brand[0]}{code[0]}{number % 100:02d}")
            self.p_active.append(active)
            rows.write(
                f"{pid}\t{sku}\t{name}\t\t{'t' if traceable else 'f'}\t{unit}\t"
                f"{'t' if active else 'f'}\t{created}\t{rental}\t{price}\n"
            )
        self.copy(
            "warehouse_product",
            "id, sku, name, description, traceable, unit, active, created_at, rental_price,"
            " sale_price",
            rows.getvalue(),
        )
        # Parties: mostly contacts (people and small businesses), some merchants.
        rows = io.StringIO()
        self.party_ids, self.contact_ids, self.merchant_names = [], [], []
        for index in range(size.parties):
            merchant = index < max(3, size.parties // 12)
            if merchant:
                name = f"{rng.choice(PLACES)} {rng.choice(TRADES)}"
                if rng.random() < 0.5:
                    name = f"{rng.choice(BRANDS)} {rng.choice(TRADES)}"
            elif rng.random() < 0.55:
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            else:
                name = f"{rng.choice(PLACES)} {rng.choice(BUSINESSES)}"
            email = (
                "".join(c for c in name.lower().replace(" ", ".") if c.isalnum() or c == ".")
                + f"{index}@example.com"
            )
            phone = (
                f"+46 {rng.randrange(10, 99)} {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}"
            )
            address = f"{rng.choice(STREETS)} {rng.randrange(1, 120)}, {rng.choice(TOWNS)}"
            vat = f"SE{rng.randrange(10**11, 10**12)}01" if merchant or " " in name else ""
            pid = self.new_id("warehouse_party")
            kind = "merchant" if merchant else "contact"
            created = self.ts(rng.randrange(self.span))
            rows.write(f"{pid}\t{kind}\t{name}\t{email}\t{phone}\t{address}\t{vat}\tt\t{created}\n")
            self.party_ids.append(pid)
            if merchant:
                self.merchant_names.append(name)
            else:
                self.contact_ids.append(pid)
        self.copy(
            "warehouse_party",
            "id, kind, name, email, phone, address, vat_number, active, created_at",
            rows.getvalue(),
        )
        self.suppliers = self.merchant_names[: max(3, min(40, len(self.merchant_names)))]
        self.step("catalogue", started)

    # ----------------------------------------------------------------------- the plan

    def plan(self) -> None:
        """Popularity, who stocks what where, device budgets, documents to come."""
        rng, size = self.rng, self.size
        n = size.products
        order = list(range(n))
        rng.shuffle(order)
        weight = [0.0] * n
        for rank, i in enumerate(order):
            weight[i] = 1.0 / (rank + 8) ** 0.85
        total = sum(weight)
        self.weight = [w / total for w in weight]
        self.cum = []
        acc = 0.0
        for w in self.weight:
            acc += w
            self.cum.append(acc)
        self.pairs: dict[tuple[int, int], Pair] = {}
        self.stocked: list[list[int]] = [[] for _ in range(n)]  # warehouses per product
        for i in range(n):
            if not self.p_active[i]:
                continue
            ws = [0] if rng.random() < 0.65 else ([1] if rng.random() < 0.3 else [0, 1])
            for w in ws:
                pair = self.pair(i, w)
                bins = self.bins[w]
                pair.home = rng.sample(bins, min(len(bins), rng.choice((1, 1, 2, 3))))
            self.stocked[i] = ws
        # Documents (top-level plans), in time order.
        n_plans = max(10, round(size.documents / DOCUMENTS_PER_PLAN))
        kinds = [k for k, _ in PLANS]
        shares = [s for _, s in PLANS]
        last_days = min(21, size.days // 4)
        plans = []
        for _ in range(n_plans):
            plan = rng.choices(kinds, shares)[0]
            if plan in OPEN_PLANS:
                day = size.days - 1 - rng.randrange(last_days)
            else:
                day = rng.randrange(min(30, size.days // 4), size.days)
            plans.append((self.workday_time(day), plan))
        plans.sort()
        self.plans = plans
        lines_expected = n_plans * 1.9
        traceable_units = [0.0] * n
        self.high_counted = [0] * n
        for i in range(n):
            demand = lines_expected * self.weight[i]
            if self.p_traceable[i]:
                traceable_units[i] = demand * 3.0
            else:
                mean = 4000 if self.p_step[i] == 1000 else 30000
                per_60_days = demand * mean * 60 / size.days
                self.high_counted[i] = max(
                    self.p_step[i] * 12 if self.p_step[i] == 1000 else 50_000,
                    round(per_60_days * 1.5),
                )
        # Devices: own devices a few, the rest come through the ledger.
        self.own_devices = max(1, size.devices // 200)
        ledger_devices = size.devices - self.own_devices
        traceable = [i for i in range(n) if self.p_traceable[i] and self.stocked[i]]
        want = [traceable_units[i] * 1.6 + 1 for i in traceable]
        scale = ledger_devices / sum(want)
        budget = {i: max(1, int(w * scale)) for i, w in zip(traceable, want, strict=True)}
        left = ledger_devices - sum(budget.values())
        k = 0
        while left != 0 and traceable:
            i = traceable[k % len(traceable)]
            if left > 0:
                budget[i] += 1
                left -= 1
            elif budget[i] > 1:
                budget[i] -= 1
                left += 1
            k += 1
        self.budget = budget
        for (i, w), pair in self.pairs.items():
            if self.p_traceable[i]:
                share = 1 if len(self.stocked[i]) == 1 else (0.65 if w == 0 else 0.35)
                chunks = self.restocks(budget.get(i, 0))
                pair.high = max(1, round(budget.get(i, 0) * share / chunks)) * 1000
            else:
                share = 1 if len(self.stocked[i]) == 1 else (0.65 if w == 0 else 0.35)
                pair.high = max(self.p_step[i], round(self.high_counted[i] * share))
                if self.p_step[i] == 1000:
                    pair.high = -(-pair.high // 1000) * 1000
            pair.low = pair.high * 3 // 10

    @staticmethod
    def restocks(budget: int) -> int:
        """How many deliveries bring a traceable product's devices over the years."""
        return max(1, min(12, budget // 12))

    def pair(self, i: int, w: int) -> Pair:
        pair = self.pairs.get((i, w))
        if pair is None:
            pair = self.pairs[(i, w)] = Pair(i, w)
        return pair

    def pick_product(self, w: int) -> int | None:
        from bisect import bisect_left

        for _ in range(6):
            i = min(bisect_left(self.cum, self.rng.random()), len(self.cum) - 1)
            if w in self.stocked[i]:
                return i
        return None
