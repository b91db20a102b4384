"""An event as the Kafka record its service produces: key, headers and
payload in that service's envelope (plain JSON, a metadata envelope, the
type in a header, CloudEvents binary or structured mode), with its
identifiers where that service puts them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from choreo.trafficgen.names import hex_id
from choreo.trafficgen.spec import IdAt, ServiceSpec

Header = tuple[str, bytes | None]
_CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK")
_STATUS = ("ok", "pending", "manual", "auto", "partial")
_CHOICES = {
    "priority": ("low", "normal", "high", "urgent"),
    "channel": ("web", "app", "pos", "api", "partner"),
    "region": ("eu-west", "us-east", "ap-south", "sa-east"),
}
_NOTES = ("leave at door", "gift wrap", "call first", "fragile", "n/a", "résumé attached", "ok 👍")


@dataclass
class InstanceIds:
    """The identifier values of one instance."""

    entity: str
    primary: str
    customer: str
    tenant: str
    secondary_entity: str | None = None
    secondary: str | None = None
    local: dict[str, str] = field(default_factory=dict)  # service -> its own id for this instance


@dataclass(frozen=True)
class EventFacts:
    """What the producing service knows when it emits one event."""

    type: str
    carries: str  # primary | both | secondary
    phase: str | None
    attempt: int  # loop round (0: not in a loop)
    bare: bool
    event_id: str | None
    nonce: str  # keys records by event when the service stamps no event id
    cause_event_id: str | None
    trace: tuple[str, str] | None  # (trace id, span id)
    clock_ms: int  # the producer's clock when it emitted
    data: dict[str, Any]


def data_value(rng: random.Random, kind: str) -> Any:
    if kind == "amount":
        return round(rng.uniform(5, 900), 2)
    if kind == "currency":
        return rng.choice(_CURRENCIES)
    if kind == "count":
        return rng.randint(1, 9)
    if kind == "status":
        return rng.choice(_STATUS)
    if kind == "score":
        return round(rng.random(), 3)
    if kind == "note":
        return rng.choice(_NOTES)
    if kind == "flag":
        return rng.random() < 0.5
    if kind == "items":
        return [{"sku": f"SKU-{hex_id(rng, 4)}", "qty": rng.randint(1, 4)} for _ in range(rng.randint(1, 3))]
    if kind == "sku":
        return f"SKU-{hex_id(rng, 6)}"
    return rng.choice(_CHOICES.get(kind, ("x",)))


def format_time(ms: int, fmt: str) -> Any:
    if fmt == "epoch-ms":
        return ms
    if fmt == "epoch-s":
        return round(ms / 1000, 3)
    text = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if fmt == "iso-z" else text


def _put(doc: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        nxt = doc.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            doc[part] = nxt
        doc = nxt
    doc[path[-1]] = value


class Encoder:
    def __init__(self, svc: ServiceSpec) -> None:
        self.svc = svc
        self.ce = svc.envelope.startswith("ce-")

    def key(self, ids: InstanceIds, facts: EventFacts) -> bytes | None:
        k = self.svc.key
        if k == "none":
            return None
        if k == "customer":
            return ids.customer.encode()
        if k == "event":
            return (facts.event_id or facts.nonce).encode()
        if facts.carries == "secondary" or (k == "secondary" and ids.secondary is not None):
            return (ids.secondary or ids.primary).encode()
        return ids.primary.encode()

    def encode(self, ids: InstanceIds, facts: EventFacts) -> tuple[bytes | None, list[Header], bytes]:
        svc = self.svc
        headers: list[Header] = []
        body: dict[str, Any] = {}
        meta: dict[str, Any] = {}
        data: dict[str, Any] = {}
        bare = facts.bare and not self.ce
        if self.ce:
            time_text = format_time(facts.clock_ms, "iso-z")
            attrs = {
                "specversion": "1.0",
                "id": facts.event_id or "",
                "source": svc.stated or svc.name,
                "type": facts.type,
                "time": time_text,
            }
            if svc.envelope == "ce-binary":
                headers.extend((f"ce_{k}", str(v).encode()) for k, v in attrs.items())
                headers.append(("content-type", b"application/json"))
            else:
                body.update(attrs)
                body["datacontenttype"] = "application/json"
        elif svc.envelope == "type-header":
            headers.append((svc.type_at, facts.type.encode()))
        else:
            body[svc.type_at] = facts.type
        if svc.envelope == "meta":
            body["metadata"] = meta

        def place(at: str | None, value: str | None) -> None:
            if at is None or value is None or at == "ce_source":
                return
            where, _, name = at.partition(":")
            if where == "header":
                headers.append((name, value.encode()))
            elif where == "meta":
                meta[name] = value
            elif self.ce and svc.envelope == "ce-structured":
                body[name] = value  # a CloudEvents extension attribute
            else:
                data[name] = value

        place(svc.name_at, svc.stated)
        if not bare and not self.ce:
            place(svc.event_id_at, facts.event_id)
        if not bare:
            place(svc.causation_at, facts.cause_event_id)
        if not bare and not self.ce and svc.time_at is not None:
            where, _, name = svc.time_at.partition(":")
            (meta if where == "meta" else data)[name] = format_time(facts.clock_ms, svc.time_format)
        self._ids(ids, facts, data, headers)
        if facts.phase is not None:
            data["lifecycle"] = facts.phase
        if facts.attempt and not bare:
            data["attempt"] = facts.attempt
        data.update(facts.data)
        if facts.trace is not None:
            headers.append(("traceparent", f"00-{facts.trace[0]}-{facts.trace[1]}-01".encode()))
        if self.ce and svc.envelope == "ce-structured":
            body["data"] = data
        else:
            body.update(data)
        return self.key(ids, facts), headers, orjson.dumps(body)

    def _ids(self, ids: InstanceIds, facts: EventFacts, data: dict[str, Any], headers: list[Header]) -> None:
        svc = self.svc
        if facts.carries != "secondary":
            at = svc.ids.get(ids.entity, IdAt(where="key"))
            if at.where == "payload" and at.path:
                _put(data, at.path, ids.primary)
            elif at.where == "header" and at.path:
                headers.append((at.path[0], ids.primary.encode()))
            if svc.correlation_header:
                headers.append((svc.correlation_header, ids.primary.encode()))
            if svc.customer_at:
                _put(data, svc.customer_at, ids.customer)
            if svc.tenant_at:
                _put(data, svc.tenant_at, ids.tenant)
        if facts.carries != "primary" and ids.secondary is not None and ids.secondary_entity is not None:
            sec = svc.ids.get(ids.secondary_entity)
            if sec is not None and sec.path:
                _put(data, sec.path, ids.secondary)
        if svc.local_id_at and svc.name in ids.local:
            _put(data, svc.local_id_at, ids.local[svc.name])
