"""Which dump format a file holds, decided from its first lines' content."""

from __future__ import annotations

from collections.abc import Sequence

from choreo.collector.importers.jsonl import looks_like_choreo
from choreo.collector.importers.kcat import looks_like_kcat
from choreo.collector.importers.record import BadLine, parse_json_line

KCAT = "kcat"
CHOREO = "choreo"
PLAIN = "plain"
SEGMENT = "segment"  # Kafka log segment (binary); recognised from its bytes, not lines
FORMATS = (KCAT, CHOREO, PLAIN, SEGMENT)
LINE_FORMATS = (KCAT, CHOREO, PLAIN)
EMPTY = "empty"

HEAD_LINES = 16  # non-empty lines looked at
HEAD_BYTES = 16 * 1024 * 1024  # at most this much read ahead for detection


def classify(obj: object) -> str | None:
    if looks_like_choreo(obj):
        return CHOREO
    if looks_like_kcat(obj):
        return KCAT
    if isinstance(obj, dict):
        return PLAIN
    return None


def detect(head: Sequence[bytes]) -> str | None:
    """The format of the first head line that is a JSON object; EMPTY when
    there are no lines, None when none of them is a JSON object."""
    any_line = False
    for line in head:
        if not line.strip():
            continue
        any_line = True
        try:
            found = classify(parse_json_line(line))
        except BadLine:
            continue
        if found is not None:
            return found
    return None if any_line else EMPTY
