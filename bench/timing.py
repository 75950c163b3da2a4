"""Figures the benchmarks share about timings."""

from __future__ import annotations

import math


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (``q`` in 0..100): the smallest value that at least q% of them do not exceed.

    Always a time that was measured, and never below the share asked for: a p99 of 50 values is the slowest,
    where the truncating index some benchmarks used gave the second slowest (a latency target could pass on a
    value only 98% of requests met). NaN for no values, so a run where nothing answered prints, not crashes."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = math.ceil(round(q / 100 * len(ordered), 9))  # rounded first: 0.07 * 100 is 7.000000000000001
    return ordered[max(0, rank - 1)]
