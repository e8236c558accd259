"""The one percentile definition shared by /stats, evaluations and benchmarks (imports nothing from `bot`)."""

from __future__ import annotations

from collections.abc import Iterable


def percentile(values: Iterable[float], pct: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), None when there are no values.

    One definition everywhere, so the p95 in `/stats` and the p95 an evaluation prints mean the same.
    """
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * pct / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
