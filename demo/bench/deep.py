"""Deep pages: the thousandth page and the last one of a list against its first.

The lists page by keyset (warehouse/keyset.py): a page is the rows after the
previous page's last row in the list's order, so its cost should not grow
with its depth. Each list is walked by its Next link to page 1,000 (or to
the deepest page before its last, when it has fewer), as a person would, then
its first, that page and its Last page are timed in alternation: server time
through Django's test client, as the other page rows are.
"""

from __future__ import annotations

import html
import re
import time

from .measure import median_ms, timed_together

DEEP_PAGE = 1000
_NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
_LAST = re.compile(r'<a href="([^"]+)" rel="last">')

DEEP_LISTS = (
    # key, label, address, parameters of the first page
    ("deep-balance", "stock balance (all warehouses, 25 rows)", "/stock/", {}),
    ("deep-devices", "device list (25 rows)", "/devices/", {}),
    ("deep-activity", "activity log (50 rows)", "/activity/", {}),
    ("deep-products", "product list (25 rows)", "/products/", {}),
)


def _link(pattern, content: bytes) -> str | None:
    found = pattern.search(content.decode())
    return html.unescape(found.group(1)) if found else None


class Deep:
    """The bench's rows of deep pages: `deep-<list>`."""

    def bench_deep(self):
        client = self.client()
        for key, label, url, params in DEEP_LISTS:
            self.deep_row(client, key, label, url, params)

    def deep_row(self, client, key, label, url, params):
        def get(address, query=None):
            response = client.get(address, query)
            assert response.status_code == 200, (address, response.status_code)
            return response

        first_page = get(url, params)
        first = first_page.request["PATH_INFO"] + "?" + first_page.request["QUERY_STRING"]
        last = _link(_LAST, first_page.content)
        walked, started, deep, depth = first_page, time.perf_counter(), first, 1
        while depth < DEEP_PAGE:
            following = _link(_NEXT, walked.content)
            if following is None:
                break
            nxt = get(following)
            if _link(_NEXT, nxt.content) is None:  # that is the last page: measured apart
                break
            walked, deep, depth = nxt, following, depth + 1
        walk_s = time.perf_counter() - started

        def call(address):
            return lambda: get(address)

        calls = {"first": (call(first), self.runs), "deep": (call(deep), self.runs)}
        if last:
            calls["last"] = (call(last), self.runs)
        samples = timed_together(calls, warmups=self.warmups)
        first_ms = median_ms(samples["first"])
        for which, name in (("deep", f"page {depth:,}"), ("last", "the last page")):
            if which not in samples:
                continue
            ms = median_ms(samples[which])
            ratio = ms / first_ms
            self.row(
                key if which == "deep" else f"{key}-last",
                f"{label}: {name} vs the first page",
                ms,
                "ms",
                baseline=first_ms,
                baseline_label="page 1",
                ratio=round(ratio, 2),
                ratio_text=f"{ratio:.2f}×",
                target="≤ 2× page 1",
                met=ratio <= 2,
                detail={
                    "depth": depth,
                    "walk_s": round(walk_s, 1),
                    "url": deep if which == "deep" else last,
                    "samples_ms": [round(s * 1000, 3) for s in samples[which]],
                },
            )
