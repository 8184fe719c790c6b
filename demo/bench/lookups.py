"""Lookups on the L data (issue 20): what a clerk types, timed on the server through the client.

- a device by its full serial, typed in lower case (`/devices/?q=`): the
  unique index on `identity_key(serial)` ranks it, the trigram index finds it;
- the device list with `state=new&q=<4 characters of a serial>`;
- each suggestion endpoint (products, parties, locations) with a fragment.
"""

from __future__ import annotations

from devices.models import Device
from warehouse.models import Location, Party, Product

from .measure import median_ms, timed


class Lookups:
    """Server time of a lookup through the test client (as `Pages` times the pages)."""

    def bench_lookups(self):
        client = self.client()
        serial = Device.objects.order_by("id").values_list("serial", flat=True)[
            Device.objects.count() // 2
        ]
        part = self.device_search()
        product = Product.objects.order_by("id").values_list("name", flat=True)[
            Product.objects.count() // 2
        ]
        party = Party.objects.order_by("id").values_list("name", flat=True)[
            Party.objects.count() // 2
        ]
        location = Location.objects.filter(kind__in=Location.REAL_KINDS).order_by("id")
        location = location.values_list("code", flat=True)[location.count() // 2]
        rows = [
            ("lookup_device_serial", "a device by its full serial (lower case)",
             "/devices/", {"q": serial.lower()}, 5),
            ("lookup_device_part", f"device list state=new, q={part}",
             "/devices/", {"state": "new", "q": part}, 20),
            ("lookup_suggest_products", "product suggestions (name fragment)",
             "/products/suggest/", {"q": product[-6:]}, 10),
            ("lookup_suggest_parties", "party suggestions (name fragment)",
             "/parties/suggest/", {"q": party[:5]}, 10),
            ("lookup_suggest_locations", "location suggestions (code prefix)",
             "/locations/suggest/", {"q": location[:3]}, 10),
        ]  # fmt: skip
        for key, label, url, params, target in rows:

            def get(url=url, params=params):
                response = client.get(url, params)
                assert response.status_code == 200, (url, response.status_code)
                return response

            samples = timed(get, runs=self.runs, warmups=self.warmups)
            figure = median_ms(samples)
            self.row(
                key,
                f"{label}: server time",
                figure,
                "ms",
                target=f"< {target} ms",
                met=figure < target,
                detail={"url": url, "params": params, "bytes": len(get().content)},
            )
