"""`manage.py bench` (`make bench`): the L data set against raw SQL, measured in one run.

It builds the L data set once in a database of its own (`<database>_bench`,
on the embedded server or on the server of DATABASE_URL) and reuses it while
its marker says it is complete; `--rebuild` starts again. Then, in the same
run, each figure next to its baseline:

- the stock balance page (first page, one warehouse): server time through
  Django's test client, logged in as a superuser, against the one hand-written
  SQL query that returns the same rows, and against the naive query that sums
  the whole ledger per product; its query count at 5, 50 and 500 rows a page;
- the device list filtered by state and part of a serial, against its SQL;
- reservations: 16 threads, each with its own connection, confirming one-line
  orders on one product with less stock than orders, against the same threads
  looping a conditional UPDATE in autocommit;
- an opening-stock import of 1,000,000 and 100,000 lines (when the importer
  exists), rows per second and peak memory, against a raw COPY of the file;
- the FIFO report over the whole ledger;
- how long `seed_demo --scale L` took to build the data.

It prints a table (figure, baseline, ratio, target, met) and writes JSON.
It reports; it never fails on speed. Timings are medians after warm-ups; a page
and its baselines are timed in alternation, so both see the same machine.
"""

from __future__ import annotations

import cProfile
import csv
import io
import json
import os
import platform
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from billing import services as billing
from billing.models import Order, OrderLine
from demo import seeding
from demo.management.commands.seed_demo import Command as SeedDemo
from devices.models import Device
from warehouse import selectors
from warehouse import services as stock
from warehouse.exceptions import ReservationRefused
from warehouse.models import Location, Party, Product, Reservation, Warehouse, WarehouseStock

# Sorted after every real SKU, so it never shows on the first page of the balance.
BENCH_PRODUCT = "ZZ-BENCH-RESERVE"
IMPORTER = Path(settings.BASE_DIR) / "warehouse" / "management" / "commands" / "import.py"

BALANCE_SQL = """
SELECT p.id, p.sku, p.name, p.traceable, p.active,
       COALESCE(ws.in_hand, 0) + COALESCE(ws.dispatched, 0) + COALESCE(ws.rented, 0)
           AS ownership,
       COALESCE(ws.in_hand, 0) AS in_hand,
       COALESCE(ws.reserved, 0) AS reserved,
       COALESCE(ws.in_storage, 0) - COALESCE(ws.reserved, 0) - COALESCE(ws.blocked, 0)
           AS available,
       COALESCE(ws.dispatched, 0) AS dispatched,
       COALESCE(ws.rented, 0) AS rented,
       COALESCE(ws.average_cost, 0) AS average_cost,
       EXISTS (
           SELECT 1 FROM warehouse_stockconstraint AS c
           WHERE c.product_id = p.id AND c.warehouse_id = %(warehouse)s AND c.minimum > 0
             AND COALESCE(ws.in_hand, 0) < c.minimum
       ) AS below_minimum
FROM warehouse_product AS p
LEFT JOIN warehouse_warehousestock AS ws
       ON ws.product_id = p.id AND ws.warehouse_id = %(warehouse)s
WHERE p.active
ORDER BY p.sku
LIMIT %(limit)s
"""

# The naive way: no cached balance, every page sums the whole ledger per product.
NAIVE_SQL = """
SELECT p.id, p.sku, p.name, p.traceable, p.active,
       COALESCE(l.in_hand, 0) + COALESCE(l.dispatched, 0) + COALESCE(l.rented, 0)
           AS ownership,
       COALESCE(l.in_hand, 0) AS in_hand,
       COALESCE(l.in_storage, 0) AS in_storage,
       COALESCE(l.dispatched, 0) AS dispatched,
       COALESCE(l.rented, 0) AS rented
FROM warehouse_product AS p
LEFT JOIN (
    SELECT legs.product_id,
           SUM(legs.quantity) FILTER (WHERE loc.kind IN ('storage', 'incoming', 'quarantine'))
               AS in_hand,
           SUM(legs.quantity) FILTER (WHERE loc.kind = 'storage') AS in_storage,
           SUM(legs.quantity) FILTER (WHERE loc.kind = 'dispatched') AS dispatched,
           SUM(legs.quantity) FILTER (WHERE loc.kind = 'rented') AS rented
    FROM (
        SELECT product_id, destination_id AS location_id, quantity FROM warehouse_movement
        UNION ALL
        SELECT product_id, source_id, -quantity FROM warehouse_movement
    ) AS legs
    JOIN warehouse_location AS loc ON loc.id = legs.location_id
    WHERE loc.warehouse_id = %(warehouse)s
    GROUP BY legs.product_id
) AS l ON l.product_id = p.id
WHERE p.active
ORDER BY p.sku
LIMIT %(limit)s
"""

