"""Turn one Kafka record into event fields and identifiers.

Works without config on common conventions (correlation headers, W3C
traceparent, CloudEvents binary and structured mode, id-like payload fields);
``choreo.toml`` [extract] adds paths and header names and says where
type/service/id/causation/time come from. Never raises on payload content:
anything that is not a JSON document is classified and stored raw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from choreo.config import ExtractConfig
from choreo.errors import ConfigError
from choreo.schema import (
    PAYLOAD_BINARY,
    PAYLOAD_EMPTY,
    PAYLOAD_INVALID_UTF8,
    PAYLOAD_JSON,
    PAYLOAD_NULL,
    PAYLOAD_TEXT,
)

Header = tuple[str, bytes | None]

# Built-in conventions, tried after the user's own sources.
_CORRELATION_HEADERS = ("correlation-id", "x-correlation-id", "correlationid", "correlation_id")
_TYPE_HEADERS = ("ce_type", "event-type", "x-event-type", "eventtype", "type")
_SERVICE_HEADERS = ("ce_source", "service", "x-service", "source-service", "producer")
_ID_HEADERS = ("ce_id", "event-id", "x-event-id", "message-id", "messageid", "eventid")
_CAUSATION_HEADERS = ("causation-id", "x-causation-id", "causationid", "ce_causationid")
_TIME_HEADERS = ("ce_time", "event-time")
_TYPE_FIELDS = ("type", "eventType", "event_type", "@type", "name")
_SERVICE_FIELDS = ("source", "service", "producer", "emitter")
_ID_FIELDS = ("eventId", "event_id", "messageId", "message_id")
_CAUSATION_FIELDS = ("causationId", "causation_id", "causedBy", "caused_by")
_CORRELATION_FIELDS = ("correlationId", "correlation_id", "sagaId", "saga_id")
_TIME_FIELDS = ("time", "timestamp", "occurredAt", "occurred_at", "eventTime", "event_time")
_META_KEYS = ("metadata", "meta", "_meta")
_MAX_ID_LEN = 256


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


@dataclass(frozen=True, slots=True)
class _Source:
    kind: str  # header | payload | key | topic
    name: str
    path: tuple[str, ...] = ()


def _parse_sources(key: str, specs: Sequence[str]) -> tuple[_Source, ...]:
    out = []
    for spec in specs:
        kind, sep, name = spec.partition(":")
        if kind in ("key", "topic") and not sep:
            out.append(_Source(kind, kind))
        elif kind == "header" and name:
            out.append(_Source("header", name.lower()))
        elif kind == "payload" and name:
            out.append(_Source("payload", name, tuple(name.split("."))))
        else:
            raise ConfigError(
                f"extract.{key}: {spec!r} is not a source (use header:NAME, payload:PATH, key or topic)"
            )
    return tuple(out)


def classify_payload(payload: bytes | None) -> tuple[str, Any]:
    """Return (payload_kind, parsed JSON or None)."""
    if payload is None:
        return PAYLOAD_NULL, None
    if not payload:
        return PAYLOAD_EMPTY, None
    first = payload.lstrip()[:1]
    if first in (b"{", b"["):
        try:
            return PAYLOAD_JSON, orjson.loads(payload)
        except orjson.JSONDecodeError:
            pass
    # Control bytes other than whitespace mean a binary encoding (Avro, protobuf...).
    if any(b < 9 or 13 < b < 32 for b in payload[:256]):
        return PAYLOAD_BINARY, None
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return PAYLOAD_INVALID_UTF8, None
    return PAYLOAD_TEXT, None


def parse_time_ms(value: object) -> int | None:
    """ISO-8601 text or epoch seconds/milliseconds to ms since epoch."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        v = float(value)
        # Heuristic on magnitude: seconds, milliseconds or microseconds since epoch.
        if v > 1e14:
            return int(v / 1000)
        if v > 1e11:
            return int(v)
        return int(v * 1000)
    if isinstance(value, str) and value:
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            return None
        return int(dt.timestamp() * 1000)
    return None


def _scalar_text(value: object) -> str | None:
    if isinstance(value, str):
        return value if 0 < len(value) <= _MAX_ID_LEN else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _looks_like_id(name: str) -> bool:
    return (
        name.endswith(("Id", "_id", "ID", "Uuid", "_uuid")) or name in ("id", "uuid") or name.endswith("-id")
    )


