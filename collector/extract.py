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

from choreo.core.config import ExtractConfig
from choreo.core.errors import ConfigError
from choreo.core.schema import (
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
            dt = datetime.fromisoformat(value)  # Python >= 3.11 reads a trailing "Z"
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


_ROLES = 5  # type, service, event id, causation, time
_R_TYPE, _R_SERVICE, _R_ID, _R_CAUSATION, _R_TIME = range(_ROLES)
_ROLE_HEADERS = (_TYPE_HEADERS, _SERVICE_HEADERS, _ID_HEADERS, _CAUSATION_HEADERS, _TIME_HEADERS)
_ROLE_FIELDS = (_TYPE_FIELDS, _SERVICE_FIELDS, _ID_FIELDS, _CAUSATION_FIELDS, _TIME_FIELDS)
_TRACE_HEADERS = ("traceparent", "ce_traceparent")
_PLAN_CACHE_MAX = 4096  # distinct header sets / JSON shapes remembered


@dataclass(frozen=True, slots=True)
class _HeaderPlan:
    """For one set of header names: which of the known names are present."""

    roles: tuple[tuple[str, ...], ...]  # per role, present names in priority order
    ids: tuple[str, ...]  # correlation / configured identifier headers present
    subject: bool
    trace: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _FieldPlan:
    """For one JSON object shape (its keys): which known fields are present."""

    roles: tuple[tuple[str, ...], ...]
    correlation: tuple[str, ...]


# One step of the id walk over an object of a known shape:
# (key, identifier name if the key looks like an id else None, prefix for children or None).
_WalkStep = tuple[str, str | None, str | None]


class Extractor:
    """Extracts fields from records; one instance per collector or import.

    This runs once per record on the ingest hot path, so the work that
    depends only on the *names* present (which header or field plays which
    role, which keys look like ids) is planned once per distinct set of
    names and cached; per record only the values are looked at.
    """

    def __init__(self, config: ExtractConfig | None = None) -> None:
        cfg = config or ExtractConfig()
        self._cfg = cfg
        self._user_sources = (
            _parse_sources("type_from", cfg.type_from),
            _parse_sources("service_from", cfg.service_from),
            _parse_sources("event_id_from", cfg.event_id_from),
            _parse_sources("causation_from", cfg.causation_from),
            _parse_sources("time_from", cfg.time_from),
        )
        self._id_paths = [(p, tuple(p.split("."))) for p in cfg.identifier_paths]
        self._id_headers = tuple(h.lower() for h in cfg.identifier_headers)
        self._ignore = frozenset(cfg.ignore_identifiers)
        # Fields consumed as event id / causation are not identifiers: they
        # link events through the causation columns instead.
        links = self._user_sources[_R_ID] + self._user_sources[_R_CAUSATION]
        self._not_ids = frozenset(_ID_FIELDS + _CAUSATION_FIELDS) | {
            s.name for s in links if s.kind == "payload"
        }
        self._key_ids = cfg.key_is_identifier
        self._auto_ids = cfg.auto_id_fields
        self._max_depth = cfg.max_depth
        self._header_plans: dict[tuple[str, ...], _HeaderPlan] = {}
        self._field_plans: dict[tuple[str, ...], _FieldPlan] = {}
        self._walk_plans: dict[tuple[str, tuple[str, ...]], tuple[_WalkStep, ...]] = {}

    # -- plans --------------------------------------------------------------
    def _header_plan(self, names: tuple[str, ...]) -> _HeaderPlan:
        plan = self._header_plans.get(names)
        if plan is None:
            present = set(names)
            plan = _HeaderPlan(
                roles=tuple(tuple(n for n in role if n in present) for role in _ROLE_HEADERS),
                ids=tuple(n for n in _CORRELATION_HEADERS + self._id_headers if n in present),
                subject="ce_subject" in present,
                trace=tuple(n for n in _TRACE_HEADERS if n in present),
            )
            if len(self._header_plans) >= _PLAN_CACHE_MAX:
                self._header_plans.clear()
            self._header_plans[names] = plan
        return plan

    def _field_plan(self, names: tuple[str, ...]) -> _FieldPlan:
        plan = self._field_plans.get(names)
        if plan is None:
            present = set(names)
            plan = _FieldPlan(
                roles=tuple(tuple(n for n in role if n in present) for role in _ROLE_FIELDS),
                correlation=tuple(n for n in _CORRELATION_FIELDS if n in present),
            )
            if len(self._field_plans) >= _PLAN_CACHE_MAX:
                self._field_plans.clear()
            self._field_plans[names] = plan
        return plan

    def _walk_plan(self, prefix: str, names: tuple[str, ...], depth: int) -> tuple[_WalkStep, ...]:
        key = (prefix, names)
        plan = self._walk_plans.get(key)
        if plan is None:
            steps: list[_WalkStep] = []
            for k in names:
                full = f"{prefix}{k}"
                is_id = (
                    _looks_like_id(k)
                    and k not in self._not_ids
                    and full not in self._not_ids
                    # A bare top-level "id" is usually the event's own id.
                    and not (k == "id" and not prefix)
                )
                child = f"{full}." if depth < self._max_depth else None
                steps.append((k, full if is_id else None, child))
            plan = tuple(steps)
            if len(self._walk_plans) >= _PLAN_CACHE_MAX:
                self._walk_plans.clear()
            self._walk_plans[key] = plan
        return plan

    # -- extraction ---------------------------------------------------------
    def extract(
        self,
        topic: str,
        key: bytes | None,
        headers: Sequence[Header] | None,
        payload: bytes | None,
    ) -> Extracted:
        hdr: dict[str, str] = {}
        if headers:
            for name, raw in headers:
                if raw is not None:
                    lname = name.lower()
                    if lname not in hdr:
                        hdr[lname] = raw.decode("utf-8", "replace")

        if payload and payload[:1] in (b"{", b"["):
            try:
                kind, doc = PAYLOAD_JSON, orjson.loads(payload)
            except orjson.JSONDecodeError:
                kind, doc = classify_payload(payload)
        else:
            kind, doc = classify_payload(payload)
        body: dict[str, Any] | None = doc if type(doc) is dict else None
        data: Any = body
        meta: dict[str, Any] | None = None
        structured_ce = False
        if body is not None:
            structured_ce = "specversion" in body and "type" in body
            if structured_ce:
                data = body.get("data")
            for mk in _META_KEYS:
                m = body.get(mk)
                if type(m) is dict:
                    meta = m
                    break

        key_text: str | None = None
        if key:
            try:
                key_text = key.decode("utf-8")
            except UnicodeDecodeError:
                key_text = None
            if key_text is not None and (len(key_text) > _MAX_ID_LEN or not key_text.isprintable()):
                key_text = None

        hplan = self._header_plan(tuple(hdr)) if hdr else None
        bplan = self._field_plan(tuple(body)) if body else None
        mplan = self._field_plan(tuple(meta)) if meta else None

        values: list[object] = [None] * _ROLES
        for r in range(_ROLES):
            v: object = None
            sources = self._user_sources[r]
            if sources:
                v = self._from_sources(sources, hdr, body, key_text, topic)
            if v is None and hplan is not None:
                for n in hplan.roles[r]:
                    hv = hdr[n]
                    if hv:
                        v = hv
                        break
            if v is None and bplan is not None and body is not None:
                for n in bplan.roles[r]:
                    fv = body[n]
                    if fv is not None and fv != "":
                        v = fv
                        break
            if v is None and mplan is not None and meta is not None:
                for n in mplan.roles[r]:
                    fv = meta[n]
                    if fv is not None and fv != "":
                        v = fv
                        break
            values[r] = v

        event_type = _scalar_text(values[_R_TYPE]) or topic
        service = _scalar_text(values[_R_SERVICE]) or topic
        event_id = _scalar_text(values[_R_ID])
        if structured_ce and body is not None:
            if not self._user_sources[_R_SERVICE]:
                service = _scalar_text(body.get("source")) or service
            if event_id is None:
                event_id = _scalar_text(body.get("id"))
        causation_id = _scalar_text(values[_R_CAUSATION])
        tv = values[_R_TIME]
        event_time_ms = parse_time_ms(tv) if tv is not None else None

        ids: list[tuple[str, str]] = []
        trace_id = None
        tp: str | None = None
        if hplan is not None and hplan.trace:
            tp = hdr[hplan.trace[0]]
        elif body is not None:
            t = body.get("traceparent")
            tp = t if isinstance(t, str) else None
        if tp:
            trace_id = _trace_id_from_traceparent(tp)
            if trace_id:
                ids.append(("trace_id", trace_id))

        # Identifiers: headers, then the key.
        if hplan is not None:
            for h in hplan.ids:
                hv = hdr[h]
                if hv and len(hv) <= _MAX_ID_LEN:
                    ids.append((h, hv))
            if hplan.subject:
                subject = hdr["ce_subject"]
                if subject:
                    ids.append(("ce_subject", subject))
        if key_text and self._key_ids:
            ids.append(("key", key_text))

        # Identifiers: payload.
        if body is not None:
            if bplan is not None and mplan is not None and meta is not None:
                for name in _CORRELATION_FIELDS:
                    if name in bplan.correlation:
                        sv = _scalar_text(body[name])
                        if sv is not None:
                            ids.append((name, sv))
                    if name in mplan.correlation:
                        sv = _scalar_text(meta[name])
                        if sv is not None:
                            ids.append((name, sv))
            elif bplan is not None:
                for name in bplan.correlation:
                    sv = _scalar_text(body[name])
                    if sv is not None:
                        ids.append((name, sv))
            elif mplan is not None and meta is not None:
                for name in mplan.correlation:
                    sv = _scalar_text(meta[name])
                    if sv is not None:
                        ids.append((name, sv))
            for pname, path in self._id_paths:
                sv = _scalar_text(_get_path(body, path))
                if sv is not None:
                    ids.append((pname, sv))
            if self._auto_ids:
                if type(data) is dict:
                    self._walk_ids(data, "data." if data is not body else "", 1, ids)
                else:
                    self._walk_ids(body, "", 1, ids)

        if len(ids) > 1 and len(set(ids)) != len(ids):
            ids = list(dict.fromkeys(ids))
        if self._ignore:
            ids = [item for item in ids if item[0] not in self._ignore]
        return Extracted(event_type, service, event_id, causation_id, trace_id, event_time_ms, kind, ids)

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

    def _walk_ids(self, obj: dict[str, Any], prefix: str, depth: int, out: list[tuple[str, str]]) -> None:
        if not obj:
            return
        for k, full, child in self._walk_plan(prefix, tuple(obj), depth):
            v = obj[k]
            tv = type(v)
            if tv is dict:
                if child is not None:
                    self._walk_ids(v, child, depth + 1, out)
            elif full is not None:
                if tv is str:
                    if 0 < len(v) <= _MAX_ID_LEN:
                        out.append((full, v))
                elif tv is int:
                    out.append((full, str(v)))
