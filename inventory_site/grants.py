"""What the application role may do, granted by the owner after every migrate.

Every table: SELECT, INSERT, UPDATE, DELETE; every sequence: USAGE, SELECT;
the same for tables made later (default privileges). The append-only tables,
the ledger, the device history and the event outbox, keep SELECT and INSERT
only. TRUNCATE, REFERENCES and TRIGGER are never granted: TRUNCATE fires no row trigger, so
the append-only triggers alone could not stop it, and it is the owner's (the
test runner's flush). Not being the owner, the application cannot disable a
trigger or drop a table either, and not being a superuser it cannot set
`session_replication_role` to skip the triggers.

Run as the owner in the database just migrated (development, tests, bench);
idempotent, one transaction, so a table is never seen with UPDATE on it.
"""

from django.apps import apps
from django.db import connections, transaction

from inventory_site.database import app_role_name

# Models whose rows are never updated or deleted (each has its append-only trigger).
APPEND_ONLY_MODELS = ("warehouse.Movement", "devices.DeviceEvent", "warehouse.Event")


def append_only_tables() -> list[str]:
    return [apps.get_model(label)._meta.db_table for label in APPEND_ONLY_MODELS]


def grants_apply(*, using: str, app_role: str | None = None) -> bool:
    """Give `app_role` its privileges in the database of `using`; False when there is none.

    Nothing to give when the application connects as the owner itself (a
    one-role server of one's own): the owner keeps every right on its tables.
    """
    app_role = app_role if app_role is not None else app_role_name()
    connection = connections[using]
    if connection.vendor != "postgresql" or not app_role:
        return False
    from psycopg import sql

    role = sql.Identifier(app_role)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_schema()")
        owner, schema_name = cursor.fetchone()
        if owner == app_role:
            return False
        schema = sql.Identifier(schema_name)
        statements = [
            "GRANT USAGE ON SCHEMA {schema} TO {role}",
            "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {schema} FROM {role}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}"
            " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}"
            " GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        ]
        composed = [sql.SQL(s).format(schema=schema, role=role) for s in statements]
        composed += [
            sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}, PUBLIC").format(
                table=sql.Identifier(table), role=role
            )
            for table in append_only_tables()
        ]
        for statement in composed:
            cursor.execute(statement.as_string(connection.connection))
    return True


def grants_after_migrate(sender, using, **kwargs) -> None:
    """post_migrate: the grants follow the schema the migration just made."""
    grants_apply(using=using)
