"""Opening and recognising every input before anything is imported, so that
a typo, an unreadable file or one of no known format stores nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from choreo.collector.importers import detect
from choreo.collector.importers.segment import coordinates_from_path, looks_like_segment
from choreo.collector.importers.source import Input, expand, open_input
from choreo.core.errors import InputError


@dataclass
class Prepared:
    input: Input
    format: str
    segment: tuple[str, int] | None = None  # a segment file's (topic, partition)


def prepare(
    args: Sequence[str], forced_format: str | None = None, topic: str | None = None
) -> list[Prepared]:
    """Open every input and recognise its format; raise InputError (one line)
    before anything is stored if one is missing, unreadable or unknown.
    ``topic`` (NAME or NAME:PARTITION) names segment files outside a
    ``<topic>-<partition>`` directory."""
    names = expand(args)
    if not names:
        raise InputError("no input files given")
    opened: list[Prepared] = []
    try:
        for name in names:
            inp = open_input(name)
            opened.append(Prepared(inp, ""))  # closed below if recognising it fails
            opened[-1].format = _format_of(inp, forced_format)
            if opened[-1].format == detect.SEGMENT:
                opened[-1].segment = _segment_coordinates(inp, topic)
    except BaseException:
        for p in opened:
            p.input.close()
        raise
    return opened


def _segment_coordinates(inp: Input, topic: str | None) -> tuple[str, int]:
    if topic:
        name, _, part = topic.partition(":")
        if part and not part.isdigit():
            raise InputError(f"--topic {topic!r}: want NAME or NAME:PARTITION")
        return name, int(part or 0)
    found = coordinates_from_path(inp.label) if inp.label != "stdin" else None
    if found is None:
        raise InputError(
            f"{inp.label}: a Kafka log segment outside a <topic>-<partition> directory; "
            "give --topic NAME:PARTITION"
        )
    return found


def _format_of(inp: Input, forced: str | None) -> str:
    if forced is not None:
        return forced
    if inp.looks_binary():
        if looks_like_segment(inp.peek(17)):
            return detect.SEGMENT
        raise InputError(f"{inp.label}: binary data, not a known dump format ({_KNOWN})")
    try:
        head = inp.read_head(detect.HEAD_LINES, detect.HEAD_BYTES)
    except OSError as exc:
        raise InputError(f"{inp.label}: cannot read ({exc.strerror or exc})") from None
    found = detect.detect(head)
    if found is None:
        raise InputError(f"{inp.label}: not a known dump format (its first lines are not {_KNOWN})")
    return found


_KNOWN = "kcat -J, choreo JSONL, JSON lines or a Kafka log segment"
