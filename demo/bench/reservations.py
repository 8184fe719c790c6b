"""Reservations: threads confirming orders on one product, against a raw UPDATE loop."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

from django.db import OperationalError, connection

from billing import services as billing
from billing.models import Order, OrderLine
from warehouse import services as stock
from warehouse.exceptions import ReservationRefused
from warehouse.models import Location, Party, Product, Reservation, WarehouseStock

from .measure import BENCH_PRODUCT

RAW_RESERVE_SQL = (
    "UPDATE warehouse_warehousestock SET reserved = reserved + 1"
    " WHERE id = %s AND in_storage - reserved - blocked >= 1"
)


class Reservations:
    """The concurrency bench: services, raw loop and the reservation statement alone."""

    def bench_reservations(self):
        threads = self.options["threads"]
        per_thread = self.options["orders_per_thread"]
        orders_total = threads * per_thread
        available = orders_total * 3 // 4
        product, stock_row, orders = self.reservations_setup(orders_total)
        rounds = []
        try:
            for _ in range(self.options["rounds"]):
                rounds.append(
                    {
                        "services": self.reserve_with_services(
                            product, stock_row, orders, threads, available
                        ),
                        "raw": self.reserve_with_sql(
                            product, stock_row, threads, per_thread, available
                        ),
                        "floor": self.reserve_floor(product, stock_row, threads, per_thread),
                    }
                )
            # What holds it back: one thread alone, and the interpreter's CPU per order.
            alone = orders[: max(1, len(orders) // threads) * 2]
            single = self.reserve_with_services(
                product, stock_row, alone, 1, max(1, len(alone) * 3 // 4)
            )
        finally:
            self.reservations_cleanup(product, orders)
        services_rate = statistics.median(r["services"]["orders_per_s"] for r in rounds)
        raw_rate = statistics.median(r["raw"]["orders_per_s"] for r in rounds)
        floor_rate = statistics.median(r["floor"]["orders_per_s"] for r in rounds)
        oversold = max(r["services"]["oversold"] for r in rounds)
        deadlocks = sum(r["services"]["deadlocks"] for r in rounds)
        ratio = services_rate / raw_rate
        self.row(
            "reservations_rate",
            f"reservations: {threads} threads confirming one-line orders",
            round(services_rate, 1),
            "orders/s",
            baseline=round(raw_rate, 1),
            baseline_label="conditional UPDATE loop",
            ratio=round(ratio, 2),
            ratio_text=f"{ratio:.2f}×",
            target="≥ 0.7× raw loop",
            met=ratio >= 0.7,
            detail={
                "rounds": rounds,
                "orders": orders_total,
                "available": available,
                "one_thread": single,
                "floor_orders_per_s": floor_rate,
                "floor_ratio": round(floor_rate / raw_rate, 2),
            },
        )
        self.row(
            "reservations_oversold",
            "reservations: units oversold / deadlocks",
            f"{oversold} / {deadlocks}",
            "",
            target="0 / 0",
            met=oversold == 0 and deadlocks == 0,
            detail={
                "confirmed": [r["services"]["confirmed"] for r in rounds],
                "refused": [r["services"]["refused"] for r in rounds],
                "errors": [r["services"]["errors"] for r in rounds],
            },
        )

    def reservations_setup(self, orders_total):
        product, _ = Product.objects.get_or_create(
            sku=BENCH_PRODUCT,
            defaults={"name": "Benchmark product (reservations)", "sale_price": Decimal("10")},
        )
        location = Location.objects.get(warehouse=self.warehouse, code="STOCK")
        self.reservations_reset(product)
        # Enough stock for every round; each round sets what is free by blocking nothing
        # and holding the rest with its own raw reservation.
        stock.stock_adjust(
            actor=self.admin,
            product=product,
            location=location,
            counted=Decimal(orders_total),
            reason="Benchmark: reservations",
        )
        stock_row = WarehouseStock.objects.get(product=product, warehouse=self.warehouse)
        party = Party.objects.filter(kind=Party.Kind.CONTACT).order_by("id").first()
        orders = [
            billing.order_create(
                actor=self.admin,
                party=party,
                warehouse=self.warehouse,
                lines=[billing.LineInput(product=product, quantity=Decimal(1))],
                notes="Benchmark",
            )
            for _ in range(orders_total)
        ]
        return product, stock_row, orders

    def reservations_reset(self, product, orders=()):
        """Back to no reservation: bench orders to draft, their reservations gone."""
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM warehouse_reservation WHERE product_id = %s", [product.pk])
            cursor.execute(
                "UPDATE warehouse_warehousestock SET reserved = 0 WHERE product_id = %s",
                [product.pk],
            )
            if orders:
                cursor.execute(
                    "UPDATE billing_order SET status = 'draft', confirmed_at = NULL"
                    " WHERE id = ANY(%s)",
                    [[o.pk for o in orders]],
                )

    def reservations_cleanup(self, product, orders):
        self.reservations_reset(product, orders)
        OrderLine.objects.filter(order__in=[o.pk for o in orders]).delete()
        Order.objects.filter(pk__in=[o.pk for o in orders]).delete()

    def hold_rest(self, product, stock_row, available):
        """Make exactly `available` units free: the rest held by a standing reservation."""
        self.reservations_reset(product)
        stock_row.refresh_from_db()
        held = stock_row.in_storage - stock_row.blocked - available
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE warehouse_warehousestock SET reserved = %s WHERE id = %s",
                [held, stock_row.pk],
            )
        return held

    def run_threads(self, work, threads):
        barrier = threading.Barrier(threads + 1)
        outcomes = [None] * threads

        def body(index):
            try:
                connection.ensure_connection()
                barrier.wait()
                outcomes[index] = work(index)
            finally:
                connection.close()

        pool = [threading.Thread(target=body, args=(n,)) for n in range(threads)]
        for thread in pool:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in pool:
            thread.join(timeout=600)
        elapsed = time.perf_counter() - started
        return outcomes, elapsed

    def reserve_with_services(self, product, stock_row, orders, threads, available):
        held = self.hold_rest(product, stock_row, available)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE billing_order SET status = 'draft', confirmed_at = NULL WHERE id = ANY(%s)",
                [[o.pk for o in orders]],
            )
        admin = self.admin
        chunks = [orders[n::threads] for n in range(threads)]

        def work(index):
            confirmed = refused = deadlocks = 0
            errors = []
            for order in chunks[index]:
                try:
                    billing.order_confirm(order=order, actor=admin)
                    confirmed += 1
                except ReservationRefused:
                    refused += 1
                except OperationalError as exc:
                    deadlocks += 1
                    errors.append(str(exc)[:200])
            return confirmed, refused, deadlocks, errors

        cpu = time.process_time()
        outcomes, elapsed = self.run_threads(work, threads)
        cpu = time.process_time() - cpu
        stock_row.refresh_from_db()
        confirmed = sum(o[0] for o in outcomes)
        result = {
            "threads": threads,
            "python_cpu_ms_per_order": round(cpu * 1000 / len(orders), 2),
            "orders": len(orders),
            "confirmed": confirmed,
            "refused": sum(o[1] for o in outcomes),
            "deadlocks": sum(o[2] for o in outcomes),
            "errors": [e for o in outcomes for e in o[3]][:5],
            "seconds": round(elapsed, 3),
            "orders_per_s": round(len(orders) / elapsed, 1),
            "oversold": int(max(Decimal(0), stock_row.reserved - held - available)),
            "reservations": Reservation.objects.filter(
                product=product, status=Reservation.Status.OPEN, document_type="order"
            ).count(),
        }
        return result

    def reserve_with_sql(self, product, stock_row, threads, per_thread, available):
        held = self.hold_rest(product, stock_row, available)

        def work(index):
            confirmed = refused = 0
            with connection.cursor() as cursor:
                for _ in range(per_thread):
                    cursor.execute(RAW_RESERVE_SQL, [stock_row.pk])
                    if cursor.rowcount == 1:
                        confirmed += 1
                    else:
                        refused += 1
            return confirmed, refused

        outcomes, elapsed = self.run_threads(work, threads)
        stock_row.refresh_from_db()
        total = threads * per_thread
        return {
            "orders": total,
            "confirmed": sum(o[0] for o in outcomes),
            "refused": sum(o[1] for o in outcomes),
            "seconds": round(elapsed, 3),
            "orders_per_s": round(total / elapsed, 1),
            "oversold": int(max(Decimal(0), stock_row.reserved - held - available)),
        }

    def reserve_floor(self, product, stock_row, threads, per_thread):
        """What any confirm that records its reservation costs at least, for the note.

        The same threads send only the services' reservation statement (lock
        the row, reserve, write the reservation) for one line each, in
        autocommit: no order read or moved, no transaction around it. Stock
        is enough for all; the rows are deleted after.
        """
        self.hold_rest(product, stock_row, threads * per_thread)
        sql = stock._hold_sql(1, 1)
        warehouse_id = stock_row.warehouse_id
        one = Decimal(1)

        def work(index):
            now = datetime.now(UTC)
            with connection.cursor() as cursor:
                for n in range(per_thread):
                    line = -(index * per_thread + n + 1)  # no real line has a negative id
                    cursor.execute(
                        sql,
                        [warehouse_id, product.pk, now, product.pk, one]
                        + [product.pk, warehouse_id, one, "bench", line, "BENCH", line, now],
                    )
                    cursor.fetchall()

        _outcomes, elapsed = self.run_threads(work, threads)
        self.reservations_reset(product)
        total = threads * per_thread
        return {
            "orders": total,
            "seconds": round(elapsed, 3),
            "orders_per_s": round(total / elapsed, 1),
        }
