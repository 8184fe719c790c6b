"""The bench's run: set up the database, measure each part, audit the books, report."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from warehouse.invariants import books_audit
from warehouse.models import Warehouse

from .api import Api
from .database import Database
from .deep import Deep
from .imports import Imports
from .lookups import Lookups
from .pages import Pages
from .report import Report
from .reservations import Reservations


class Bench(Database, Pages, Lookups, Deep, Reservations, Imports, Api, Report):
    """`manage.py bench`, its options as the command parsed them (README, "Benchmark")."""

    def __init__(self, *, stdout, stderr, style):
        self.stdout, self.stderr, self.style = stdout, stderr, style

    def run(self, options):
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
            ("lookups", "lookups and suggestions", self.bench_lookups),
            ("deep", "deep pages", self.bench_deep),
            ("reservations", "reservations", self.bench_reservations),
            ("import", "import", self.bench_import),
            ("fifo", "FIFO report", self.bench_fifo),
            ("api", "the API", self.bench_api),
            ("books", "check_books", self.bench_books),
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

    def bench_books(self):
        """The audit of the books over the data just measured: it must find nothing."""
        audit = books_audit()
        broken = sum(len(found) for _, found in audit.broken)
        self.row(
            "check_books",
            f"check_books: {len(audit.results)} checks over {audit.movements:,} movements",
            broken,
            "rows broken",
            target="0",
            met=broken == 0,
            detail={
                "seconds": round(audit.seconds, 2),
                "broken": {name: [str(v) for v in found[:20]] for name, found in audit.broken},
            },
        )
        if audit.broken:
            for name, found in audit.broken:
                self.notes.append(f"check_books: {name}: " + "; ".join(map(str, found[:5])))
        else:
            self.notes.append(audit.summary())
