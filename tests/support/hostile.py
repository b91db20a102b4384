"""Hostile record text for the fault and bad-input catalogue: what a producer
could write into event types, services and identifier values to attack the
terminal or the diagram tools, and a check for raw control characters."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

# Clear the screen, set the window title (OSC 0), an OSC 8 link, a NUL, a BEL,
# a single-byte CSI (C1), a right-to-left override and a DEL.
EVIL = "\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://x/\x1b\\\x00\x9b31m\u202e\x7f"

# Characters that may never reach a terminal raw: C0 but tab and newline,
# DEL, C1, bidi controls.
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def raw_controls(text: str) -> list[str]:
    """The unsafe characters in ``text`` (empty when it is safe to show)."""
    return _RAW.findall(text)


def hostile_plain_lines(path: Path, instances: int = 12, unfinished: int = 3) -> Path:
    """Plain JSON lines of a three-step workflow whose types, services and
    ids all carry ``EVIL``; the last ``unfinished`` instances stop after two
    steps (stuck with a short timeout)."""
    t0 = 1_700_000_000_000
    lines = []
    steps = [("OrderPlaced", "shop"), ("Paid", "pay"), ("Shipped", "ship")]
    for i in range(instances):
        oid = f"o-{i}{EVIL}"
        done = steps if i < instances - unfinished else steps[:2]
        for n, (etype, service) in enumerate(done):
            at = t0 + i * 1000 + n * 100
            lines.append({"type": etype + EVIL, "orderId": oid, "service": service + EVIL, "time": at})
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    return path


STUCK_CONFIG = "[reconstruct]\ndefault_timeout = 1\n"