DEVICES_SQL = """
SELECT d.id, d.serial, d.electronic_id, d.state, d.location_kind, d.spot, d.reserved_by,
       d.updated_at, p.id, p.sku, p.name, s.id, s.name, o.id, o.name, h.id, h.name,
       l.id, l.code, l.kind, w.id, w.code
FROM devices_device AS d
JOIN warehouse_product AS p ON p.id = d.product_id
LEFT JOIN devices_devicestatus AS s ON s.id = d.status_id
LEFT JOIN warehouse_party AS o ON o.id = d.owner_id
LEFT JOIN warehouse_party AS h ON h.id = d.holder_id
LEFT JOIN warehouse_location AS l ON l.id = d.location_id
LEFT JOIN warehouse_warehouse AS w ON w.id = l.warehouse_id
WHERE d.state = %(state)s
  AND (UPPER(d.serial) LIKE UPPER(%(like)s) OR UPPER(d.electronic_id) LIKE UPPER(%(like)s))
ORDER BY p.sku, d.serial
LIMIT %(limit)s
"""

RAW_RESERVE_SQL = (
    "UPDATE warehouse_warehousestock SET reserved = reserved + 1"
    " WHERE id = %s AND in_storage - reserved - blocked >= 1"
)


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def timed(call, *, runs: int, warmups: int) -> list[float]:
    return timed_together({"call": (call, runs)}, warmups=warmups)["call"]


def timed_together(calls: dict, *, warmups: int) -> dict[str, list[float]]:
    """{name: (call, runs)} timed in turn, round after round: {name: samples}.

    A figure and its baseline taken in alternation see the same machine (a
    virtual CPU's slow spell slows both), so their ratio holds from run to run.
    """
    for _ in range(warmups):
        for call, _runs in calls.values():
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(max(runs for _call, runs in calls.values())):
        for name, (call, runs) in calls.items():
            if round_ < runs:
                started = time.perf_counter()
                call()
                samples[name].append(time.perf_counter() - started)
    return samples


