"""The API on the L data: a device looked up by serial, the ledger deep down, confirms by HTTP.

- a device by serial (`GET /api/devices/by-serial/<serial>/`, token auth):
  server time through Django's test client, against the selector's own SQL;
- the ledger (`GET /api/movements/`) at page 1 and at page 1,000 (100 rows a
  page, the cursor walked there once): the same time is the cursor's promise;
- 16 integrators, each with its own token and HTTP client, confirming
  one-line orders on one product with less stock than orders through the
  production server (gunicorn, two workers, loopback), against the same
  threads looping the conditional UPDATE; no unit may be oversold.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

from django.db import connection
from django.test import Client, override_settings
from rest_framework.settings import api_settings

from api.devices.selectors import devices_by_serial
from api.tokens import api_token_create
from devices.models import Device

from ..production import Gunicorn, production_env
from .measure import median_ms, timed_together

LEDGER_PAGE = 100
DEEP_PAGE = 1000


class Api:
    """The API's rows of the bench."""

    def api_client(self, name: str) -> Client:
        _, secret = api_token_create(user=self.admin, name=name)
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def bench_api(self):
        # Walking 1,000 pages is the bench's setup, not a client's minute: no rate here.
        rates = {**api_settings.DEFAULT_THROTTLE_RATES, "api": "1000000/min"}
        with override_settings(
            REST_FRAMEWORK={**api_settings.user_settings, "DEFAULT_THROTTLE_RATES": rates}
        ):
            self.bench_api_lookup()
            self.bench_api_ledger()
        self.bench_api_confirms()

    def bench_api_lookup(self):
        client = self.api_client("bench: lookup")
        serial = Device.objects.order_by("id").values_list("serial", flat=True)[
            Device.objects.count() // 2
        ]
        typed = f" {serial.lower()} "  # as a person types it: the API normalises
        url = f"/api/devices/by-serial/{typed}/"
        sql, params = (
            devices_by_serial(serial=serial)
            .order_by("product_id", "id")[: LEDGER_PAGE + 1]
            .query.sql_with_params()
        )

        def page():
            response = client.get(url)
            assert response.status_code == 200, response.content[:300]

        def raw():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                cursor.fetchall()

        samples = timed_together(
            {"page": (page, self.runs), "raw": (raw, self.runs)}, warmups=self.warmups
        )
        page_ms, raw_ms = median_ms(samples["page"]), median_ms(samples["raw"])
        self.row(
            "api_device_lookup",
            "API: a device by serial (token, any case): server time",
            page_ms,
            "ms",
            baseline=raw_ms,
            baseline_label="its SQL",
            ratio=round(page_ms / raw_ms, 2),
            ratio_text=f"{page_ms / raw_ms:.1f}×",
            target="< 10 ms",
            met=page_ms < 10,
            detail={"serial": typed, "samples_ms": [round(s * 1000, 3) for s in samples["page"]]},
        )

    def bench_api_ledger(self):
        client = self.api_client("bench: ledger")
        first = f"/api/movements/?page_size={LEDGER_PAGE}"
        url, page, walked = first, 1, time.perf_counter()
        while page < DEEP_PAGE:  # a small data set ends sooner: its last page then
            response = client.get(url)
            assert response.status_code == 200, response.content[:300]
            if not (following := response.json()["next"]):
                break
            url, page = following, page + 1
        walked = time.perf_counter() - walked
        deep = url

        def get(address):
            def call():
                response = client.get(address)
                assert response.status_code == 200, response.content[:300]

            return call

        samples = timed_together(
            {"first": (get(first), self.runs), "deep": (get(deep), self.runs)},
            warmups=self.warmups,
        )
        first_ms, deep_ms = median_ms(samples["first"]), median_ms(samples["deep"])
        ratio = deep_ms / first_ms
        self.row(
            "api_ledger_deep",
            f"API: the ledger at page {page:,} ({LEDGER_PAGE} rows a page) vs page 1",
            deep_ms,
            "ms",
            baseline=first_ms,
            baseline_label="page 1",
            ratio=round(ratio, 2),
            ratio_text=f"{ratio:.2f}×",
            target="≤ 1.3× page 1",
            met=ratio <= 1.3,
            detail={"walk_to_page_s": round(walked, 1), "deep_url": deep},
        )

    def bench_api_confirms(self):
        import httpx  # the integrator's client; a dev dependency, as the bench is

        threads = self.options["threads"]
        per_thread = self.options["orders_per_thread"]
        orders_total = threads * per_thread
        available = orders_total * 3 // 4
        product, stock_row, orders = self.reservations_setup(orders_total)
        secrets = [
            api_token_create(user=self.admin, name=f"bench: integrator {n}")[1]
            for n in range(threads)
        ]
        server = Gunicorn(production_env())
        try:
            base = server.address()
            raw = self.reserve_with_sql(product, stock_row, threads, per_thread, available)
            held = self.hold_rest(product, stock_row, available)
            chunks = [orders[n::threads] for n in range(threads)]

            def work(index):
                counts = {"confirmed": 0, "refused": 0, "errors": []}
                headers = {"Authorization": f"Bearer {secrets[index]}"}
                headers["X-Forwarded-Proto"] = "https"  # what the TLS proxy sends
                with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                    for order in chunks[index]:
                        response = client.post(
                            f"/api/orders/{order.pk}/confirm/",
                            json={},
                            headers={"Idempotency-Key": str(uuid.uuid4())},
                        )
                        if response.status_code == 200:
                            counts["confirmed"] += 1
                        elif response.status_code == 409:
                            counts["refused"] += 1
                        else:
                            counts["errors"].append(f"{response.status_code} {response.text[:120]}")
                return counts

            outcomes, elapsed = self.run_threads(work, threads)
        finally:
            server.stop()
            self.reservations_cleanup(product, orders)
        stock_row.refresh_from_db()
        confirmed = sum(o["confirmed"] for o in outcomes)
        errors = [e for o in outcomes for e in o["errors"]]
        rate = orders_total / elapsed
        oversold = int(max(Decimal(0), Decimal(confirmed) - available))
        self.row(
            "api_confirm_rate",
            f"API: {threads} clients confirming orders through gunicorn (2 workers)",
            round(rate, 1),
            "orders/s",
            baseline=raw["orders_per_s"],
            baseline_label="conditional UPDATE loop",
            ratio=round(rate / raw["orders_per_s"], 3),
            ratio_text=f"{rate / raw['orders_per_s']:.2f}×",
            target="0 oversold, 0 errors",
            met=oversold == 0 and not errors,
            detail={
                "orders": orders_total,
                "available": available,
                "held": int(held),
                "confirmed": confirmed,
                "refused": sum(o["refused"] for o in outcomes),
                "errors": errors[:5],
                "oversold": oversold,
                "seconds": round(elapsed, 2),
            },
        )
