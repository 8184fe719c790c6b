"""Reading the event feed in tests: wait until every committed event is readable.

The feed shows only events of transactions below the snapshot's xmin. Transaction
ids are the cluster's: a test of the other xdist worker, open in its own
database, holds the feed back as any long transaction would, so a test that
reads what it just committed waits for the horizon first.
"""

from django.db import connection
from django.db.models import Max

from warehouse.models import Event


def horizon_passed() -> None:
    """Wait until every committed event is readable (a bounded loop of queries, no sleep)."""
    last = Event.objects.aggregate(last=Max("txid"))["last"]
    if last is None:
        return
    with connection.cursor() as cursor:
        for _ in range(200_000):
            cursor.execute(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint > %s", [last]
            )
            if cursor.fetchone()[0]:
                return
    raise AssertionError("another transaction held the feed back throughout")
