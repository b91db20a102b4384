"""The line decoders by format: one place that says which class reads what."""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from choreo.collector.importers import detect
from choreo.collector.importers.jsonl import ChoreoDecoder
from choreo.collector.importers.kcat import KcatDecoder
from choreo.collector.importers.plain import PlainDecoder
from choreo.collector.importers.record import Record
from choreo.collector.importers.source import default_topic


class Decoder(Protocol):
    name: str
    notes: Counter[str]

    def decode(self, line: bytes, lineno: int) -> Record: ...


def make_decoder(fmt: str, label: str, topic: str | None = None, time_field: str | None = None) -> Decoder:
    """A decoder for a line format; ``topic``/``time_field`` apply to plain lines."""
    if fmt == detect.KCAT:
        return KcatDecoder()
    if fmt == detect.CHOREO:
        return ChoreoDecoder()
    return PlainDecoder(topic or default_topic(label), time_field)
