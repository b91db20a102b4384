"""Durations and times as people read them: one style for the CLI, the
exports and the dashboard, so a latency reads the same everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from choreo.core.errors import InputError


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


# The times a calendar can show (and a --now can name): years 1 to 9999.
_MIN_MS = int(datetime(1, 1, 1, tzinfo=UTC).timestamp() * 1000)
_MAX_MS = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)


def _utc(ms: int) -> datetime | None:
    """None for a time no calendar date shows: producers stamp what they like."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if _MIN_MS <= ms <= _MAX_MS else None


def _raw(ms: int) -> str:
    return f"epoch{ms:+d}ms"


def iso_ms(ms: int) -> str:
    """ISO-8601 UTC with milliseconds: 2024-05-01T12:00:00.123Z."""
    dt = _utc(ms)
    return _raw(ms) if dt is None else dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def iso_seconds(ms: int) -> str:
    """ISO-8601 UTC to the second: 2024-05-01T12:00:00+00:00."""
    dt = _utc(ms)
    return _raw(ms) if dt is None else dt.isoformat(timespec="seconds")


def clock_ms(ms: int) -> str:
    """Time of day, UTC, with milliseconds: 12:00:00.123."""
    dt = _utc(ms)
    return _raw(ms) if dt is None else dt.strftime("%H:%M:%S.") + f"{ms % 1000:03d}"


def timestamp(ms: int | None, unknown: str = "-") -> str:
    """UTC date and time with milliseconds: 2024-05-01 12:03:04.120."""
    if ms is None:
        return unknown
    dt = _utc(ms)
    return _raw(ms) if dt is None else dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def sql_time(column: str, fmt: str) -> str:
    """SQL formatting the ms since epoch in ``column`` with strftime ``fmt``.

    A producer's clock can say anything; a time no calendar shows (before
    year 1, after 9999: DuckDB overflows or refuses them) is written as the
    nearest one it shows, so that a file whose format needs a date (XES,
    OCEL) stays valid.
    """
    return f"strftime(make_timestamp(least(greatest({column}, {_MIN_MS}), {_MAX_MS}) * 1000), '{fmt}')"


@overload
def parse_now(text: str) -> int: ...
@overload
def parse_now(text: None) -> None: ...
@overload
def parse_now(text: str | None) -> int | None: ...
def parse_now(text: str | None) -> int | None:
    """``--now`` (every command): ms since epoch, or ISO-8601 (UTC when no zone
    is given), between years 1 and 9999; None when not given. InputError (one
    line) otherwise."""
    if text is None:
        return None
    t = text.strip()
    try:
        if t.isdigit():
            ms = int(t)
        else:
            dt = datetime.fromisoformat(t.replace("Z", "+00:00").replace("z", "+00:00"))
            ms = int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp() * 1000)
    except (ValueError, OverflowError):
        raise InputError(
            f"--now {text!r} is not a time: want ISO-8601 (2024-05-01T12:00:00Z) or ms since epoch"
        ) from None
    if not _MIN_MS <= ms <= _MAX_MS:
        raise InputError(f"--now {text!r} is out of range (years 1 to 9999)")
    return ms
