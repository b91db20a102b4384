"""What the Python side of importing still handles itself: the timestamp
types and the error for a Kafka log segment batch that is not records (dump
lines are decoded by the native core, which reports its bad lines)."""

from __future__ import annotations

from choreo.collector.batch import Record

__all__ = ["TS_CREATE", "TS_LOG_APPEND", "TS_UNKNOWN", "BadLine", "Record"]

TS_UNKNOWN = 0
TS_CREATE = 1
TS_LOG_APPEND = 2


class BadLine(ValueError):
    """A segment batch (or record) that cannot be decoded; the message says why, briefly."""
