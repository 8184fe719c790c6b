"""The opening-stock import against a raw COPY of the same file: rows per second, memory."""

from __future__ import annotations

import csv
import io
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection

from warehouse.models import Location, Product

from .measure import BENCH_PRODUCT

IMPORTER = Path(settings.BASE_DIR) / "warehouse" / "management" / "commands" / "import.py"


class Imports:
    """Runs `manage.py import opening_stock` in a fresh database and measures it."""

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
