"""Timing helpers that tame a shared, noisy machine."""

import math
import time
from collections.abc import Callable

Clock = Callable[[], float]


def timed(action: Callable[[], object], clock: Clock = time.perf_counter) -> float:
    started = clock()
    action()
    return clock() - started


def alternate(
    ours: Callable[[], object],
    baseline: Callable[[], object],
    repeat: int,
    clock: Clock = time.perf_counter,
) -> tuple[list[float], list[float]]:
    """Time both `repeat` times, interleaved, swapping which goes first each round.

    Interleaving spreads a noisy neighbour's bursts over both sides.
    """
    mine: list[float] = []
    theirs: list[float] = []
    for round_ in range(repeat):
        if round_ % 2:
            theirs.append(timed(baseline, clock))
            mine.append(timed(ours, clock))
        else:
            mine.append(timed(ours, clock))
            theirs.append(timed(baseline, clock))
    return mine, theirs


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value at or above `share`."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share / 100 * len(ordered)))
    return ordered[rank - 1]
