"""Where the database is: `DATABASE_URL` when set, else an embedded PostgreSQL.

The embedded server is the `pgserver` wheel's own PostgreSQL, its data in a
git-ignored folder of the project, so a newcomer needs nothing but Python.
It listens on a Unix socket only; starting it when it already runs is free.
"""

import contextlib
import os
import sys
import warnings
from pathlib import Path

import dj_database_url

EMBEDDED_DATABASE = "inventory"


def database_config(*, base_dir: Path, data_dir: str, stop_on_exit: bool = False) -> dict:
    """The `DATABASES["default"]` entry for this process."""
    url = os.environ.get("DATABASE_URL")
    if url:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    else:
        socket_dir = embedded_server_start(base_dir / data_dir, stop_on_exit=stop_on_exit)
        config = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": EMBEDDED_DATABASE,
            "USER": "postgres",
            "PASSWORD": "",
            "HOST": str(socket_dir),
            "PORT": "",
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    config.setdefault("OPTIONS", {})
    # TEST_DB_SUFFIX lets two test runs share one server without sharing a database.
    config["TEST"] = {"NAME": f"test_{config['NAME']}{os.environ.get('TEST_DB_SUFFIX', '')}"}
    return config


def embedded_server_start(pgdata: Path, *, stop_on_exit: bool) -> Path:
    """Start (or join) the embedded server in `pgdata`; return its socket folder.

    With `stop_on_exit`, the server stops when the last process using it exits
    (pgserver counts its handles across processes): tests leave nothing behind.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pgserver

    server = pgserver.get_server(pgdata, cleanup_mode="stop" if stop_on_exit else None)
    socket_dir = server.get_postmaster_info().socket_dir
    _database_ensure(socket_dir, EMBEDDED_DATABASE)
    return socket_dir


def _database_ensure(socket_dir: Path, name: str) -> None:
    import psycopg

    with psycopg.connect(
        host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            # Another process may create it meanwhile.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{name}"')


def embedded_server_stop(pgdata: Path) -> None:
    """Stop the embedded server of `pgdata` if it runs (`make db-stop`)."""
    import subprocess

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH

    if not (pgdata / "postmaster.pid").exists():
        print(f"no embedded server runs in {pgdata}")
        return
    cmd = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"]
    if os.geteuid() == 0:
        cmd = ["su", "pgserver", "-s", "/bin/sh", "-c", " ".join(cmd)]
    subprocess.run(cmd, check=False)


if __name__ == "__main__":
    base = Path(__file__).resolve().parent.parent
    if sys.argv[1:] == ["stop"]:
        for folder in (".pgdata", ".pgdata-test"):
            embedded_server_stop(base / folder)
    else:
        sys.exit("usage: python -m inventory_site.database stop")
