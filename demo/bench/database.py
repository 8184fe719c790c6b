"""The bench's own database: created, migrated, its L data set reused or built."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connection, connections

from demo import seeding
from demo.bulk import scale_build
from demo.users import users_ensure


class Database:
    """Where the bench runs and the data it measures (`<database>_bench` unless --here)."""

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
        users = users_ensure()
        started = time.monotonic()
        result = scale_build(
            scale=scale,
            factor=None,
            seed=options["seed"],
            users=users,
            stdout=self.stdout,
            style=self.style,
        )
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

    def database_url(self, name: str) -> str:
        s = connection.settings_dict
        host = s.get("HOST") or ""
        host = quote(host, safe="") if host.startswith("/") else host
        port = f":{s['PORT']}" if s.get("PORT") else ""
        auth = quote(s.get("USER") or "", safe="")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"], safe="")
        return f"postgres://{auth}@{host}{port}/{name}"
