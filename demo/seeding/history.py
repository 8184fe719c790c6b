"""Demo data at scale: a reproducible history written by COPY, projections derived in SQL.

`seed_demo --scale M|L` calls `seed_scale`. A seeded `random.Random` plays
two years of a back office in time order, one event at a time: deliveries
(into storage, or into an incoming location and put away later), re-slotting
moves, isolations and their outcome, stocktake adjustments, removals,
transfers between the warehouses, blocked devices, and documents — orders
that are confirmed (reserving), dispatched, completed (invoiced, sold,
rented), cancelled; invoices issued and posted; rentals coming back; credit
notes. The player keeps, per product × warehouse, what each location holds,
what is reserved and blocked, the moving average cost and the FIFO layers,
and applies the services' rules to every step (no real location below zero
at any point of the ledger, nothing leaves storage that is reserved or
blocked, devices only where their state allows). It writes final rows only
(the ledger refuses UPDATE and DELETE): movements stream into the ledger by
COPY while the history plays; devices, history events, packages, layers,
documents and reservations follow by COPY.

Then the cached projections are derived set-based in SQL from what was
written: positions = Σ in − Σ out of the ledger per product × location,
warehouse balances = positions summed by location kind, reserved = Σ open
reservations, blocked = blocked devices in storage. Two figures come from the
player rather than SQL, because they are the running state of the services'
own rules: the moving average cost (a recurrence over the ledger) and the
FIFO layers, one per stock-in line (and per slice carried across warehouses,
and per adjustment up or credit-note return), consumed oldest first by each
movement that leaves ownership, with a consumption row each.

While loading, the big tables' secondary indexes and foreign keys are
dropped and recreated from their own catalogue definitions (as pg_restore
does), all in the one transaction: a failure leaves nothing behind.
`warehouse.invariants` (manage.py check_books) verifies the result with SQL.
"""

from __future__ import annotations

import gc
import heapq
import io
import time
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction

from devices.models import DeviceStatus, State
from warehouse import services
from warehouse.models import Location

Kind = Location.Kind

# --------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Size:
    """What a scale holds. Movements are a target the history stays close to."""

    products: int
    locations: int  # real locations, in both warehouses
    movements: int
    devices: int
    parties: int
    documents: int
    days: int = 730


SIZES = {
    # For tests: seconds, not minutes.
    "XS": Size(
        products=60, locations=16, movements=4_000, devices=300, parties=40, documents=80, days=120
    ),
    "M": Size(
        products=2_000,
        locations=200,
        movements=200_000,
        devices=20_000,
        parties=2_000,
        documents=5_000,
    ),
    "L": Size(
        products=20_000,
        locations=1_000,
        movements=2_000_000,
        devices=200_000,
        parties=20_000,
        documents=50_000,
    ),
}


def size_scaled(factor: float) -> Size:
    """L scaled by `factor` (the hidden --size-factor), with small floors so it stays alive."""
    big = SIZES["L"]
    return replace(
        big,
        products=max(30, round(big.products * factor)),
        locations=max(10, round(big.locations * factor)),
        movements=max(1_000, round(big.movements * factor)),
        devices=max(60, round(big.devices * factor)),
        parties=max(20, round(big.parties * factor)),
        documents=max(30, round(big.documents * factor)),
        days=big.days if factor >= 0.05 else 120,
    )


# --------------------------------------------------------------------------- vocabulary

