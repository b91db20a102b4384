"""Small text helpers shared by the exports: durations, timestamps, DOT labels."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import graphviz


def duration(ms: float | int | None) -> str:
    """A short human duration: 850ms, 1.2s, 3m05s, 2h10m, 3d4h."""
    if ms is None:
        return "?"
    v = float(ms)
    sign = "-" if v < 0 else ""
    v = abs(v)
    if v < 1000:
        return f"{sign}{v:.0f}ms"
    s = v / 1000
    if s < 60:
        return f"{sign}{s:.1f}s"
    m, sec = divmod(round(s), 60)
    if m < 60:
        return f"{sign}{m}m{sec:02d}s"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{sign}{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{sign}{d}d{h}h"


def iso_ms(ms: int) -> str:
    """ISO-8601 UTC with milliseconds: 2024-05-01T12:00:00.123Z."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def clock_ms(ms: int) -> str:
    """Time of day, UTC, with milliseconds: 12:00:00.123."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%H:%M:%S.") + f"{ms % 1000:03d}"


def label(*lines: str) -> str:
    """A DOT label from lines of user text: backslashes and <...> lose their
    special meaning (an event type must never become an HTML label)."""
    return cast(str, graphviz.nohtml("\\n".join(graphviz.escape(line) for line in lines)))
