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
- the API (demo/bench/api.py): a device by serial, the ledger at page 1,000,
  16 integrators confirming orders through gunicorn;
- how long `seed_demo --scale L` took to build the data;
- `check_books` over the data once measured: no row may disagree.

It prints a table (figure, baseline, ratio, target, met) and writes JSON.
It reports; it never fails on speed. Timings are medians after warm-ups; a page
and its baselines are timed in alternation, so both see the same machine.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from demo.bench import Bench


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
            "lookups, deep, reservations, import, fifo, api, books).",
        )

    def handle(self, *args, **options):
        Bench(stdout=self.stdout, stderr=self.stderr, style=self.style).run(options)
