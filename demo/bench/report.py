"""The bench's results: its rows, the table it prints and the JSON it writes."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from django.db import connection


class Report:
    """Collects rows (figure, baseline, ratio, target, met) and prints them."""

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
