"""Human-readable durations, times and counts for the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime


def duration(ms: float | None) -> str:
    """``850ms``, ``4.2s``, ``3m 04s``, ``2h 05m``, ``3d 04h``; ``-`` for unknown."""
    if ms is None:
        return "-"
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    if ms < 1000:
        return f"{sign}{ms:.0f}ms"
    s = ms / 1000
    if s < 60:
        return f"{sign}{s:.1f}s"
    m, sec = divmod(int(s), 60)
    if m < 60:
        return f"{sign}{m}m {sec:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{sign}{h}h {m:02d}m"
    d, h = divmod(h, 24)
    return f"{sign}{d}d {h:02d}h"


def timestamp(ms: int | None) -> str:
    """UTC time with milliseconds, e.g. ``2024-05-01 12:03:04.120``."""
    if ms is None:
        return "-"
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


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