# code, noun, unit, traceable, cost range (EUR), brands, model words
CATEGORIES = [
    ("RTR", "router", "pcs", True, (35, 180), ["hAP", "AX", "RB", "Edge"]),
    ("SW", "switch", "pcs", True, (60, 900), ["24P", "48P", "8P", "16P"]),
    ("AP", "access point", "pcs", True, (50, 300), ["Wi-Fi 6", "Wi-Fi 6E", "Wi-Fi 7", "Outdoor"]),
    ("ONT", "GPON ONT modem", "pcs", True, (25, 90), ["G-140", "HG8", "F601", "XS-2"]),
    ("MDM", "4G/5G router", "pcs", True, (80, 400), ["LTE", "5G", "Cat 12", "Cat 6"]),
    ("PHN", "IP desk phone", "pcs", True, (40, 260), ["T46", "T54", "D785", "CP-8"]),
    ("POS", "card payment terminal", "pcs", True, (120, 480), ["A8", "V240", "Move 5", "S1F2"]),
    ("LTP", "laptop", "pcs", True, (450, 1900), ['14"', '15.6"', '13"', '16"']),
    ("MON", "monitor", "pcs", True, (90, 650), ['24" IPS', '27" QHD', '32" 4K', '22"']),
    ("UPS", "UPS", "pcs", True, (70, 900), ["1500 VA", "800 VA", "3000 VA", "2200 VA"]),
    ("TAB", "tablet", "pcs", True, (150, 900), ['10.9"', '8.7"', '12.4"', '11"']),
    ("CAM", "IP camera", "pcs", True, (45, 420), ["Dome 4MP", "Bullet 8MP", "PTZ", "Turret"]),
    ("SCN", "barcode scanner", "pcs", True, (60, 350), ["2D", "1D", "Rugged", "Cordless"]),
    ("NAS", "NAS", "pcs", True, (180, 1400), ["2-bay", "4-bay", "8-bay", "Rack 12-bay"]),
    ("CAB", "network cable", "m", False, (0.2, 2.5), ["Cat 6", "Cat 6A", "Cat 7", "Cat 5e"]),
    ("PAT", "patch cord", "pcs", False, (0.8, 9), ["0.5 m", "1 m", "2 m", "5 m"]),
    ("FIB", "fibre drop cable", "m", False, (0.3, 3), ["SM 2F", "SM 4F", "MM 12F", "SM 1F"]),
    ("CON", "connectors", "box", False, (6, 60), ["RJ45", "RJ11", "LC", "SC/APC"]),
    ("PSU", "power supply", "pcs", False, (4, 60), ["12 V", "24 V", "48 V PoE", "5 V USB"]),
    ("BAT", "battery", "pcs", False, (1, 90), ["AA", "18650", "12 V 7 Ah", "CR2032"]),
    ("MNT", "mounting bracket", "pcs", False, (2, 45), ["wall", "pole", "ceiling", "rack 1U"]),
    ("FAS", "screws", "kg", False, (4, 25), ["M3", "M4", "M6", "wood 4x40"]),
    ("CLN", "cleaning fluid", "l", False, (3, 20), ["IPA 99%", "contact", "screen", "optic"]),
    ("LBL", "label roll", "pcs", False, (3, 25), ["62 mm", "29 mm", "102 mm", "12 mm"]),
    ("SFP", "SFP module", "pcs", False, (8, 220), ["1G LX", "10G SR", "10G LR", "1G T"]),
    ("TAP", "tape", "pcs", False, (1, 12), ["PVC", "duct", "kapton", "fibre"]),
    ("TIE", "cable ties", "box", False, (3, 18), ["200 mm", "300 mm", "velcro", "UV"]),
]
BRANDS = [
    "Aster",
    "Borealis",
    "Cobalt",
    "Delta",
    "Elmo",
    "Fjord",
    "Granite",
    "Helix",
    "Ion",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "Nordlys",
    "Orion",
    "Polar",
    "Quartz",
    "Rune",
    "Sigma",
    "Tundra",
    "Umbra",
    "Vanta",
    "Wren",
    "Xeno",
    "Yarrow",
    "Zephyr",
]
COLOURS = ["grey", "black", "white", "blue", "yellow", "red", "green", "orange"]
FIRST = [
    "Anna",
    "Erik",
    "Maja",
    "Lars",
    "Sofia",
    "Jonas",
    "Elin",
    "Oskar",
    "Ida",
    "Nils",
    "Sara",
    "Mikael",
    "Emma",
    "Johan",
    "Linnea",
    "Anders",
    "Karin",
    "Peter",
    "Hanna",
    "Olof",
    "Tove",
    "Viktor",
    "Alva",
    "Henrik",
    "Freja",
    "Magnus",
    "Ingrid",
    "Leo",
    "Astrid",
    "Emil",
    "Greta",
    "Axel",
    "Liv",
    "Hugo",
    "Signe",
    "Isak",
    "Ebba",
    "Ture",
    "Vera",
    "Sven",
]
LAST = [
    "Lindqvist",
    "Berg",
    "Andersson",
    "Nilsson",
    "Holm",
    "Ek",
    "Sundberg",
    "Lund",
    "Dahl",
    "Strand",
    "Nyberg",
    "Björk",
    "Wikström",
    "Sandberg",
    "Forsberg",
    "Engström",
    "Hedlund",
    "Lindgren",
    "Axelsson",
    "Falk",
    "Hagen",
    "Moberg",
    "Nordin",
    "Öberg",
    "Rask",
    "Sjöberg",
    "Vik",
    "Åberg",
    "Ström",
    "Blom",
]
PLACES = [
    "Harbour",
    "Aurora",
    "Greenfield",
    "Mill Street",
    "Northgate",
    "Riverside",
    "Lakeside",
    "Old Town",
    "Hillcrest",
    "Seaview",
    "Birchwood",
    "Stonebridge",
    "Market Square",
    "Parkside",
]
BUSINESSES = [
    "Café",
    "Dental Clinic",
    "School",
    "Hotel",
    "Bakery",
    "Pharmacy",
    "Library",
    "Gym",
    "Kindergarten",
    "Veterinary",
    "Garage",
    "Florist",
    "Bookshop",
    "Hair Studio",
    "Restaurant",
]
TRADES = [
    "Telecom Supply",
    "Electronics Wholesale",
    "Repairs & Service",
    "Networks",
    "Distribution",
    "IT Solutions",
    "Cable Works",
    "Logistics",
]
STREETS = ["Harbour Rd", "Mill St", "King St", "Birch Ave", "Station Rd", "Church Ln", "Lake Rd"]
TOWNS = ["Norrby", "Västerå", "Eksjö", "Lund", "Falun", "Visby", "Kiruna", "Mora"]