def _get_path(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
        if obj is None:
            return None
    return obj


def _trace_id_from_traceparent(value: str) -> str | None:
    parts = value.strip().split("-")
    if len(parts) >= 4 and len(parts[1]) == 32 and parts[1] != "0" * 32:
        return parts[1].lower()
    return None


class Extractor:
    """Extracts fields from records; one instance per collector or import."""

    def __init__(self, config: ExtractConfig | None = None) -> None:
        cfg = config or ExtractConfig()
        self._cfg = cfg
        self._type_src = _parse_sources("type_from", cfg.type_from)
        self._service_src = _parse_sources("service_from", cfg.service_from)
        self._id_src = _parse_sources("event_id_from", cfg.event_id_from)
        self._causation_src = _parse_sources("causation_from", cfg.causation_from)
        self._time_src = _parse_sources("time_from", cfg.time_from)
        self._id_paths = [(p, tuple(p.split("."))) for p in cfg.identifier_paths]
        self._id_headers = tuple(h.lower() for h in cfg.identifier_headers)
        self._ignore = frozenset(cfg.ignore_identifiers)
        # Fields consumed as event id / causation are not identifiers: they
        # link events through the causation columns instead.
        self._not_ids = frozenset(_ID_FIELDS + _CAUSATION_FIELDS) | {
            s.name for s in self._id_src + self._causation_src if s.kind == "payload"
        }

    def _from_sources(
        self,
        sources: tuple[_Source, ...],
        hdr: dict[str, str],
        doc: Any,
        key: str | None,
        topic: str,
    ) -> object:
        for s in sources:
            if s.kind == "header":
                v: object = hdr.get(s.name)
            elif s.kind == "payload":
                v = _get_path(doc, s.path)
            elif s.kind == "key":
                v = key
            else:
                v = topic
            if v is not None and v != "":
                return v
        return None

    def extract(
        self,
        topic: str,
        key: bytes | None,
        headers: Sequence[Header] | None,
        payload: bytes | None,
    ) -> Extracted:
        ids: list[tuple[str, str]] = []
        hdr: dict[str, str] = {}
        if headers:
            for name, raw in headers:
                if raw is None:
                    continue
                lname = name.lower()
                if lname not in hdr:
                    hdr[lname] = raw.decode("utf-8", "replace")

        kind, doc = classify_payload(payload)
        body: Any = doc if isinstance(doc, dict) else None
        data: Any = body
        structured_ce = body is not None and "specversion" in body and "type" in body
        if structured_ce and body is not None:
            data = body.get("data")
        meta: dict[str, Any] | None = None
        if body is not None:
            for mk in _META_KEYS:
                m = body.get(mk)
                if isinstance(m, dict):
                    meta = m
                    break

        def field_of(names: tuple[str, ...]) -> object:
            for scope in (body, meta):
                if scope is None:
                    continue
                for n in names:
                    v = scope.get(n)
                    if v is not None and v != "":
                        return v
            return None

        def header_of(names: tuple[str, ...]) -> str | None:
            for n in names:
                v = hdr.get(n)
                if v:
                    return v
            return None

        key_text: str | None = None
        if key:
            try:
                key_text = key.decode("utf-8")
            except UnicodeDecodeError:
                key_text = None
            if key_text is not None and (len(key_text) > _MAX_ID_LEN or not key_text.isprintable()):
                key_text = None

        def pick(sources: tuple[_Source, ...], hnames: tuple[str, ...], fnames: tuple[str, ...]) -> object:
            v = self._from_sources(sources, hdr, body, key_text, topic) if sources else None
            if v is None:
                v = header_of(hnames)
            if v is None:
                v = field_of(fnames)
            return v

        event_type = _scalar_text(pick(self._type_src, _TYPE_HEADERS, _TYPE_FIELDS)) or topic
        service = _scalar_text(pick(self._service_src, _SERVICE_HEADERS, _SERVICE_FIELDS)) or topic
        if structured_ce and body is not None and not self._service_src:
            service = _scalar_text(body.get("source")) or service
        event_id = _scalar_text(pick(self._id_src, _ID_HEADERS, _ID_FIELDS))
        if event_id is None and structured_ce and body is not None:
            event_id = _scalar_text(body.get("id"))
        causation_id = _scalar_text(pick(self._causation_src, _CAUSATION_HEADERS, _CAUSATION_FIELDS))
        event_time_ms = parse_time_ms(pick(self._time_src, _TIME_HEADERS, _TIME_FIELDS))

        trace_id = None
        tp = hdr.get("traceparent") or hdr.get("ce_traceparent")
        if tp is None and body is not None:
            t = body.get("traceparent")
            tp = t if isinstance(t, str) else None
        if tp:
            trace_id = _trace_id_from_traceparent(tp)
        if trace_id:
            ids.append(("trace_id", trace_id))

        # Identifiers: headers.
        for h in _CORRELATION_HEADERS + self._id_headers:
            v = hdr.get(h)
            if v and len(v) <= _MAX_ID_LEN:
                ids.append((h, v))
        ce_subject = hdr.get("ce_subject")
        if ce_subject:
            ids.append(("ce_subject", ce_subject))
        if key_text and self._cfg.key_is_identifier:
            ids.append(("key", key_text))

        # Identifiers: payload.
        if body is not None:
            for name in _CORRELATION_FIELDS:
                for scope in (body, meta):
                    if scope is not None:
                        sv = _scalar_text(scope.get(name))
                        if sv is not None:
                            ids.append((name, sv))
            for pname, path in self._id_paths:
                sv = _scalar_text(_get_path(body, path))
                if sv is not None:
                    ids.append((pname, sv))
            if self._cfg.auto_id_fields:
                root = data if isinstance(data, dict) else body
                prefix = "data." if root is not body else ""
                self._walk_ids(root, prefix, 1, ids)

        seen: set[tuple[str, str]] = set()
        unique: list[tuple[str, str]] = []
        for item in ids:
            if item not in seen and item[0] not in self._ignore:
                seen.add(item)
                unique.append(item)
        return Extracted(event_type, service, event_id, causation_id, trace_id, event_time_ms, kind, unique)

    def _walk_ids(self, obj: dict[str, Any], prefix: str, depth: int, out: list[tuple[str, str]]) -> None:
        for k, v in obj.items():
            if isinstance(v, dict):
                if depth < self._cfg.max_depth:
                    self._walk_ids(v, f"{prefix}{k}.", depth + 1, out)
            elif _looks_like_id(k) and (prefix or k not in self._not_ids):
                if k == "id" and not prefix:
                    continue  # a bare top-level "id" is usually the event's own id
                sv = _scalar_text(v)
                if sv is not None:
                    out.append((f"{prefix}{k}", sv))
