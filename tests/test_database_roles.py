"""The application's database role may append to the ledger, the device history and the
event outbox, never rewrite them; its other tables are its to write. The tests run as the
owner; these connect to the same test database as the application role, as the running
site does."""

import psycopg
import pytest
from django.db import connection
from psycopg import errors, sql

from inventory_site.database import app_role_name
from inventory_site.grants import append_only_tables, grants_apply
from tests.devices.factories import devices_in, world_create

LEDGER = "warehouse_movement"
HISTORY = "devices_deviceevent"
EVENTS = "warehouse_event"

pytestmark = pytest.mark.skipif(
    app_role_name() == connection.settings_dict["USER"],
    reason="this server has one role: the application connects as the owner",
)


@pytest.fixture
def app_db(transactional_db):
    """An own connection as the application role (autocommit: each refusal stands alone)."""
    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        dbname=s["NAME"],
        user=app_role_name(),
        password=None,
        autocommit=True,
    ) as conn:
        yield conn


@pytest.fixture
def booked(transactional_db):
    """A serial-numbered unit booked in: one ledger line, one history event, committed."""
    w = world_create()
    devices_in(w.stock, w.modem, "SN-1", actor=w.actor)
    return w


def _copy_row(conn, table):
    """Append a copy of the table's first row (every column but the id): an honest INSERT."""
    columns = [
        sql.Identifier(name)
        for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = %s AND column_name <> 'id' ORDER BY ordinal_position",
            [table],
        )
    ]
    cols = sql.SQL(", ").join(columns)
    return conn.execute(
        sql.SQL(
            "INSERT INTO {t} ({c}) SELECT {c} FROM {t} ORDER BY id LIMIT 1 RETURNING id"
        ).format(t=sql.Identifier(table), c=cols)
    ).fetchone()[0]


def _allowed(conn, queries) -> list[str]:
    """The queries the server ran rather than refusing for want of privilege."""
    allowed = []
    for query in queries:
        try:
            conn.execute(query)
        except errors.InsufficientPrivilege:
            continue
        allowed.append(query.as_string(conn))
    return allowed


def _count(conn, table):
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
    return conn.execute(query).fetchone()[0]


def test_the_application_role_appends_to_the_ledger_and_the_history(app_db, booked):
    for table in (LEDGER, HISTORY):
        count = _count(app_db, table)

        _copy_row(app_db, table)

        assert _count(app_db, table) == count + 1, table


def test_the_application_role_appends_to_the_events_with_its_transaction_id(app_db, booked):
    count = _count(app_db, EVENTS)

    with app_db.transaction():
        txid, mine = app_db.execute(
            "INSERT INTO warehouse_event"
            " (created_at, kind, subject, document_type, document_number, data)"
            " VALUES (now(), 'order.confirmed', '{}', 'order', 'ORD-000001', '{}')"
            " RETURNING txid, pg_current_xact_id()::text::bigint"
        ).fetchone()

    assert _count(app_db, EVENTS) == count + 1
    assert txid == mine


REWRITES = [
    "UPDATE {t} SET id = id",
    "DELETE FROM {t}",
    "TRUNCATE {t}",
    "TRUNCATE {t} CASCADE",
    "ALTER TABLE {t} DISABLE TRIGGER ALL",
    "ALTER TABLE {t} DISABLE TRIGGER USER",
    "DROP TABLE {t} CASCADE",
]


@pytest.mark.parametrize("table", [LEDGER, HISTORY, EVENTS])
def test_the_application_role_cannot_rewrite_the_ledger_the_history_or_the_events(
    app_db, booked, table
):
    count = _count(app_db, table)
    queries = [sql.SQL(s).format(t=sql.Identifier(table)) for s in REWRITES]

    assert _allowed(app_db, queries) == []
    assert _count(app_db, table) == count >= 1  # the rows booked in are still there


def test_the_application_role_cannot_truncate_its_way_to_the_ledger_through_another_table(
    app_db, booked
):
    tables = ("warehouse_product", "warehouse_location", "devices_device")
    queries = [sql.SQL("TRUNCATE {} CASCADE").format(sql.Identifier(t)) for t in tables]

    assert _allowed(app_db, queries) == []
    assert _count(app_db, LEDGER) == 1
    assert _count(app_db, HISTORY) == 1


def test_the_application_role_cannot_switch_the_triggers_off_for_its_session(app_db, booked):
    with pytest.raises(errors.InsufficientPrivilege):
        app_db.execute("SET session_replication_role = replica")

    assert app_db.execute("SHOW session_replication_role").fetchone()[0] == "origin"


def test_the_application_role_writes_the_ordinary_tables(app_db, booked):
    product_id = booked.modem.pk
    app_db.execute(
        "UPDATE warehouse_product SET name = name || ' (renamed)' WHERE id = %s", [product_id]
    )
    app_db.execute(
        "INSERT INTO django_session (session_key, session_data, expire_date)"
        " VALUES ('probe', '', now())"
    )
    app_db.execute("UPDATE django_session SET session_data = 'x' WHERE session_key = 'probe'")
    deleted = app_db.execute("DELETE FROM django_session WHERE session_key = 'probe'")

    assert deleted.rowcount == 1
    booked.modem.refresh_from_db()
    assert booked.modem.name == "Modem (renamed)"


def test_the_application_role_may_write_a_table_made_after_the_grants(app_db, transactional_db):
    """Default privileges: a table a later migration makes is writable without a new grant."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE grants_probe (id bigint PRIMARY KEY, note text)")
    try:
        app_db.execute("INSERT INTO grants_probe VALUES (1, 'new')")
        app_db.execute("UPDATE grants_probe SET note = 'changed'")
        assert app_db.execute("DELETE FROM grants_probe").rowcount == 1
        with pytest.raises(errors.InsufficientPrivilege):
            app_db.execute("TRUNCATE grants_probe")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE grants_probe")


def _may(privilege, table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege(%s, %s, %s)", [app_role_name(), table, privilege]
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_migrating_again_takes_back_an_update_granted_on_the_ledger_by_hand():
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("GRANT UPDATE, DELETE, TRUNCATE ON {} TO {}")
            .format(sql.Identifier(LEDGER), sql.Identifier(app_role_name()))
            .as_string()
        )
    assert _may("UPDATE", LEDGER)

    grants_apply(using="default")

    assert not any(_may(p, LEDGER) for p in ("UPDATE", "DELETE", "TRUNCATE"))
    assert _may("INSERT", LEDGER)
    assert _may("SELECT", LEDGER)


@pytest.mark.django_db
def test_every_table_with_an_append_only_trigger_is_kept_append_only_by_the_grants():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger"
            " WHERE NOT tgisinternal AND tgname LIKE '%%append_only'"
        )
        guarded = {name for (name,) in cursor.fetchall()}

    assert guarded == set(append_only_tables()) == {LEDGER, HISTORY, EVENTS}
