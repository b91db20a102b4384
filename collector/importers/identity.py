"""The identity of plain JSON lines, which come without Kafka coordinates.

A record's identity in the store is (topic, partition, offset). For plain
lines the topic is the file's name (or ``--topic``) and the offset the line
number; the partition tells *sources* apart. Two different files with one
name (``a/app.jsonl`` and ``b/app.jsonl``), two days filed under one
``--topic``, or a rotated log imported in a second call would otherwise have
the same coordinates, and the second one's records would be dropped as
"already stored".

A file is the same source as a stored partition when its first lines are
the lines stored at those line numbers: the same file imported again, or a
longer copy of it (a log that grew since), which then adds only its new
lines. Otherwise it gets the topic's first partition that is free. The first
file of a topic keeps partition 0, as before. The store still checks each
record it does not insert against what it holds (``Store.append(verify=True)``),
so a file that matches on its first lines and differs later is reported,
never silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

from choreo.core.store import Store


def _head_payloads(head: Sequence[bytes]) -> dict[int, bytes]:
    """Line number -> the payload a plain line is stored with (as PlainDecoder does)."""
    return {n: line.rstrip(b"\r\n") for n, line in enumerate(head, 1) if line.strip()}


def plain_partition(store: Store, topic: str, head: Sequence[bytes]) -> int:
    """The partition plain lines whose file starts with ``head`` (its first
    lines, as read for format detection) are stored under."""
    mine = _head_payloads(head)
    if not mine:
        return 0  # no lines: nothing will be stored under it
    rows = store.query(
        'SELECT partition, "offset", payload FROM events WHERE topic = ? AND "offset" BETWEEN 1 AND ? '
        "ORDER BY partition",
        [topic, max(mine)],
    )
    stored: dict[int, dict[int, bytes | None]] = {}
    for partition, offset, payload in rows:
        stored.setdefault(int(partition), {})[int(offset)] = payload
    used = {int(p) for (p,) in store.query("SELECT DISTINCT partition FROM events WHERE topic = ?", [topic])}
    for partition in sorted(stored):
        lines = stored[partition]
        common = [n for n in mine if n in lines]
        if common and all(lines[n] == mine[n] for n in common):
            return partition
    return next(p for p in range(len(used) + 1) if p not in used)
