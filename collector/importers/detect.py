"""Which dump format a file holds, decided from its first lines' content."""

from __future__ import annotations

from collections.abc import Sequence

from choreo import _native

KCAT = "kcat"
CHOREO = "choreo"
PLAIN = "plain"
SEGMENT = "segment"  # Kafka log segment (binary); recognised from its bytes, not lines
FORMATS = (KCAT, CHOREO, PLAIN, SEGMENT)
LINE_FORMATS = (KCAT, CHOREO, PLAIN)
EMPTY = "empty"

HEAD_LINES = 16  # non-empty lines looked at
HEAD_BYTES = 16 * 1024 * 1024  # at most this much read ahead for detection


def detect(head: Sequence[bytes]) -> str | None:
    """The format of the first head line that is a JSON object (a line with a
    "choreo" key is choreo's JSONL; one with kcat's topic, partition, offset
    and key or payload is kcat's; any other object is a plain line); EMPTY
    when there are no lines, None when none of them is a JSON object."""
    any_line = False
    for line in head:
        if not line.strip():
            continue
        any_line = True
        found = _native.line_format(line)
        if found is not None:
            return found
    return None if any_line else EMPTY
