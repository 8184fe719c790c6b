"""The S scale, what `make run` loads: a first look, booked through the services.

Two warehouses, a few dozen products, sixty days of deliveries and daily work,
then orders, invoices, a credit note, a blocked device and a customer's own
device: every page has something to show, and every row was written by the
same services a user's click calls.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from billing import services as billing
from billing.models import OrderLine
from devices import services as devices
from devices import stock_booking
from devices.models import Characteristic, Device, DeviceStatus, State
from warehouse import services
from warehouse.exceptions import WarehouseError
from warehouse.models import Location, Party, Product

PRODUCTS = [
    # sku, name, unit, traceable, unit cost
    ("CAB-CAT6", "Cat 6 network cable, grey", "m", False, "0.42"),
    ("CAB-HDMI-2", "HDMI cable 2 m", "pcs", False, "3.90"),
    ("CAB-USBC-1", "USB-C cable 1 m", "pcs", False, "2.70"),
    ("CAB-PWR-EU", "Power cord, EU plug", "pcs", False, "1.80"),
    ("CON-RJ45", "RJ45 connector (box of 100)", "box", False, "11.50"),
    ("ACC-TIES", "Cable ties (box of 500)", "box", False, "6.20"),
    ("ACC-BRKT-W", "Wall bracket for access points", "pcs", False, "4.10"),
    ("ACC-PSU-24", "24 V power supply", "pcs", False, "8.60"),
    ("ACC-SFP-1G", "SFP module 1G LX", "pcs", False, "14.00"),
    ("ACC-PASTE", "Thermal paste", "pcs", False, "3.20"),
    ("ACC-LBL", "Label roll 62 mm", "pcs", False, "9.90"),
    ("FIB-SM-DROP", "Single-mode fibre drop cable", "m", False, "0.65"),
    ("RTR-HAP-AX2", "Router hAP ax2", "pcs", True, "68.00"),
    ("RTR-LTE-4G", "4G LTE router", "pcs", True, "112.00"),
    ("SW-24P-POE", "Switch 24 ports PoE", "pcs", True, "289.00"),
    ("AP-WIFI6", "Wi-Fi 6 access point", "pcs", True, "97.00"),
    ("ONT-GPON", "GPON ONT modem", "pcs", True, "41.00"),
    ("PHN-IP-T46", "IP desk phone", "pcs", True, "79.00"),
    ("POS-TERM-A8", "Card payment terminal", "pcs", True, "215.00"),
    ("LTP-T14", 'Laptop 14" business', "pcs", True, "780.00"),
    ("MON-24", 'Monitor 24" IPS', "pcs", True, "129.00"),
    ("UPS-1500", "UPS 1500 VA", "pcs", True, "238.00"),
]

PARTIES = [
    ("merchant", "Nordic Telecom Supply"),
    ("merchant", "Baltic Repairs & Service"),
    ("merchant", "Metro Electronics Wholesale"),
    ("contact", "Anna Lindqvist"),
    ("contact", "Café Aurora"),
    ("contact", "Harbour Dental Clinic"),
    ("contact", "Jonas Berg"),
    ("contact", "Greenfield School"),
]

SUPPLIERS = ["Nordic Telecom Supply", "Metro Electronics Wholesale", "CableWorld GmbH"]


class SmallBooks:
    """Books the S scale; `log` hears of a random step the services refused (it is skipped)."""

    def __init__(self, *, log):
        self.log = log
        self.serial_counter = 1000

    def seed(self, rng: random.Random, actor):
        now = timezone.now().replace(microsecond=0)
        start = now - timedelta(days=60)

        main = services.warehouse_create(
            code="main", name="Main warehouse", address="Harbour Rd 12"
        )
        north = services.warehouse_create(code="north", name="North depot", address="Mill St 3")
        locations = {"main": [], "north": []}
        for wh, prefix, rows in ((main, "A", 4), (north, "N", 2)):
            stock = Location.objects.get(warehouse=wh, code="STOCK")
            locations[wh.code].append(stock)
            for row in range(1, rows + 1):
                for shelf in (1, 2):
                    locations[wh.code].append(
                        Location.objects.create(
                            warehouse=wh,
                            code=f"{prefix}-{row:02d}-{shelf}",
                            name=f"Aisle {prefix}{row}, shelf {shelf}",
                            kind=Location.Kind.STORAGE,
                        )
                    )
        incoming = {
            wh.code: Location.objects.create(
                warehouse=wh, code="IN", name="Goods receipt", kind=Location.Kind.INCOMING
            )
            for wh in (main, north)
        }
        quarantine = {
            wh.code: Location.objects.create(
                warehouse=wh, code="QA", name="Quarantine cage", kind=Location.Kind.QUARANTINE
            )
            for wh in (main, north)
        }

        for kind, name in PARTIES:
            Party.objects.create(kind=kind, name=name, email=_email(name))

        products = []
        for sku, name, unit, traceable, cost in PRODUCTS:
            price = (Decimal(cost) * Decimal("1.6")).quantize(Decimal("0.01"))
            rental = (Decimal(cost) * Decimal("0.08")).quantize(Decimal("0.01")) if traceable else 0
            product = Product.objects.create(
                sku=sku,
                name=name,
                unit=unit,
                traceable=traceable,
                sale_price=price,
                rental_price=rental,
            )
            products.append((product, cost))
        self.reference_data()

        for day in range(60):
            if day % 4 == 0:
                self.delivery(
                    rng,
                    day // 4,
                    start + timedelta(days=day, hours=7),
                    products,
                    actor,
                    locations,
                    incoming,
                )
            self.work(
                rng,
                day,
                start + timedelta(days=day, hours=rng.randint(9, 17)),
                products,
                actor,
                locations,
                quarantine,
            )

    def reference_data(self):
        """Statuses per state and characteristics of a few products."""
        for state, names in (
            (State.USED, ["Awaiting test", "Tested OK", "Refurbished"]),
            (State.BLOCKED, ["Faulty", "Missing parts", "Held for audit"]),
            (State.NEW, ["Sealed box"]),
        ):
            for name in names:
                DeviceStatus.objects.create(state=state, name=name)
        laptop = Product.objects.get(sku="LTP-T14")
        Characteristic.objects.create(
            product=laptop, name="RAM", type="choice", choices="8 GB,16 GB,32 GB", required=True
        )
        Characteristic.objects.create(product=laptop, name="Keyboard layout", type="text")
        router = Product.objects.get(sku="RTR-HAP-AX2")
        Characteristic.objects.create(product=router, name="Firmware", type="text")
        Characteristic.objects.create(product=router, name="Ports", type="number")

    def documents(self, rng, clerk, staff):
        """Orders, invoices, rentals, a credit note and own devices: a living back office."""
        now = timezone.now().replace(microsecond=0)
        main = Location.objects.get(warehouse__code="main", code="STOCK").warehouse
        stock = Location.objects.get(warehouse=main, code="STOCK")
        contacts = list(Party.objects.filter(kind=Party.Kind.CONTACT).order_by("name"))
        counted = list(
            Product.objects.filter(
                traceable=False, stocks__warehouse=main, stocks__in_storage__gt=5
            )
            .order_by("sku")
            .distinct()
        )
        traceable = list(
            Product.objects.filter(
                traceable=True,
                devices__state=State.NEW,
                devices__location_kind=Location.Kind.STORAGE,
                devices__location__warehouse=main,
            )
            .order_by("sku")
            .distinct()
        )
        plans = [
            ("completed", [("sale", 0, 2), ("rental", 0, 1)]),
            ("completed", [("sale", 1, 3), ("sale", 1, 1)]),
            ("dispatched", [("sale", 2, 4), ("sale", 2, 1)]),
            ("confirmed", [("sale", 3, 2), ("rental", 1, 1)]),
            ("confirmed", [("sale", 4, 5)]),
            ("draft", [("sale", 5, 1), ("sale", 3, 1)]),
            ("cancelled", [("sale", 0, 1)]),
        ]
        for index, (status, lines) in enumerate(plans):
            when = now - timedelta(days=len(plans) - index, hours=3)
            inputs = []
            for kind, pick, quantity in lines:
                pool = traceable if kind == "rental" or (pick % 2 and traceable) else counted
                product = pool[pick % len(pool)]
                inputs.append(
                    billing.LineInput(
                        product=product,
                        quantity=Decimal(1 if product.traceable else quantity),
                        kind=OrderLine.Kind.RENTAL if kind == "rental" else OrderLine.Kind.SALE,
                    )
                )
            try:
                order = billing.order_create(
                    actor=clerk,
                    party=contacts[index % len(contacts)],
                    warehouse=main,
                    lines=inputs,
                    now=when,
                )
                if status != "draft":
                    billing.order_confirm(order=order, actor=clerk, now=when)
                if status in ("dispatched", "completed"):
                    billing.order_dispatch(order=order, actor=staff, now=when + timedelta(hours=2))
                if status == "completed":
                    billing.order_complete(order=order, actor=clerk, now=when + timedelta(hours=5))
                if status == "cancelled":
                    billing.order_cancel(order=order, actor=clerk, now=when + timedelta(hours=1))
            except WarehouseError as exc:
                self.log(f"demo order skipped: {exc.message}")

        invoice = billing.invoice_create(
            actor=clerk,
            party=contacts[1],
            warehouse=main,
            lines=[billing.LineInput(product=counted[0], quantity=Decimal(2))],
            now=now - timedelta(days=2),
        )
        billing.invoice_issue(invoice=invoice, actor=clerk, now=now - timedelta(days=2))
        posted = billing.invoice_create(
            actor=clerk,
            party=contacts[2],
            warehouse=main,
            lines=[billing.LineInput(product=counted[1], quantity=Decimal(3))],
            now=now - timedelta(days=3),
        )
        billing.invoice_post(invoice=posted, actor=clerk, now=now - timedelta(days=3))
        credit = billing.creditnote_create(
            actor=clerk,
            invoice=posted,
            return_location=stock,
            lines=[billing.CreditLineInput(invoice_line=posted.lines.get(), quantity=Decimal(1))],
            now=now - timedelta(days=1),
        )
        billing.creditnote_post(credit_note=credit, actor=clerk, now=now - timedelta(days=1))

        # Blocked and statused devices, customers' own devices.
        spare = Device.objects.filter(state=State.NEW, location=stock, reserved_by="").first()
        if spare is not None:
            devices.device_transition(
                device=spare,
                action="block",
                actor=staff,
                reason="Fan noise at test",
                status=DeviceStatus.objects.get(name="Faulty"),
                now=now - timedelta(hours=6),
            )
        router = Product.objects.get(sku="RTR-HAP-AX2")
        devices.device_register_own(
            actor=clerk,
            product=router,
            serial="CUST-7781",
            party=contacts[0],
            reason="Customer brought it for service",
            now=now - timedelta(days=5),
        )

    def delivery(self, rng, delivery, when, products, actor, locations, incoming):
        """A supplier's delivery of several products."""
        wh_code = "main" if delivery % 3 else "north"
        location = rng.choice(locations[wh_code][:3]) if delivery % 4 else incoming[wh_code]
        lines = []
        for product, cost in rng.sample(products, 5):
            unit_cost = (Decimal(cost) * Decimal(rng.uniform(0.9, 1.1))).quantize(Decimal("0.01"))
            if product.traceable:
                count = rng.randint(2, 6)
                serials = []
                for _ in range(count):
                    self.serial_counter += 1
                    serials.append(f"{product.sku.split('-')[0]}{self.serial_counter:07d}")
                lines.append(
                    services.StockInLine(
                        product=product,
                        quantity=Decimal(count),
                        unit_cost=unit_cost,
                        serials=tuple(serials),
                    )
                )
            else:
                quantity = Decimal(
                    rng.choice([50, 100, 250, 500]) if product.unit == "m" else rng.randint(5, 60)
                )
                lines.append(
                    services.StockInLine(product=product, quantity=quantity, unit_cost=unit_cost)
                )
        stock_booking.stock_in(
            actor=actor,
            location=location,
            lines=lines,
            supplier=rng.choice(SUPPLIERS),
            reference=f"DN-{2600 + delivery}",
            now=when,
        )

    def work(self, rng, step, when, products, actor, locations, quarantine):
        """Day-to-day work: put-away, moves, isolations, removals, counts."""
        product, _ = rng.choice(products)
        positions = list(
            product.positions.filter(
                quantity__gt=0, location_kind__in=Location.REAL_KINDS
            ).select_related("location__warehouse")
        )
        if not positions:
            return
        position = rng.choice(positions)
        source = position.location
        serials = _serials_at(product, source) if product.traceable else []
        quantity = (
            None
            if product.traceable
            else max(Decimal(1), (position.quantity / 3).quantize(Decimal(1)))
        )
        pick = serials[: rng.randint(1, max(1, len(serials) // 2))] if serials else []
        try:
            if source.kind == Location.Kind.INCOMING:
                stock_booking.stock_move(
                    actor=actor,
                    product=product,
                    source=source,
                    destination=rng.choice(locations[source.warehouse.code][1:]),
                    quantity=quantity,
                    serials=pick,
                    reason="Put away",
                    now=when,
                )
            elif step % 7 == 0 and source.kind == Location.Kind.STORAGE:
                stock_booking.stock_isolate(
                    actor=actor,
                    product=product,
                    location=source,
                    quarantine=quarantine[source.warehouse.code],
                    quantity=quantity and min(quantity, Decimal(2)),
                    serials=pick[:1],
                    reason=rng.choice(["Damaged box", "Returned faulty", "Awaiting test"]),
                    now=when,
                )
            elif step % 9 == 0:
                stock_booking.stock_remove(
                    actor=actor,
                    product=product,
                    location=source,
                    quantity=quantity and min(quantity, Decimal(1)),
                    serials=pick[:1],
                    reason=rng.choice(["Scrapped", "Lost in transit", "Used for repair"]),
                    now=when,
                )
            elif step % 11 == 0 and not product.traceable:
                services.stock_adjust(
                    actor=actor,
                    product=product,
                    location=source,
                    counted=position.quantity + rng.choice([-2, -1, 1, 3]),
                    reason="Monthly stocktake",
                    now=when,
                )
            else:
                others = [loc for loc in locations[source.warehouse.code] if loc != source]
                stock_booking.stock_move(
                    actor=actor,
                    product=product,
                    source=source,
                    destination=rng.choice(others),
                    quantity=quantity,
                    serials=pick,
                    reason="Re-slotting",
                    now=when,
                )
        except WarehouseError as exc:  # a random step may ask too much: skip it
            self.log(f"demo step {step} skipped: {exc.message}")


def _serials_at(product, location):
    return list(
        Device.objects.filter(
            product=product, location=location, state__in=[State.NEW, State.USED]
        ).values_list("serial", flat=True)
    )


def _email(name: str) -> str:
    return "".join(c for c in name.lower().replace(" ", ".") if c.isalnum() or c == ".") + (
        "@example.com"
    )
