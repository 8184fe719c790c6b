"""How the bench times a call, and what its rows share."""

from __future__ import annotations

import statistics
import time

# Sorted after every real SKU, so it never shows on the first page of the balance.
BENCH_PRODUCT = "ZZ-BENCH-RESERVE"


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def timed(call, *, runs: int, warmups: int) -> list[float]:
    return timed_together({"call": (call, runs)}, warmups=warmups)["call"]


def timed_together(calls: dict, *, warmups: int) -> dict[str, list[float]]:
    """{name: (call, runs)} timed in turn, round after round: {name: samples}.

    A figure and its baseline taken in alternation see the same machine (a
    virtual CPU's slow spell slows both), so their ratio holds from run to run.
    """
    for _ in range(warmups):
        for call, _runs in calls.values():
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(max(runs for _call, runs in calls.values())):
        for name, (call, runs) in calls.items():
            if round_ < runs:
                started = time.perf_counter()
                call()
                samples[name].append(time.perf_counter() - started)
    return samples
