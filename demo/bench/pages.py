"""The pages against their raw SQL: the stock balance, the device list, the FIFO report."""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from devices.models import Device
from warehouse import selectors

from .measure import median_ms, timed, timed_together

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


class Pages:
    """Server time of a page through the test client, timed in alternation with its SQL."""

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
