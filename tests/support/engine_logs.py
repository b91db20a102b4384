"""Small generated logs with their truth, for property tests of the engine's
rules (what is an event, which records are one event twice, which
identifiers stitch). Records go through the real extraction and store."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import RebuildStats, rebuild
from tests.support.saga_builder import T0, Log

Coord = tuple[str, int, int]

STEPS = ("OrderPlaced", "PaymentTaken", "ParcelPacked", "ParcelShipped", "OrderClosed")
TOPIC = {
    "OrderPlaced": "orders",
    "PaymentTaken": "payments",
    "ParcelPacked": "parcels",
    "ParcelShipped": "parcels",
    "OrderClosed": "orders",
}


@dataclass
class Truth:
    """What the engine should find: each instance's event records, the
    records that are duplicates (and of which record), the records that are
    not events (and the instance whose key they carry, if any)."""

    instances: dict[str, set[Coord]] = field(default_factory=dict)
    duplicates: dict[Coord, Coord] = field(default_factory=dict)
    not_events: dict[Coord, str | None] = field(default_factory=dict)

    def add(self, instance: str, coord: Coord) -> None:
        self.instances.setdefault(instance, set()).add(coord)


@dataclass
class Derived:
    stats: RebuildStats
    members: dict[str, set[Coord]]  # instance id -> its records
    duplicate_of: dict[Coord, Coord]  # record -> the record it duplicates
    not_events: dict[Coord, str | None]  # record -> instance id beside which it is listed
    key_stats: dict[str, tuple[bool, str]]  # name -> (used for stitching, reason)

    def instance_of(self, coord: Coord) -> str | None:
        for iid, recs in self.members.items():
            if coord in recs:
                return iid
        return None

    def exact(self, truth: Truth) -> dict[str, str | None]:
        """True instance -> the derived instance holding exactly its records (None: none does)."""
        by_members = {frozenset(v): k for k, v in self.members.items()}
        return {name: by_members.get(frozenset(recs)) for name, recs in truth.instances.items()}


def derive(log: Log, config: ChoreoConfig | None = None, now_ms: int | None = None) -> Derived:
    """Store the log in a fresh store, rebuild, and read back what the truth is compared with."""
    with tempfile.TemporaryDirectory() as tmp, _stored(log, Path(tmp) / "s.duckdb") as s:
        stats = rebuild(s, config, now_ms=now_ms)
        members: dict[str, set[Coord]] = {}
        seq: dict[tuple[str, int], Coord] = {}
        rows = s.query(
            'SELECT instance_id, topic, partition, "offset", seq, duplicate_of_seq FROM instance_events'
        )
        for iid, t, p, o, sq, _d in rows:
            members.setdefault(str(iid), set()).add((str(t), int(p), int(o)))
            seq[(str(iid), int(sq))] = (str(t), int(p), int(o))
        dup = {
            (str(t), int(p), int(o)): seq[(str(iid), int(d))]
            for iid, t, p, o, _sq, d in rows
            if d is not None
        }
        aside = {
            (str(t), int(p), int(o)): None if i is None else str(i)
            for t, p, o, i in s.query('SELECT topic, partition, "offset", instance_id FROM not_events')
        }
        keys = {
            str(n): (bool(u), str(r))
            for n, u, r in s.query("SELECT name, used_for_stitching, reason FROM identifier_stats")
        }
    return Derived(stats, members, dup, aside, keys)


@contextmanager
def _stored(log: Log, path: Path) -> Iterator[Store]:
    log.store(path)
    with Store.open(path) as s:
        yield s


def order(log: Log, truth: Truth, i: int, t: int, *, steps: int = 5, gap_ms: int = 200) -> list[Coord]:
    """One order: its steps keyed by the order id, each carrying it in the payload too."""
    oid = f"ord-{i:04d}"
    out: list[Coord] = []
    for n, etype in enumerate(STEPS[:steps]):
        coord = log.event(TOPIC[etype], etype, t + n * gap_ms, key=oid, orderId=oid, eid=f"{oid}-{n}")
        truth.add(oid, coord)
        out.append(coord)
    return out


def payload_of(log: Log, coord: Coord) -> dict[str, Any]:
    import orjson

    for topic, partition, offset, _ts, _key, _headers, body in log.records:
        if (topic, partition, offset) == coord and body is not None:
            doc = orjson.loads(body)
            assert isinstance(doc, dict)
            return doc
    raise KeyError(coord)


__all__ = ["T0", "Coord", "Derived", "Log", "Truth", "derive", "order", "payload_of"]
