"""Turn Kafka records into event fields and identifiers: the rules live in
the native core (``choreo._native``); this module configures them from
``choreo.toml`` [extract] and gives the result a Python shape.

Works without config on common conventions (correlation headers, W3C
traceparent, CloudEvents binary and structured mode, id-like payload fields);
[extract] adds paths and header names and says where type/service/id/
causation/time come from. Never raises on payload content: anything that is
not a JSON document is classified and stored raw.

The hot paths never extract one record at a time: ``EventBatch`` hands whole
batches of lines, records or consumed messages to the core. ``extract`` here
is for tests and tools that want to see one record's fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from choreo import _native
from choreo.core.config import ExtractConfig
from choreo.core.errors import ConfigError

Header = tuple[str, bytes | None]
# (topic, key, headers, payload): what extraction looks at.
RecordFields = tuple[str, bytes | None, Sequence[Header] | None, bytes | None]


@dataclass(slots=True)
class Extracted:
    event_type: str
    service: str
    event_id: str | None
    causation_id: str | None
    trace_id: str | None
    event_time_ms: int | None
    payload_kind: str
    identifiers: list[tuple[str, str]] = field(default_factory=list)
    time_out_of_range: bool = False  # a stated time past 64-bit milliseconds: stored without it


class Extractor:
    """Extraction rules for one collector or import.

    Raises ConfigError (one line naming the key) for a source in [extract]
    that is not ``header:NAME``, ``payload:PATH``, ``key`` or ``topic``.
    """

    def __init__(self, config: ExtractConfig | None = None) -> None:
        cfg = config or ExtractConfig()
        self.config = cfg
        try:
            self.native = _native.Extractor(
                cfg.identifier_paths,
                cfg.identifier_headers,
                cfg.key_is_identifier,
                cfg.auto_id_fields,
                cfg.max_depth,
                cfg.type_from,
                cfg.service_from,
                cfg.event_id_from,
                cfg.causation_from,
                cfg.time_from,
                cfg.ignore_identifiers,
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    def extract_many(self, records: Sequence[RecordFields]) -> list[Extracted]:
        """Fields of each (topic, key, headers, payload), in one call to the core."""
        return [
            Extracted(etype, service, eid, cause, trace, ms, kind, ids, out_of_range)
            for etype, service, eid, cause, trace, ms, kind, ids, out_of_range in self.native.extract(
                [(t, k, list(h) if h else None, p) for t, k, h, p in records]
            )
        ]

    def extract(
        self,
        topic: str,
        key: bytes | None,
        headers: Sequence[Header] | None,
        payload: bytes | None,
    ) -> Extracted:
        """One record's fields (tests and tools; ingest goes through EventBatch)."""
        return self.extract_many([(topic, key, headers, payload)])[0]

    def __reduce__(self) -> tuple[type[Extractor], tuple[ExtractConfig]]:
        return (Extractor, (self.config,))


def parse_time_ms(value: object) -> int | None:
    """ISO-8601 text with a UTC offset, or epoch seconds/milliseconds/
    microseconds (by magnitude), to ms since the epoch; None when it is not
    a time or does not fit 64-bit milliseconds."""
    return _native.parse_time_ms(value)
