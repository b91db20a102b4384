"""Human-readable durations, times and counts for the dashboard."""

from __future__ import annotations

from choreo.core import timefmt


def duration(ms: float | None) -> str:
    """``850ms``, ``4.2s``, ``3m 04s``, ``2h 05m``, ``3d 04h``; ``-`` for unknown."""
    return timefmt.duration(ms, unknown="-", sep=" ")


def timestamp(ms: int | None) -> str:
    """UTC time with milliseconds, e.g. ``2024-05-01 12:03:04.120``."""
    return timefmt.timestamp(ms)


def count(n: int) -> str:
    """Thousands separated: ``1,234,567``."""
    return f"{n:,}"


def rate(per_s: float | None) -> str:
    if per_s is None:
        return "-"
    if per_s >= 10_000:
        return f"{per_s / 1000:.0f}k/s"
    if per_s >= 100:
        return f"{per_s:.0f}/s"
    return f"{per_s:.1f}/s"


def share(x: float) -> str:
    return f"{x * 100:.1f}%"
