"""The benchmarks' one percentile: nearest rank, always a measured value, never below the share asked for."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from timing import percentile  # noqa: E402


@pytest.mark.parametrize(("values", "q", "expected"), [
    (list(range(1, 101)), 99, 99), (list(range(1, 101)), 50, 50), (list(range(1, 51)), 99, 50),
    ([7, 1, 4, 3, 6, 2, 5], 50, 4), (list(range(1, 101)), 7, 7), ([3.0], 95, 3.0), ([2, 1], 0, 1), ([2, 1], 100, 2),
])
def test_percentile_is_the_nearest_rank(values, q, expected):
    assert percentile(values, q) == expected
    assert 100 * sum(v <= expected for v in values) >= q * len(values)  # at least q% do not exceed it


def test_percentile_of_nothing_is_nan():
    assert math.isnan(percentile([], 99))