REASONS_ISOLATE = ["Damaged box", "Returned faulty", "Awaiting test", "Suspected counterfeit"]
REASONS_REMOVE = ["Scrapped", "Lost in transit", "Used for repair", "Damaged beyond repair"]

# Top-level documents: kind, share. Completed orders with sale lines add an invoice each.
PLANS = [
    ("order_completed", 0.38),
    ("order_dispatched", 0.015),
    ("order_confirmed", 0.03),
    ("order_draft", 0.03),
    ("order_cancelled", 0.04),
    ("invoice_posted", 0.42),
    ("invoice_issued", 0.03),
    ("invoice_draft", 0.02),
    ("invoice_cancelled", 0.035),
]
OPEN_PLANS = {
    "order_dispatched",
    "order_confirmed",
    "invoice_issued",
    "order_draft",
    "invoice_draft",
}
CREDIT_SHARE = 0.012
DOCUMENTS_PER_PLAN = 1 + 0.38 * 0.97 + CREDIT_SHARE * 0.8

# Plain strings (not the TextChoices members): they are compared millions of times.
STORAGE, INCOMING, QUARANTINE = "storage", "incoming", "quarantine"
DISPATCHED, RENTED = "dispatched", "rented"
REAL = frozenset((STORAGE, INCOMING, QUARANTINE))
OWNED = REAL | {DISPATCHED, RENTED}
BIG_TABLES = [
    "warehouse_product",
    "warehouse_party",
    "warehouse_movement",
    "warehouse_stockposition",
    "warehouse_warehousestock",
    "warehouse_reservation",
    "warehouse_incomingpackage",
    "warehouse_costlayer",
    "warehouse_layerconsumption",
    "devices_device",
    "devices_deviceevent",
    "billing_order",
    "billing_orderline",
    "billing_orderline_assigned_devices",
    "billing_invoice",
    "billing_invoiceline",
    "billing_invoiceline_devices",
    "billing_creditnote",
    "billing_creditnoteline",
    "billing_rental",
]
# Where the bench finds out that a data set is complete: written last, in the same transaction.
MARKER_TABLE = "billing_seed_marker"

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


