"""Reading the event feed in tests: wait until every committed event is readable.

The feed shows only events of transactions below the snapshot's xmin. Transaction
ids are the cluster's (each xdist worker has a server of its own, settings/test.py),
and autovacuum or a connection just closing can still hold the horizon for a
moment, so a test that reads what it just committed waits for it first.
"""

from django.db import connection
from django.db.models import Max

from warehouse.models import Event


def horizon_passed() -> None:
    """Wait until every committed event is readable: up to a minute, polling every 5 ms."""
    last = Event.objects.aggregate(last=Max("txid"))["last"]
    if last is None:
        return
    with connection.cursor() as cursor:
        for _ in range(12_000):
            cursor.execute(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint > %s", [last]
            )
            if cursor.fetchone()[0]:
                return
            cursor.execute("SELECT pg_sleep(0.005)")
        cursor.execute(
            "SELECT pid, state, now() - xact_start, left(query, 200) FROM pg_stat_activity"
            " WHERE backend_xid IS NOT NULL OR backend_xmin IS NOT NULL"
        )
        holders = cursor.fetchall()
    raise AssertionError(f"a transaction held the feed back for a minute: {holders}")