class Command(BaseCommand):
    help = "Benchmark the L data set (built once): pages, reservations, import, FIFO report."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="Build the data set again.")
        parser.add_argument(
            "--json",
            default=str(Path(settings.BASE_DIR) / "bench-results" / "bench.json"),
            help="Where to write the results (default bench-results/bench.json).",
        )
        # For tests and experiments.
        hidden = {"help": "==SUPPRESS=="}
        parser.add_argument("--scale", default="L", choices=["L", "M", "XS"], **hidden)
        parser.add_argument("--seed", type=int, default=42, **hidden)
        parser.add_argument("--here", action="store_true", **hidden)  # the current database
        parser.add_argument("--runs", type=int, default=15, **hidden)
        parser.add_argument("--warmups", type=int, default=3, **hidden)
        parser.add_argument("--threads", type=int, default=16, **hidden)
        parser.add_argument("--orders-per-thread", type=int, default=60, **hidden)
        parser.add_argument("--rounds", type=int, default=3, **hidden)
        parser.add_argument("--import-lines", default="1000000,100000", **hidden)
        parser.add_argument(
            "--only",
            default="",
            help="Measure only these rows (comma-separated: balance, devices, "
            "reservations, import, fifo).",
        )

    # ----------------------------------------------------------------------- the run

    def handle(self, *args, **options):
        self.options = options
        self.runs, self.warmups = options["runs"], options["warmups"]
        # Timed like production: no debug cursor, no template debugging.
        settings.DEBUG = False
        if "testserver" not in settings.ALLOWED_HOSTS:
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        self.rows: list[dict] = []
        self.notes: list[str] = []
        self.diagnostics: dict[str, str] = {}
        started = time.monotonic()
        self.environment = self.environment_read()
        if not options["here"]:
            self.database_use(self.bench_database_name(), rebuild=options["rebuild"])
        build = self.data_ensure()
        self.stdout.write(f"Data set: {build['summary']}")
        self.admin = get_user_model().objects.filter(is_superuser=True).order_by("id").first()
        self.warehouse = Warehouse.objects.get(code="main")
        self.row_build(build)
        only = {key.strip() for key in options["only"].split(",") if key.strip()}
        for key, name, bench in (
            ("balance", "stock balance page", self.bench_balance),
            ("devices", "device list", self.bench_devices),
            ("reservations", "reservations", self.bench_reservations),
            ("import", "import", self.bench_import),
            ("fifo", "FIFO report", self.bench_fifo),
        ):
            if only and key not in only:
                continue
            self.stdout.write(f"measuring: {name} …")
            bench()
        if options["here"]:
            # The import template follows this database; nobody reuses it.
            self.database_drop(f"{connection.settings_dict['NAME']}_imptpl")
        self.table_print()
        self.json_write(build, time.monotonic() - started)

    # ----------------------------------------------------------------------- database

    def bench_database_name(self) -> str:
        return f"{connection.settings_dict['NAME']}_bench"

    @staticmethod
    def admin_connect(settings_dict):
        import psycopg

        return psycopg.connect(
            dbname="postgres",
            host=settings_dict.get("HOST") or None,
            port=settings_dict.get("PORT") or None,
            user=settings_dict.get("USER") or None,
            password=settings_dict.get("PASSWORD") or None,
            autocommit=True,
        )

    def database_create(self, name: str, *, drop: bool = False, template: str | None = None):
        with self.admin_connect(connection.settings_dict) as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
            if exists and drop:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = False
            if not exists:
                suffix = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
                admin.execute(f'CREATE DATABASE "{name}"{suffix}')

    def database_drop(self, name: str) -> None:
        with self.admin_connect(connection.settings_dict) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def database_use(self, name: str, *, rebuild: bool) -> None:
        """Point this process (every thread's connection too) at the bench database."""
        if rebuild:
            self.database_drop(f"{name}_imptpl")
        self.database_create(name, drop=rebuild)
        conn = connections[DEFAULT_DB_ALIAS]
        conn.close()
        # Threads create their connections from this same settings dict.
        conn.settings_dict["NAME"] = name
        settings.DATABASES[DEFAULT_DB_ALIAS]["NAME"] = name
        self.stdout.write(f"Bench database: {name}")
        call_command("migrate", verbosity=0, interactive=False)

    def data_ensure(self) -> dict:
        """Reuse the data set when its marker says it is complete, else build it."""
        options = self.options
        scale = options["scale"]
        size = seeding.SIZES[scale]
        marker = seeding.marker_read()
        counts = seeding.table_counts()
        complete = (
            marker is not None
            and marker["scale"] == scale
            and counts["products"] >= size.products
            and counts["devices"] == size.devices
            and counts["movements"] >= marker["movements"]
        )
        seed = SeedDemo(stdout=self.stdout, stderr=self.stderr)
        if complete:
            return {
                "built_now": False,
                "seconds": marker["seconds"],
                "built_at": marker["built_at"].isoformat(),
                "counts": counts,
                "summary": f"scale {scale}, reused (built {marker['built_at']:%Y-%m-%d %H:%M} "
                f"in {marker['seconds']:.0f} s)",
            }
        if counts["products"]:
            if options["here"]:
                raise CommandError("This database holds other data: bench needs an empty one.")
            name = connection.settings_dict["NAME"]
            self.stdout.write(f"{name} holds an incomplete data set: building it again.")
            connection.close()
            self.database_create(name, drop=True)
            call_command("migrate", verbosity=0, interactive=False)
        users = seed.users_ensure()
        started = time.monotonic()
        result = seed.seed_scale(scale, None, options["seed"], users)
        seconds = time.monotonic() - started
        counts = seeding.table_counts()
        return {
            "built_now": True,
            "seconds": round(seconds, 1),
            "built_at": datetime.now(UTC).isoformat(),
            "timings": result["timings"],
            "counts": counts,
            "summary": f"scale {scale}, built now in {seconds:.0f} s",
        }

    # ----------------------------------------------------------------------- results

    def row(
        self,
        key,
        label,
        figure,
        unit,
        *,
        baseline=None,
        baseline_label="",
        ratio=None,
        ratio_text="",
        target="",
        met=None,
        detail=None,
    ):
        self.rows.append(
            {
                "key": key,
                "measure": label,
                "figure": figure,
                "unit": unit,
                "baseline": baseline,
                "baseline_label": baseline_label,
                "ratio": ratio,
                "ratio_text": ratio_text,
                "target": target,
                "met": met,
                "detail": detail or {},
            }
        )

    def row_build(self, build):
        seconds = build["seconds"]
        scale = self.options["scale"]
        self.row(
            "seed_build",
            f"seed_demo --scale {scale}: build time",
            seconds,
            "s",
            target="< 300 s",
            met=seconds < 300 if scale == "L" else None,
            detail={"built_now": build["built_now"], "timings": build.get("timings", {})},
        )

    # ----------------------------------------------------------------------- pages

    def client(self) -> Client:
        client = Client()
        client.force_login(self.admin)
        return client

    def page_against(self, client, url, params, baselines: dict) -> tuple[dict, int, bytes]:
        """A page timed in alternation with its baselines {name: (sql, params, runs)}.

        Returns ({"page": samples, name: samples…, "rows": {name: rows}}, the
        page's query count, its content).
        """

        def get():
            response = client.get(url, params)
            assert response.status_code == 200, (url, response.status_code)
            return response

        rows: dict[str, list] = {}

        def run(name, sql, sql_params):
            def call():
                with connection.cursor() as cursor:
                    cursor.execute(sql, sql_params)
                    rows[name] = cursor.fetchall()

            return call

        calls = {"page": (get, self.runs)}
        for name, (sql, sql_params, runs) in baselines.items():
            calls[name] = (run(name, sql, sql_params), runs)
        samples = timed_together(calls, warmups=self.warmups)
        with CaptureQueriesContext(connection) as queries:
            response = get()
        return {**samples, "rows": rows}, len(queries), response.content

    def sql_time(self, sql, params, *, runs: int) -> tuple[list[float], list]:
        rows = []

        def run():
            nonlocal rows
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()

        return timed(run, runs=runs, warmups=1), rows

    def page_split(self, client, url, params) -> dict:
        """Where a page's time goes: its SQL (timed per query) and the rest, plus a profile."""
        spent = []

        def wrapper(execute, sql, params_, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params_, many, context)
            finally:
                spent.append(time.perf_counter() - started)

        started = time.perf_counter()
        with connection.execute_wrapper(wrapper):
            client.get(url, params)
        total = time.perf_counter() - started
        profiler = cProfile.Profile()
        profiler.enable()
        client.get(url, params)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(8)
        lines = [ln for ln in out.getvalue().splitlines() if ln.strip()][-9:]
        return {
            "page_ms": round(total * 1000, 2),
            "sql_ms": round(sum(spent) * 1000, 2),
            "queries": len(spent),
            "python_ms": round((total - sum(spent)) * 1000, 2),
            "profile_tottime": lines,
        }

    def explain(self, sql, params) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            return [line for (line,) in cursor.fetchall()]

    def bench_balance(self):
        client = self.client()
        url = "/stock/"
        params = {"warehouse": self.warehouse.pk}
        sql_params = {"warehouse": self.warehouse.pk, "limit": 25}
        timed_, queries, _ = self.page_against(
            client, url, params, {"raw": (BALANCE_SQL, sql_params, self.runs)}
        )
        page, raw, rows = timed_["page"], timed_["raw"], timed_["rows"]["raw"]
        # Apart: two seconds of a parallel scan between page samples would time
        # the page on cold caches, not as it runs.
        naive, naive_rows = self.sql_time(NAIVE_SQL, sql_params, runs=min(self.runs, 5))
        assert [r[1] for r in rows] == [r[1] for r in naive_rows], "the queries disagree"
        page_ms, raw_ms, naive_ms = median_ms(page), median_ms(raw), median_ms(naive)
        ratio = page_ms / raw_ms
        met = ratio <= 1.3
        detail = {"samples_ms": [round(s * 1000, 3) for s in page], "queries": queries}
        if not met:
            detail["split"] = self.page_split(client, url, params)
            detail["explain_raw"] = self.explain(BALANCE_SQL, sql_params)
        self.row(
            "balance_vs_raw",
            "stock balance page (25 rows, one warehouse): server time",
            page_ms,
            "ms",
            baseline=raw_ms,
            baseline_label="its raw SQL",
            ratio=round(ratio, 2),
            ratio_text=f"{ratio:.2f}×",
            target="≤ 1.3× raw SQL",
            met=met,
            detail=detail,
        )
        faster = naive_ms / page_ms
        self.row(
            "balance_vs_naive",
            "stock balance page vs the naive ledger sum",
            page_ms,
            "ms",
            baseline=naive_ms,
            baseline_label="naive Σ ledger",
            ratio=round(faster, 1),
            ratio_text=f"{faster:.0f}× faster",
            target="≥ 100× faster",
            met=faster >= 100,
            detail={"explain_naive": self.explain(NAIVE_SQL, sql_params)} if faster < 100 else {},
        )
        counts = {}
        for per_page in (5, 50, 500):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url, {**params, "per_page": per_page})
            rows_shown = response.content.count(b"data-sku=")
            counts[per_page] = {"queries": len(captured), "rows": rows_shown}
        same = len({c["queries"] for c in counts.values()}) == 1
        self.row(
            "balance_queries",
            "stock balance page: queries at 5 / 50 / 500 rows",
            " / ".join(str(c["queries"]) for c in counts.values()),
            "queries",
            target="the same",
            met=same,
            detail={"per_page": counts},
        )

    def device_search(self) -> str:
        """Part of a serial a clerk would type: four characters that match a page or more."""
        serials = list(
            Device.objects.filter(state="new")
            .order_by("id")
            .values_list("serial", flat=True)[:2000]
        )[::40]
        for serial in serials:
            part = serial[-5:-1]
            matches = Device.objects.filter(state="new", serial__icontains=part).count()
            if matches >= 30:
                return part
        return serials[0][-4:] if serials else "0"

    def bench_devices(self):
        client = self.client()
        part = self.device_search()
        url = "/devices/"
        params = {"state": "new", "q": part}
        sql_params = {"state": "new", "like": f"%{part}%", "limit": 25}
        timed_, queries, content = self.page_against(
            client, url, params, {"raw": (DEVICES_SQL, sql_params, self.runs)}
        )
        page, raw, rows = timed_["page"], timed_["raw"], timed_["rows"]["raw"]
        page_ms, raw_ms = median_ms(page), median_ms(raw)
        ratio = page_ms / raw_ms
        met = ratio <= 1.3
        detail = {"search": part, "rows": len(rows), "queries": queries}
        if not met:
            detail["split"] = self.page_split(client, url, params)
            detail["explain_raw"] = self.explain(DEVICES_SQL, sql_params)
        self.row(
            "devices_vs_raw",
            f"device list (state=new, q={part}): server time",
            page_ms,
            "ms",
            baseline=raw_ms,
            baseline_label="its raw SQL",
            ratio=round(ratio, 2),
            ratio_text=f"{ratio:.2f}×",
            target="≤ 1.3× raw SQL",
            met=met,
            detail=detail,
        )

    # ----------------------------------------------------------------------- reservations

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

    # ----------------------------------------------------------------------- import

    def bench_import(self):
        if not IMPORTER.exists():
            self.row("import", "import: not available", None, "", target="—", met=None)
            self.notes.append("import: warehouse/management/commands/import.py does not exist.")
            return
        sizes = [int(n) for n in self.options["import_lines"].split(",") if n.strip()]
        folder = Path(self.options["json"]).resolve().parent
        folder.mkdir(parents=True, exist_ok=True)
        files = {n: self.opening_csv(folder / f"opening_stock_{n}.csv", n) for n in sizes}
        results = {}
        for lines, path in files.items():
            results[lines] = {
                "import": self.import_run(path, lines),
                "copy": self.copy_run(path, lines),
            }
        largest = max(sizes)
        big = results[largest]
        imported = big["import"]
        if not imported["ok"]:
            self.row(
                "import",
                f"import opening_stock, {largest:,} lines",
                None,
                "",
                target="≥ 0.3× raw COPY",
                met=False,
                detail={"runs": results},
            )
            self.notes.append(f"import failed: {imported['stderr'][-500:]}")
            return
        ratio = imported["rows_per_s"] / big["copy"]["rows_per_s"]
        if ratio < 0.3:
            smallest = min(sizes)
            results["phases"] = {"lines": smallest, "seconds": self.import_phases(files[smallest])}
        self.row(
            "import_rate",
            f"import opening_stock, {largest:,} lines",
            round(imported["rows_per_s"]),
            "rows/s",
            baseline=round(big["copy"]["rows_per_s"]),
            baseline_label="raw COPY, bare table",
            ratio=round(ratio, 3),
            ratio_text=f"{ratio:.2f}×",
            target="≥ 0.3× raw COPY",
            met=ratio >= 0.3,
            detail={"runs": results},
        )
        peaks = {n: results[n]["import"]["peak_mb"] for n in sizes}
        smallest = min(sizes)
        same = peaks[largest] <= peaks[smallest] * 1.2 + 5
        self.row(
            "import_memory",
            "import: peak memory " + " / ".join(f"{n:,}" for n in sizes) + " lines",
            " / ".join(f"{peaks[n]:.0f}" for n in sizes),
            "MB",
            target="< 200 MB, the same",
            met=all(p < 200 for p in peaks.values()) and same,
            detail={"peak_mb": peaks},
        )

    def opening_csv(self, path: Path, lines: int) -> Path:
        """Opening stock of L's products in L's storage locations: `lines` distinct pairs."""
        if path.exists() and sum(1 for _ in path.open()) == lines + 1:
            return path
        rng = random.Random(lines)
        products = list(
            Product.objects.filter(active=True)
            .exclude(sku=BENCH_PRODUCT)
            .order_by("id")
            .values_list("sku", "traceable", "unit")
        )
        counted = [p for p in products if not p[1]]
        locations = list(
            Location.objects.filter(kind=Location.Kind.STORAGE)
            .select_related("warehouse")
            .order_by("id")
            .values_list("warehouse__code", "code")
        )
        per_product = -(-lines // max(1, len(counted)))
        per_product = min(per_product, len(locations))
        written = 0
        with path.open("w", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(["warehouse", "location", "sku", "quantity", "unit_cost"])
            for sku, _, unit in counted:
                for warehouse, code in rng.sample(locations, per_product):
                    if written == lines:
                        break
                    quantity = (
                        rng.randint(1, 400)
                        if unit in ("pcs", "box")
                        else (f"{rng.uniform(1, 500):.3f}")
                    )
                    out.writerow([warehouse, code, sku, quantity, f"{rng.uniform(0.5, 90):.2f}"])
                    written += 1
        if written < lines:
            raise CommandError(f"Only {written} distinct product × location pairs for {path}.")
        return path

    def import_database(self, name: str) -> str:
        """A fresh database with L's warehouses, locations and products, and no stock."""
        template = f"{connection.settings_dict['NAME']}_imptpl"
        with self.admin_connect(connection.settings_dict) as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [template]
            ).fetchone()
        if not exists:
            self.database_create(template)
            try:
                self.migrate(template)
                self.catalogue_copy(template)
            except BaseException:
                self.database_drop(template)
                raise
        else:
            # A template kept from an earlier run gets the migrations added since (indexes).
            self.migrate(template)
        self.database_create(name, drop=True, template=template)
        return name

    def migrate(self, name: str) -> None:
        subprocess.run(  # noqa: S603 (our own manage.py)
            [
                sys.executable,
                str(Path(settings.BASE_DIR) / "manage.py"),
                "migrate",
                "--no-input",
                "--verbosity=0",
            ],
            env=self.subprocess_env(name),
            check=True,
            capture_output=True,
        )

    def subprocess_env(self, name: str) -> dict:
        # Both roles' URLs name the bench's database (as its owner): an inherited
        # DATABASE_OWNER_URL would otherwise send the child's migrate elsewhere.
        url = self.database_url(name)
        return {
            **os.environ,
            "DATABASE_URL": url,
            "DATABASE_OWNER_URL": url,
            "DJANGO_SETTINGS_MODULE": "inventory_site.settings.dev",
        }

    def catalogue_copy(self, name: str) -> None:
        """Users, warehouses, locations and products, as they are in the bench database."""
        import psycopg

        s = connection.settings_dict
        target = psycopg.connect(
            dbname=name,
            host=s.get("HOST") or None,
            port=s.get("PORT") or None,
            user=s.get("USER") or None,
            password=s.get("PASSWORD") or None,
        )
        with target, connection.cursor() as cursor:
            source = cursor.cursor
            for table in (
                "auth_user",
                "warehouse_warehouse",
                "warehouse_location",
                "warehouse_product",
            ):
                buffer = io.BytesIO()
                with source.copy(f"COPY {table} TO STDOUT") as copy:
                    for data in copy:
                        buffer.write(data)
                with target.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                    copy.write(buffer.getvalue())
                target.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
                )

    def database_url(self, name: str) -> str:
        s = connection.settings_dict
        host = s.get("HOST") or ""
        host = quote(host, safe="") if host.startswith("/") else host
        port = f":{s['PORT']}" if s.get("PORT") else ""
        auth = quote(s.get("USER") or "", safe="")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"], safe="")
        return f"postgres://{auth}@{host}{port}/{name}"

    def import_run(self, path: Path, lines: int) -> dict:
        name = f"{connection.settings_dict['NAME']}_import"
        self.import_database(name)
        env = self.subprocess_env(name)
        command = [
            sys.executable,
            str(Path(settings.BASE_DIR) / "manage.py"),
            "import",
            "opening_stock",
            str(path),
        ]
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            started = time.perf_counter()
            process = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)  # noqa: S603
            peak_kb = 0
            while process.poll() is None:
                peak_kb = max(peak_kb, self.high_water_kb(process.pid))
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            code = process.returncode
            out.seek(0)
            err.seek(0)
            out, err = out.read(), err.read()
        self.database_drop(name)
        return {
            "ok": code == 0,
            "lines": lines,
            "seconds": round(elapsed, 2),
            "rows_per_s": round(lines / elapsed, 1),
            "peak_mb": round(peak_kb / 1024, 1),
            "stdout": out[-400:],
            "stderr": err[-1200:],
        }

    @staticmethod
    def high_water_kb(pid: int) -> int:
        """A process's own peak resident memory (VmHWM), in KiB; 0 when it has gone.

        Not ru_maxrss: Linux starts a forked child's ru_maxrss at its parent's
        size, and this process holds the data set it may just have built.
        """
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def import_phases(self, path: Path) -> dict:
        """Seconds the importer spends in each of its phases (reading, checking, booking …)."""
        name = f"{connection.settings_dict['NAME']}_import"
        self.import_database(name)
        script = (
            "import json, sys, time, django\n"
            "django.setup()\n"
            "from warehouse.imports import IMPORTERS, MAX_ERRORS\n"
            "marks = []\n"
            "def progress(phase, rows, done):\n"
            "    if not marks or marks[-1][0] != phase:\n"
            "        marks.append((phase, time.perf_counter()))\n"
            "start = time.perf_counter()\n"
            "importer = IMPORTERS['opening_stock'](path=sys.argv[1], name=sys.argv[1],\n"
            "    actor=None, max_errors=MAX_ERRORS, format=None, progress=progress)\n"
            "importer.run(dry_run=False)\n"
            "end = time.perf_counter()\n"
            "edges = [m[1] for m in marks] + [end]\n"
            "print(json.dumps({'setup': round(marks[0][1] - start, 2) if marks else None,\n"
            "    **{m[0]: round(edges[i + 1] - m[1], 2) for i, m in enumerate(marks)}}))\n"
        )
        try:
            done = subprocess.run(  # noqa: S603 (our own code)
                [sys.executable, "-c", script, str(path)],
                env=self.subprocess_env(name),
                capture_output=True,
                text=True,
                timeout=1800,
                cwd=settings.BASE_DIR,
            )
            return json.loads(done.stdout.strip().splitlines()[-1])
        except (subprocess.SubprocessError, ValueError, IndexError) as exc:
            return {"error": str(exc)[:300]}
        finally:
            self.database_drop(name)

    def copy_run(self, path: Path, lines: int) -> dict:
        """The floor: the same file by COPY into a bare temporary table."""
        samples = []
        for _ in range(3):
            with connection.cursor() as cursor:
                raw = cursor.cursor
                raw.execute("DROP TABLE IF EXISTS pg_temp.bench_opening")
                raw.execute(
                    "CREATE TEMP TABLE bench_opening (warehouse text, location text, sku text,"
                    " quantity text, unit_cost text)"
                )
                started = time.perf_counter()
                with (
                    path.open("rb") as handle,
                    raw.copy(
                        "COPY bench_opening FROM STDIN WITH (FORMAT csv, HEADER true)"
                    ) as copy,
                ):
                    while data := handle.read(1 << 20):
                        copy.write(data)
                samples.append(time.perf_counter() - started)
                raw.execute("DROP TABLE pg_temp.bench_opening")
        seconds = statistics.median(samples)
        return {"seconds": round(seconds, 3), "rows_per_s": round(lines / seconds, 1)}

    # ----------------------------------------------------------------------- FIFO

    def bench_fifo(self):
        rows = 0

        def run():
            nonlocal rows
            rows = len(list(selectors.fifo_report()))

        samples = timed(run, runs=min(self.runs, 5), warmups=1)
        seconds = statistics.median(samples)
        detail = {"rows": rows, "samples_s": [round(s, 3) for s in samples]}
        if seconds >= 3:
            sql, params = selectors.fifo_report().query.sql_with_params()
            detail["explain"] = self.explain(sql, params)
        self.row(
            "fifo_report",
            f"FIFO report over the whole ledger ({rows:,} rows)",
            round(seconds, 3),
            "s",
            target="< 3 s",
            met=seconds < 3,
            detail=detail,
        )

    # ----------------------------------------------------------------------- output

    def environment_read(self) -> dict:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        load = os.getloadavg() if hasattr(os, "getloadavg") else None
        return {
            "when": datetime.now(UTC).isoformat(),
            "python": platform.python_version(),
            "postgres": version,
            "cpus": os.cpu_count(),
            "load_average": load,
            "machine": platform.machine(),
        }

    def table_print(self):
        def fmt(value, unit):
            if value is None:
                return "—"
            if isinstance(value, float):
                text = f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
            elif isinstance(value, int):
                text = f"{value:,}"
            else:
                text = str(value)
            return f"{text} {unit}".strip()

        header = ("measure", "figure", "baseline", "ratio", "target", "met")
        lines = []
        for row in self.rows:
            baseline = (
                f"{fmt(row['baseline'], row['unit'])} ({row['baseline_label']})"
                if row["baseline"] is not None
                else "—"
            )
            met = {True: "met", False: "NOT MET", None: "—"}[row["met"]]
            lines.append(
                (
                    row["measure"],
                    fmt(row["figure"], row["unit"]),
                    baseline,
                    row["ratio_text"] or "—",
                    row["target"] or "—",
                    met,
                )
            )
        widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(len(header))]
        rule = "  ".join("-" * w for w in widths)
        self.stdout.write("")
        self.stdout.write("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        self.stdout.write(rule)
        for line in lines:
            self.stdout.write("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))
        self.stdout.write(rule)
        load = self.environment.get("load_average")
        if load:
            self.stdout.write(
                f"load average at start: {load[0]:.2f} on {self.environment['cpus']} CPUs"
            )
        for row in self.rows:
            if row["met"] is False:
                self.stdout.write(f"\nNot met: {row['measure']}")
                split = row["detail"].get("split")
                if split:
                    self.stdout.write(
                        f"  one request: {split['page_ms']} ms = SQL {split['sql_ms']} ms in "
                        f"{split['queries']} queries + Python {split['python_ms']} ms "
                        "(middleware, forms, table, template)"
                    )
                    for line in split["profile_tottime"]:
                        self.stdout.write(f"    {line}")
                phases = row["detail"].get("runs", {}).get("phases")
                if phases:
                    spent = ", ".join(f"{k} {v} s" for k, v in phases["seconds"].items())
                    self.stdout.write(
                        f"  where the import's time goes ({phases['lines']:,} lines): {spent}"
                    )
                if row["key"] == "reservations_rate":
                    single = row["detail"]["one_thread"]
                    last = row["detail"]["rounds"][-1]["services"]
                    self.stdout.write(
                        f"  one thread alone: {single['orders_per_s']} orders/s; "
                        f"{last['threads']} threads: {last['orders_per_s']} orders/s; "
                        f"interpreter CPU per confirm: {last['python_cpu_ms_per_order']} ms "
                        f"(raw UPDATE loop: {row['baseline']} orders/s). A confirm is a "
                        "transaction of three round trips (move the draft on and read its "
                        "lines; one statement that locks, reserves and records; COMMIT) "
                        "against the loop's one autocommit UPDATE: the stock row stays "
                        "locked through the commit's flush, and the threads share one "
                        "interpreter. The reservation statement alone, in autocommit "
                        f"(no order, no transaction): {row['detail']['floor_orders_per_s']} "
                        f"orders/s = {row['detail']['floor_ratio']}× the loop: the ceiling, "
                        "here, of a confirm that writes its reservation in one statement."
                    )
                for key in ("explain_raw", "explain_naive", "explain"):
                    if row["detail"].get(key):
                        self.stdout.write(f"  {key.replace('_', ' ')}:")
                        for line in row["detail"][key][:14]:
                            self.stdout.write(f"    {line}")
        for note in self.notes:
            self.stdout.write(note)

    def json_write(self, build, seconds):
        path = Path(self.options["json"])
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "scale": self.options["scale"],
            "environment": self.environment,
            "data": {k: v for k, v in build.items() if k != "summary"},
            "rows": self.rows,
            "notes": self.notes,
            "seconds": round(seconds, 1),
        }
        path.write_text(json.dumps(payload, indent=2, default=str))
        self.stdout.write(f"\nResults written to {path}")
