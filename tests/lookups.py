"""What the lookup-index tests share: the plan of a query and its rows without any index."""

from django.db import connection, transaction


def analyze(*models) -> None:
    """Statistics gathered and GIN pending lists merged, as autovacuum leaves a table in use.

    Rows inserted after a GIN index is built wait in its pending list, which
    the planner counts as a cost until (auto)vacuum merges them.
    """
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index AS i"
                " JOIN pg_class AS c ON c.oid = i.indexrelid JOIN pg_am AS a ON a.oid = c.relam"
                " WHERE i.indrelid = %s::regclass AND a.amname = 'gin'",
                [table],
            )
            cursor.execute(f'ANALYZE "{table}"')


def plan(queryset) -> str:
    return queryset.explain()


def unindexed(queryset) -> list:
    """The same query's primary keys when PostgreSQL may read no index: the table walked."""
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        assert "trgm" not in queryset.explain()
        return sorted(queryset.values_list("pk", flat=True))


def rows(queryset) -> list:
    return sorted(queryset.values_list("pk", flat=True))
