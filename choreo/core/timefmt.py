"""Durations and times as people read them: one style for the CLI, the
exports and the dashboard, so a latency reads the same everywhere."""

from __future__ import annotations

from datetime import UTC, datetime


def duration(ms: float | None, *, unknown: str = "?", sep: str = "") -> str:
    """850ms, 4.2s, 42s, 3m05s, 2h05m, 3d04h (``sep`` goes between units: 3m 05s)."""
    if ms is None:
        return unknown
    v = float(ms)
    sign = "-" if v < 0 else ""
    v = abs(v)
    if v < 1000:
        return f"{sign}{v:.0f}ms"
    s = v / 1000
    if s < 60:
        # Tenths only where they matter.
        return f"{sign}{s:.1f}s" if s < 10 else f"{sign}{int(s)}s"
    m, sec = divmod(int(s), 60)
    if m < 60:
        return f"{sign}{m}m{sep}{sec:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{sign}{h}h{sep}{m:02d}m"
    d, h = divmod(h, 24)
    return f"{sign}{d}d{sep}{h:02d}h"


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso_ms(ms: int) -> str:
    """ISO-8601 UTC with milliseconds: 2024-05-01T12:00:00.123Z."""
    return _utc(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def clock_ms(ms: int) -> str:
    """Time of day, UTC, with milliseconds: 12:00:00.123."""
    return _utc(ms).strftime("%H:%M:%S.") + f"{ms % 1000:03d}"


def timestamp(ms: int | None, unknown: str = "-") -> str:
    """UTC date and time with milliseconds: 2024-05-01 12:03:04.120."""
    if ms is None:
        return unknown
    return _utc(ms).strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"
