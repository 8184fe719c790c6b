"""The one race of the concurrency tests: calls started together, each in its own thread.

Every call runs in a thread of its own with its own database connection (closed
when it ends), all released at once by a barrier, so they meet in PostgreSQL's
locks as two clerks' requests would. The join has a timeout that only a hung
thread reaches (a deadlock or a lost lock): it is a bound, not a speed test.
"""

import threading

from django.db import connections

from warehouse.exceptions import WarehouseError

JOIN_TIMEOUT = 60  # seconds


def race(calls, *, name: str = "clerk") -> list:
    """Each call's result, or the exception it raised, in the order of `calls`."""
    start = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def worker(index, call):
        try:
            start.wait(timeout=JOIN_TIMEOUT)
            outcomes[index] = call()
        except Exception as error:  # noqa: BLE001 - the outcome under test, for the caller
            outcomes[index] = error
        finally:
            connections.close_all()  # this thread's own connection

    threads = [
        threading.Thread(target=worker, args=(i, call), name=f"{name}-{i}", daemon=True)
        for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), f"a {name}'s thread never finished"
    return outcomes


def run_together(calls) -> list[tuple[str, object]]:
    """Race the calls; each outcome is ("ok", result) or ("refused", WarehouseError).

    Any other exception (a deadlock, an IntegrityError, a crash) fails the test.
    """
    outcomes = [
        ("refused", o)
        if isinstance(o, WarehouseError)
        else ("error", o)
        if isinstance(o, Exception)
        else ("ok", o)
        for o in race(calls)
    ]
    errors = [outcome for kind, outcome in outcomes if kind == "error"]
    assert not errors, f"unexpected errors (deadlock? integrity?): {errors!r}"
    return outcomes