class History:
    """Plays the history and writes it; see the module docstring."""

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

    # ----------------------------------------------------------------------- reference data

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

    def step(self, name: str, started: float) -> None:
        self.timings[name] = round(time.monotonic() - started, 2)
        self.log(f"  {name}: {self.timings[name]:.1f} s")

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

    def copy(self, table: str, columns: str, text: str) -> None:
        if not text:
            return
        with connection.cursor() as cursor:
            raw = cursor.cursor if hasattr(cursor, "cursor") else cursor
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(text)

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

    # ----------------------------------------------------------------------- playing

    DELIVERY, PUTAWAY, WORK, DOC, RENTAL_BACK, CREDIT, QA, CATCH_UP, RESTOCK = range(9)

    def play(self) -> None:
        started = time.monotonic()
        rng = self.rng
        self.plan()
        self.step("plan", started)
        started = time.monotonic()
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

    @property
    def mv_count(self) -> int:
        return self.mv_next - self.mv_start

    def behind(self, t: int) -> bool:
        """Is the ledger behind its target at time t? (work only happens then)"""
        return self.mv_next - self.mv_start < self.size.movements * (t / self.span) + 20

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
        row = [package_id, ref, milli, milli * cost // 1000, cost, 0, supplier, t, loc, i, w]
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

    # ----------------------------------------------------------------------- the rest

    def write_rest(self) -> None:
        """Devices, layers, packages, documents, reservations: COPY from what was played."""
        started = time.monotonic()
        rng = self.rng
        w_ids = [w.pk for w in self.warehouses]
        out = io.StringIO()
        for row in self.packages:
            package_id, number, milli, price, cost, put_away, supplier, t, loc, i, w = row
            out.write(
                f"{package_id}\t{number}\t{qty(milli)}\t{money(price)}\t{money(cost)}\t"
                f"{qty(put_away)}\t{supplier}\t{self.ts(t)}\t{loc}\t{self.p_id[i]}\t{w_ids[w]}\n"
            )
        self.copy(
            "warehouse_incomingpackage",
            "id, number, quantity, package_price, unit_cost, put_away, supplier, received_at,"
            " location_id, product_id, warehouse_id",
            out.getvalue(),
        )
        out = io.StringIO()
        for layer in self.layer_rows:
            lid, pid, w, package, number, mid, received, milli, remaining, cost, _ = layer
            out.write(
                f"{lid}\t{number}\t{self.ts(received)}\t{qty(milli)}\t{qty(remaining)}\t"
                f"{money(cost)}\t{mid}\t{pid}\t{w_ids[w]}\t{opt(package)}\n"
            )
        self.copy(
            "warehouse_costlayer",
            "id, package_number, received_at, quantity, remaining, unit_cost, movement_id,"
            " product_id, warehouse_id, package_id",
            out.getvalue(),
        )
        self.copy(
            "warehouse_layerconsumption",
            "id, layer_id, movement_id, quantity, unit_cost",
            self.consumptions.getvalue(),
        )
        # Devices, with a status now and then.
        out = io.StringIO()
        statuses = self.statuses
        for d in range(len(self.d_product)):
            state = self.d_state[d]
            status = None
            if state == State.BLOCKED:
                status = rng.choice(statuses[State.BLOCKED])
            elif state == State.USED and rng.random() < 0.5:
                status = rng.choice(statuses[State.USED])
            elif state == State.NEW and rng.random() < 0.1:
                status = statuses[State.NEW][0]
            loc = self.d_loc[d]
            kind = self.loc_kind[loc] if loc is not None else ""
            out.write(
                f"{d + self.device_base}\t{self.p_id[self.d_product[d]]}\t{self.d_serial[d]}\t"
                f"{self.d_eid[d]}\t{state}\t{opt(status)}\t{opt(self.d_owner[d])}\t"
                f"{opt(self.d_holder[d])}\t{opt(loc)}\t{kind}\t\t{{}}\t\t"
                f"{self.ts(self.d_created[d])}\t{self.ts(self.d_updated[d])}\n"
            )
        self.next_id["devices_device"] = self.device_base + len(self.d_product) - 1
        self.copy(
            "devices_device",
            "id, product_id, serial, electronic_id, state, status_id, owner_id, holder_id,"
            " location_id, location_kind, spot, characteristics, reserved_by, created_at,"
            " updated_at",
            out.getvalue(),
        )
        self.copy(
            "devices_deviceevent",
            "id, device_id, kind, action, from_state, to_state, changes, reason, reference,"
            " actor_id, created_at, from_location_id, from_owner_id, movement_id,"
            " to_location_id, to_owner_id",
            self.events.getvalue(),
        )
        self.step("devices, layers, packages", started)
        started = time.monotonic()
        self.documents_write(w_ids)
        self.step("documents", started)

    def documents_write(self, w_ids) -> None:
        order_base = self.next_id["billing_order"]
        invoice_base = self.next_id["billing_invoice"]
        oline_base = self.next_id["billing_orderline"]
        iline_base = self.next_id["billing_invoiceline"]
        dev = self.device_base
        orders, olines, assigned, reservations = (io.StringIO() for _ in range(4))
        ts = self.ts

        def when(t):
            return N if t is None else ts(t)

        for doc in self.orders:
            oid = order_base + doc.id
            orders.write(
                f"{oid}\t{doc.number}\t\t{ts(doc.created)}\t{ts(doc.updated)}\t{doc.status}\t"
                f"{when(doc.confirmed)}\t{when(doc.dispatched)}\t{when(doc.completed)}\t"
                f"{when(doc.cancelled)}\t{self.clerk}\t{doc.party}\t{w_ids[doc.w]}\n"
            )
            for line in doc.lines:
                lid = oline_base + line.id
                until = (
                    N
                    if line.until is None
                    else (self.t0 + timedelta(days=line.until)).strftime("%Y-%m-%d")
                )
                olines.write(
                    f"{lid}\t{qty(line.qty)}\t{line.price}\t{line.position}\t{line.kind}\t"
                    f"{until}\t\\N\t{oid}\t{self.p_id[line.i]}\n"
                )
                for d in line.devices:
                    assigned.write(
                        f"{self.new_id('billing_orderline_assigned_devices')}\t{lid}\t{d + dev}\n"
                    )
                self.reservation_row(reservations, line, "order", oid, doc, lid, w_ids)
        invoices, ilines, idevices = (io.StringIO() for _ in range(3))
        for doc in self.invoices:
            iid = invoice_base + doc.id
            order = N if doc.order is None else order_base + doc.order.id
            notes = f"For order {doc.order.number}." if doc.order is not None else ""
            invoices.write(
                f"{iid}\t{doc.number}\t{notes}\t{ts(doc.created)}\t{ts(doc.updated)}\t"
                f"{doc.status}\t{when(doc.issued)}\t{when(doc.posted)}\t{when(doc.cancelled)}\t"
                f"{self.clerk}\t{doc.party}\t{w_ids[doc.w]}\t{order}\n"
            )
            for line in doc.lines:
                lid = iline_base + line.id
                line.invoice_line = lid
                ilines.write(
                    f"{lid}\t{qty(line.qty)}\t{line.price}\t{line.position}\t"
                    f"{money(line.unit_cost)}\t\\N\t{iid}\t{self.p_id[line.i]}\n"
                )
                for d in getattr(line, "devices", []) or []:
                    idevices.write(
                        f"{self.new_id('billing_invoiceline_devices')}\t{lid}\t{d + dev}\n"
                    )
                if doc.order is None:
                    self.reservation_row(reservations, line, "invoice", iid, doc, lid, w_ids)
        self.next_id["billing_order"] = order_base + len(self.orders)
        self.next_id["billing_invoice"] = invoice_base + len(self.invoices)
        self.next_id["billing_orderline"] = oline_base + self.line_ids["order"]
        self.next_id["billing_invoiceline"] = iline_base + self.line_ids["invoice"]
        self.copy(
            "billing_order",
            "id, number, notes, created_at, updated_at, status, confirmed_at, dispatched_at,"
            " completed_at, cancelled_at, created_by_id, party_id, warehouse_id",
            orders.getvalue(),
        )
        self.copy(
            "billing_orderline",
            "id, quantity, unit_price, position, kind, rental_until, device_id, order_id,"
            " product_id",
            olines.getvalue(),
        )
        self.copy(
            "billing_orderline_assigned_devices", "id, orderline_id, device_id", assigned.getvalue()
        )
        self.copy(
            "billing_invoice",
            "id, number, notes, created_at, updated_at, status, issued_at, posted_at,"
            " cancelled_at, created_by_id, party_id, warehouse_id, order_id",
            invoices.getvalue(),
        )
        self.copy(
            "billing_invoiceline",
            "id, quantity, unit_price, position, unit_cost, device_id, invoice_id, product_id",
            ilines.getvalue(),
        )
        self.copy(
            "billing_invoiceline_devices", "id, invoiceline_id, device_id", idevices.getvalue()
        )
        self.copy(
            "warehouse_reservation",
            "id, quantity, document_type, document_id, document_number, line_id, status,"
            " created_at, closed_at, product_id, warehouse_id",
            reservations.getvalue(),
        )
        credit, credit_lines = io.StringIO(), io.StringIO()
        for number, t, invoice, line, milli, d, dst in self.credit_notes:
            cid = self.new_id("billing_creditnote")
            credit.write(
                f"{cid}\t{number}\t\t{ts(t)}\t{ts(t)}\tposted\t{ts(t)}\t{self.clerk}\t"
                f"{invoice.party}\t{dst}\t{w_ids[invoice.w]}\t{invoice_base + invoice.id}\t\\N\n"
            )
            credit_lines.write(
                f"{self.new_id('billing_creditnoteline')}\t{qty(milli)}\t{cid}\t"
                f"{N if d is None else d + dev}\t{line.invoice_line}\n"
            )
        self.copy(
            "billing_creditnote",
            "id, number, notes, created_at, updated_at, status, posted_at, created_by_id,"
            " party_id, return_location_id, warehouse_id, invoice_id, cancelled_at",
            credit.getvalue(),
        )
        self.copy(
            "billing_creditnoteline",
            "id, quantity, credit_note_id, device_id, invoice_line_id",
            credit_lines.getvalue(),
        )
        rentals = io.StringIO()
        for rid, t, until, back, d, line, party, dst, _ in self.rentals:
            until_text = (
                N if until is None else (self.t0 + timedelta(days=until)).strftime("%Y-%m-%d")
            )
            rentals.write(
                f"{rid}\t{ts(t)}\t{until_text}\t{when(back)}\t{d + dev}\t{oline_base + line.id}\t"
                f"{party}\t{opt(dst)}\n"
            )
        self.copy(
            "billing_rental",
            "id, started_at, until, returned_at, device_id, order_line_id, party_id,"
            " return_location_id",
            rentals.getvalue(),
        )

    def reservation_row(self, out, line, document_type, document_id, doc, line_id, w_ids):
        if line.reservation is None:
            return
        rid, status, closed, created = line.reservation
        out.write(
            f"{rid}\t{qty(line.qty)}\t{document_type}\t{document_id}\t{doc.number}\t{line_id}\t"
            f"{status}\t{self.ts(created)}\t{N if closed is None else self.ts(closed)}\t"
            f"{self.p_id[line.i]}\t{w_ids[doc.w]}\n"
        )

    # ----------------------------------------------------------------------- projections

    def derive(self) -> None:
        """Positions and warehouse balances, set-based in SQL from the ledger just written."""
        started = time.monotonic()
        w_ids = [w.pk for w in self.warehouses]
        out = io.StringIO()
        for (i, w), pair in self.pairs.items():
            out.write(f"{self.p_id[i]}\t{w_ids[w]}\t{money(pair.avg)}\n")
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE seed_average_cost (product_id bigint, warehouse_id bigint,"
                " average_cost numeric(14, 4)) ON COMMIT DROP"
            )
        self.copy("seed_average_cost", "product_id, warehouse_id, average_cost", out.getvalue())
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE warehouse_movement")
            cursor.execute(POSITIONS_SQL)
            cursor.execute("ANALYZE warehouse_stockposition")
            cursor.execute(BALANCES_SQL)
        self.step("projections derived in SQL", started)

    def sequences(self) -> None:
        """Document numbers continue after the generated ones; id sequences after the rows."""
        started = time.monotonic()
        with connection.cursor() as cursor:
            for prefix, count in self.number.items():
                cursor.execute(
                    "INSERT INTO billing_documentsequence (prefix, next_number) VALUES (%s, %s)"
                    " ON CONFLICT (prefix) DO UPDATE SET next_number ="
                    " GREATEST(billing_documentsequence.next_number, EXCLUDED.next_number)",
                    [prefix, count + 1],
                )
            for table in BIG_TABLES:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1),"
                    f" (SELECT COUNT(*) > 0 FROM {table}))"
                )
            for table in BIG_TABLES:
                cursor.execute(f"ANALYZE {table}")
        self.step("sequences and statistics", started)

    def marker_write(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (scale text, seed integer,"
                " movements bigint, built_at timestamptz, seconds numeric)"
            )
            cursor.execute(
                f"INSERT INTO {MARKER_TABLE} VALUES (%s, %s, %s, now(), %s)",
                [
                    self.scale_name,
                    self.seed_value,
                    self.mv_count,
                    round(time.monotonic() - self.started_at, 1),
                ],
            )

    def counts(self) -> dict:
        return table_counts()


POSITIONS_SQL = """
INSERT INTO warehouse_stockposition (product_id, location_id, location_kind, warehouse_id, quantity)
SELECT legs.product_id, legs.location_id, loc.kind, loc.warehouse_id, SUM(legs.quantity)
FROM (
    SELECT product_id, destination_id AS location_id, quantity FROM warehouse_movement
    UNION ALL
    SELECT product_id, source_id, -quantity FROM warehouse_movement
) AS legs
JOIN warehouse_location AS loc ON loc.id = legs.location_id
GROUP BY legs.product_id, legs.location_id, loc.kind, loc.warehouse_id
"""

BALANCES_SQL = """
INSERT INTO warehouse_warehousestock
    (product_id, warehouse_id, in_hand, in_storage, reserved, blocked, dispatched, rented,
     average_cost, updated_at)
SELECT pos.product_id, pos.warehouse_id,
    COALESCE(SUM(pos.quantity) FILTER (WHERE pos.location_kind IN ('storage', 'incoming',
                                                                   'quarantine')), 0),
    COALESCE(SUM(pos.quantity) FILTER (WHERE pos.location_kind = 'storage'), 0),
    COALESCE(MAX(res.reserved), 0),
    COALESCE(MAX(blk.blocked), 0),
    COALESCE(SUM(pos.quantity) FILTER (WHERE pos.location_kind = 'dispatched'), 0),
    COALESCE(SUM(pos.quantity) FILTER (WHERE pos.location_kind = 'rented'), 0),
    COALESCE(MAX(avg.average_cost), 0),
    now()
FROM warehouse_stockposition AS pos
LEFT JOIN (
    SELECT product_id, warehouse_id, SUM(quantity) AS reserved
    FROM warehouse_reservation WHERE status = 'open' GROUP BY product_id, warehouse_id
) AS res ON res.product_id = pos.product_id AND res.warehouse_id = pos.warehouse_id
LEFT JOIN (
    SELECT d.product_id, loc.warehouse_id, COUNT(*) AS blocked
    FROM devices_device AS d JOIN warehouse_location AS loc ON loc.id = d.location_id
    WHERE d.state = 'blocked' AND d.location_kind = 'storage'
    GROUP BY d.product_id, loc.warehouse_id
) AS blk ON blk.product_id = pos.product_id AND blk.warehouse_id = pos.warehouse_id
LEFT JOIN seed_average_cost AS avg
    ON avg.product_id = pos.product_id AND avg.warehouse_id = pos.warehouse_id
GROUP BY pos.product_id, pos.warehouse_id
"""


# --------------------------------------------------------------------------- indexes


class _without_secondary_indexes:
    """Drop the tables' foreign keys and non-constraint indexes; recreate them on exit.

    The definitions come from the catalogue (pg_get_indexdef, pg_get_constraintdef),
    so what comes back is exactly what was there. Building an index once over
    the loaded rows, and checking a foreign key with one join, is many times
    faster than maintaining them row by row during COPY.
    """

    def __init__(self, tables, history):
        self.tables = tables
        self.history = history

    def __enter__(self):
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
                FROM pg_constraint c
                WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[])
                ORDER BY 1, 2
                """,
                [self.tables],
            )
            self.foreign_keys = cursor.fetchall()
            cursor.execute(
                """
                SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                FROM pg_index i
                WHERE i.indrelid = ANY(%s::regclass[])
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                ORDER BY 1
                """,
                [self.tables],
            )
            self.indexes = cursor.fetchall()
            for table, name, _ in self.foreign_keys:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _ in self.indexes:
                cursor.execute(f"DROP INDEX {name}")
        self.history.step("indexes and foreign keys dropped", started)
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            return False  # the transaction rolls back: everything is as it was
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_maintenance_workers = 2")
            for _, definition in self.indexes:
                cursor.execute(definition)
        self.history.step("indexes rebuilt", started)
        started = time.monotonic()
        with connection.cursor() as cursor:
            for table, name, definition in self.foreign_keys:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        self.history.step("foreign keys checked", started)
        return False


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


def table_counts() -> dict[str, int]:
    tables = {
        "products": "warehouse_product",
        "parties": "warehouse_party",
        "warehouses": "warehouse_warehouse",
        "real locations": "warehouse_location WHERE kind IN ('storage', 'incoming', 'quarantine')",
        "movements": "warehouse_movement",
        "devices": "devices_device",
        "device events": "devices_deviceevent",
        "orders": "billing_order",
        "invoices": "billing_invoice",
        "credit notes": "billing_creditnote",
        "open reservations": "warehouse_reservation WHERE status = 'open'",
        "cost layers": "warehouse_costlayer",
    }
    counts = {}
    with connection.cursor() as cursor:
        for label, source in tables.items():
            cursor.execute(f"SELECT COUNT(*) FROM {source}")
            counts[label] = cursor.fetchone()[0]
    counts["documents"] = counts["orders"] + counts["invoices"] + counts["credit notes"]
    return counts


def marker_read() -> dict | None:
    """The last complete build's marker in this database, or None."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [MARKER_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(
            f"SELECT scale, seed, movements, built_at, seconds FROM {MARKER_TABLE}"
            " ORDER BY built_at DESC LIMIT 1"
        )
        row = cursor.fetchone()
    if row is None:
        return None
    scale, seed, movements, built_at, seconds = row
    return {
        "scale": scale,
        "seed": seed,
        "movements": movements,
        "built_at": built_at,
        "seconds": float(seconds),
    }
