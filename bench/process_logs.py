"""Real public process logs carried as Kafka traffic: how choreo's verdicts
hold on data it was not built with (issue 12).

    .venv/bin/python bench/process_logs.py LOG [LOG...] [--out DIR] [--partitions N]

LOG is a CSV event log (pm4py's column names ``case:concept:name``,
``concept:name``, ``time:timestamp`` by default; ``--case/--activity/--time``
to name others) or an XES log (``.xes``/``.xes.gz``, read with pm4py:
``make bench``). No log ships with choreo: bring your own (pm4py's test logs,
the BPI challenges, ...); nothing read here is written back to the repository.

Each event becomes one record on topic ``events`` in the order the events
happened (ties in the log's order): key and payload carry the case id
(``caseId``), the payload the activity as ``type``, the event time and the
event's other attributes; the broker timestamp is the event time. The dump
(kcat -J) goes through ``choreo import`` as a user would run it, then:

- membership: cases held exactly by one choreo instance (all its events, no
  other case's);
- order: cases whose ``instance_events.seq`` order is the log's order;
- status sanity: instances per status; on a closed historical log nothing
  should be stuck, and cases ending in the log's usual final activities
  should not be running;
- the dump's shape: events per case and activity (loops, lifecycle events),
  records with a timestamp equal to their predecessor's in the same case.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from choreo.trafficgen.kafka import TS_CREATE, KafkaRecord, partition_for, write_kcat  # noqa: E402
from choreo.trafficgen.run import choreo_import  # noqa: E402
from choreo.trafficgen.score import read_store  # noqa: E402

TOPIC = "events"


@dataclass(frozen=True)
class Event:
    case: str
    activity: str
    ms: int
    position: int  # in the log file: breaks ties between equal times
    attrs: dict[str, Any]


def _ms(value: Any) -> int | None:
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def read_csv(path: Path, case: str, activity: str, tcol: str) -> list[Event]:
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            ms = _ms(row.get(tcol, ""))
            if ms is None or not row.get(case) or not row.get(activity):
                continue
            attrs = {k: v for k, v in row.items() if k and v and k not in (case, activity, tcol)}
            out.append(Event(row[case], row[activity], ms, i, attrs))
    return out


def read_xes(path: Path) -> list[Event]:
    try:
        import pm4py
    except ImportError:
        sys.exit("reading XES needs pm4py: make bench")
    df = pm4py.read_xes(str(path))
    out = []
    for i, row in enumerate(df.to_dict("records")):
        ms = _ms(row.get("time:timestamp"))
        if ms is None:
            continue
        skip = ("case:concept:name", "concept:name", "time:timestamp")
        attrs = {
            k: str(v) for k, v in row.items() if k not in skip and str(v) not in ("", "nan", "NaT", "None")
        }
        out.append(Event(str(row["case:concept:name"]), str(row["concept:name"]), ms, i, attrs))
    return out


def to_records(events: list[Event], partitions: int) -> list[KafkaRecord]:
    """Records in the order the events happened; a case's events share a key, so one partition."""
    offsets: Counter[int] = Counter()
    out = []
    for e in sorted(events, key=lambda e: (e.ms, e.position)):
        key = e.case.encode()
        p = partition_for(key, partitions)
        payload = {"type": e.activity, "caseId": e.case, "time": e.ms, **e.attrs}
        out.append(KafkaRecord(TOPIC, p, offsets[p], e.ms, TS_CREATE, 1, key, [], orjson.dumps(payload)))
        offsets[p] += 1
    out.sort(key=lambda r: (r.partition, r.offset))
    return out


def measure(name: str, events: list[Event], out: Path, partitions: int) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    records = to_records(events, partitions)
    dump = out / "dump.kcat.jsonl"
    with dump.open("wb") as fh:
        write_kcat(records, fh, {})
    t0 = time.perf_counter()
    choreo_import(dump, out / "s.duckdb")
    seconds = time.perf_counter() - t0
    st = read_store(out / "s.duckdb")
    # The log's order of a case: time, then the log's own position (= Kafka position: one partition per case).
    rank = {(r.topic, r.partition, r.offset): i for i, r in enumerate(records_in_time_order(records))}
    by_case: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for r in records:
        by_case[orjson.loads(r.payload or b"{}")["caseId"]].append((r.topic, r.partition, r.offset))
    case_of = {c: case for case, coords in by_case.items() for c in coords}
    exact = in_order = 0
    for coords in by_case.values():
        holders = {st.where.get(c) for c in coords}
        ci = holders.pop() if len(holders) == 1 else None
        if ci is None or len(st.members[ci]) != len(coords):
            continue
        exact += 1
        seq = {c: q for c, q, _ in st.members[ci]}
        in_order += sorted(coords, key=lambda c: seq[c]) == sorted(coords, key=lambda c: rank[c])
    final: dict[str, str] = {}
    for e in sorted(events, key=lambda e: (e.ms, e.position)):
        final[e.case] = e.activity
    usual = {a for a, n in Counter(final.values()).items() if n >= 0.1 * len(final)}
    stuck_usual = 0
    for ci in st.stuck:
        coords = [c for c, _, _ in st.members.get(ci, [])]
        cases = {case_of[c] for c in coords if c in case_of}
        stuck_usual += any(final.get(case) in usual for case in cases)
    return {
        "log": name,
        "cases": len(by_case),
        "events": len(events),
        "events per case and activity": round(
            len(events) / max(1, len({(e.case, e.activity) for e in events})), 2
        ),
        "equal-time neighbours in a case": _ties(events),
        "instances": len(st.status),
        "workflows": len(set(st.workflow.values())),
        "exact": round(exact / max(1, len(by_case)), 4),
        "in order (of exact)": round(in_order / max(1, exact), 4),
        "status": dict(Counter(st.status.values())),
        "stuck though ending in a usual final activity": stuck_usual,
        "usual final activities": sorted(usual),
        "import seconds": round(seconds, 1),
    }


def records_in_time_order(records: list[KafkaRecord]) -> list[KafkaRecord]:
    return sorted(records, key=lambda r: (r.ts, r.partition, r.offset))


def _ties(events: list[Event]) -> int:
    by: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        by[e.case].append(e)
    n = 0
    for evs in by.values():
        evs.sort(key=lambda e: (e.ms, e.position))
        n += sum(a.ms == b.ms for a, b in itertools.pairwise(evs))
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("logs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "process_logs")
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--case", default="case:concept:name")
    ap.add_argument("--activity", default="concept:name")
    ap.add_argument("--time", dest="tcol", default="time:timestamp")
    args = ap.parse_args()
    for path in args.logs:
        if path.suffix == ".csv":
            events = read_csv(path, args.case, args.activity, args.tcol)
        else:
            events = read_xes(path)
        if not events:
            sys.exit(f"{path}: no events with a case id, an activity and a time")
        result = measure(path.name, events, args.out / path.stem, args.partitions)
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
