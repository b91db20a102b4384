"""Score a reconstructed store against the truth, record by record: the
measures of issue 12's table, and for each failure which instance and why.

Reads the derived tables ``instances``, ``instance_events`` and ``stuck``
(as ``choreo import`` leaves them) and nothing else of the engine.

- *exact*: a true instance is held exactly by one choreo instance when one
  choreo instance holds all of its event records (duplicates included) and
  no event record of any other true instance. Records that are not events
  are left out here (they have their own measure), and so are instances
  whose records in the dump share no value that ties them together
  (retention took every record that joined the fragments: *unlinkable*).
- *status right*: of the exact instances (ambiguous ones left out).
- *cause before effect*: of the exact instances with at least one
  cause-effect pair in the dump, those where every cause's
  ``instance_events.seq`` is below its effect's.
- *stuck recall / precision*: a choreo instance stands for the true instance
  most of its event records belong to; flagged ones standing for a truly
  stuck instance are hits, the others false alarms. Ambiguous instances
  count neither way.
- *right expected event and service*: of the truly stuck instances, those
  flagged with a non-empty ``expected_types`` that are all among the types
  that could legitimately come next, and a ``responsible_service`` among
  the services that would emit them.
- *not-events attached*: poison, tombstones and truncated JSON found in
  ``instance_events``.
- *duplicates marked*: of the events present more than once, those whose
  copies sit in one instance with exactly one copy unmarked; *false
  duplicates*: events present once but marked as a duplicate.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from choreo.core.errors import InputError
from choreo.core.store import Store
from choreo.trafficgen.truth import Coord, InstanceTruth, RecordTruth, Truth

_DERIVED = ("instances", "instance_events", "stuck")


@dataclass(frozen=True)
class Failure:
    measure: str  # exact | workflow | status | order | stuck-missed | stuck-false | expected | attached | dup
    subject: str  # true instance id, choreo instance id, workflow or record
    detail: str


@dataclass
class Score:
    true_instances: int = 0
    exact: int = 0
    workflows_true: int = 0
    workflows_found: int = 0
    workflow_names_not_start: list[str] = field(default_factory=list)
    status_judged: int = 0
    status_right: int = 0
    order_judged: int = 0
    order_right: int = 0
    pairs: int = 0
    pairs_right: int = 0
    stuck_true: int = 0
    stuck_found: int = 0
    stuck_flagged: int = 0
    stuck_false: int = 0
    stuck_right_expected: int = 0
    ambiguous: int = 0
    unlinkable: int = 0  # true instances whose records in the dump nothing ties together
    not_events: int = 0
    not_events_attached: int = 0
    attached_by_kind: dict[str, int] = field(default_factory=dict)
    dup_groups: int = 0
    dup_groups_marked: int = 0
    false_duplicates: int = 0
    unlinked_events: int = 0
    status_confusion: dict[str, int] = field(default_factory=dict)  # "truth->choreo": n
    failures: list[Failure] = field(default_factory=list)

    @staticmethod
    def _share(a: int, b: int) -> float | None:
        return None if b == 0 else a / b

    def measures(self) -> dict[str, float | int | None]:
        """The headline numbers (shares in [0, 1], None when there is nothing to judge)."""
        flagged_hits = self.stuck_flagged - self.stuck_false
        return {
            "exact": self._share(self.exact, self.true_instances - self.unlinkable),
            "workflows_found": self.workflows_found,
            "workflows_true": self.workflows_true,
            "workflows_named_not_start": len(self.workflow_names_not_start),
            "status_right": self._share(self.status_right, self.status_judged),
            "cause_before_effect": self._share(self.order_right, self.order_judged),
            "stuck_recall": self._share(self.stuck_found, self.stuck_true),
            "stuck_precision": self._share(flagged_hits, self.stuck_flagged),
            "stuck_right_expected": self._share(self.stuck_right_expected, self.stuck_true),
            "not_events_attached": self.not_events_attached,
            "not_events": self.not_events,
            "duplicates_marked": self._share(self.dup_groups_marked, self.dup_groups),
            "false_duplicates": self.false_duplicates,
        }


@dataclass
class StoreView:
    members: dict[str, list[tuple[Coord, int, int | None]]]  # choreo instance -> (coord, seq, dup_of_seq)
    where: dict[Coord, str]  # record -> choreo instance
    workflow: dict[str, str]
    status: dict[str, str]
    stuck: dict[str, tuple[list[str], str | None, str]]  # expected types, responsible service, reason


def read_store(db: str | Path) -> StoreView:
    with Store.open(db, read_only=True) as store:
        have = {r[0] for r in store.query("SELECT table_name FROM duckdb_tables()")}
        derived = [
            r[0] for r in store.query("SELECT key FROM choreo_meta WHERE starts_with(key, 'reconstruct')")
        ]
        if any(t not in have for t in _DERIVED) or (store.count_events() and not derived):
            raise InputError(f"{db} was never reconstructed: run `choreo import` without --no-reconstruct")
        members: dict[str, list[tuple[Coord, int, int | None]]] = defaultdict(list)
        where: dict[Coord, str] = {}
        for inst, topic, part, off, seq, dup in store.query(
            'SELECT instance_id, topic, partition, "offset", seq, duplicate_of_seq FROM instance_events'
        ):
            coord = (topic, part, off)
            members[inst].append((coord, seq, dup))
            where[coord] = inst
        workflow, status = {}, {}
        for inst, wf, st in store.query("SELECT instance_id, workflow, status FROM instances"):
            workflow[inst], status[inst] = wf, st
        stuck = {
            r[0]: (list(r[1] or []), r[2], r[3])
            for r in store.query("SELECT instance_id, expected_types, responsible_service, reason FROM stuck")
        }
    return StoreView(dict(members), where, workflow, status, stuck)


class _Scorer:
    def __init__(self, truth: Truth, st: StoreView) -> None:
        self.t, self.st, self.s = truth, st, Score()
        self.rec: dict[Coord, RecordTruth] = {r.coord: r for r in truth.records}
        self.inst: dict[str, InstanceTruth] = {i.id: i for i in truth.instances}
        self.events: dict[str, list[RecordTruth]] = defaultdict(list)
        for r in truth.records:
            if r.is_event and r.instance is not None:
                self.events[r.instance].append(r)
        # Per choreo instance: how many event records of each true instance it holds.
        self.holds: dict[str, Counter[str]] = {}
        for ci, rows in st.members.items():
            c: Counter[str] = Counter()
            for coord, _, _ in rows:
                got = self.rec.get(coord)
                if got is not None and got.is_event and got.instance is not None:
                    c[got.instance] += 1
            self.holds[ci] = c
        self.majority = {ci: c.most_common(1)[0][0] for ci, c in self.holds.items() if c}
        self.exact: dict[str, str] = {}  # true instance -> its choreo instance

    def fail(self, measure: str, subject: str, detail: str) -> None:
        self.s.failures.append(Failure(measure, subject, detail))

    def path(self, tid: str) -> str:
        evs = sorted(self.events[tid], key=lambda r: (r.true_ms, r.offset))
        return " > ".join(str(r.type) for r in evs if r.kind == "event")

    def membership(self) -> None:
        s = self.s
        s.true_instances = len(self.inst)
        for tid in self.inst:
            evs = self.events[tid]
            holders: Counter[str] = Counter()
            missing = 0
            for r in evs:
                ci_of = self.st.where.get(r.coord)
                if ci_of is None:
                    missing += 1
                else:
                    holders[ci_of] += 1
            s.unlinked_events += missing
            if not self.inst[tid].linked:
                s.unlinkable += 1
                continue
            if missing == 0 and len(holders) == 1:
                (ci,) = holders
                if sum(self.holds[ci].values()) == len(evs):
                    self.exact[tid] = ci
                    continue
            why = []
            if missing:
                why.append(f"{missing} event record(s) in no instance")
            if len(holders) > 1:
                why.append(f"split across {len(holders)} instances")
            others = {o for ci in holders for o in self.holds[ci] if o != tid}
            if others:
                sample = ", ".join(sorted(others)[:3])
                why.append(f"merged with {len(others)} other true instance(s) ({sample})")
            self.fail("exact", tid, f"{'; '.join(why)}; path {self.path(tid)}")
        s.exact = len(self.exact)

    def workflows(self) -> None:
        s = self.s
        s.workflows_true = len({i.workflow for i in self.inst.values()})
        names = Counter(self.st.workflow.values())
        s.workflows_found = len(names)
        starts = {t for w in self.t.workflows for t in w.start_types} | {w.name for w in self.t.workflows}
        by_true: dict[str, Counter[str]] = defaultdict(Counter)
        for ci, wf in self.st.workflow.items():
            tid = self.majority.get(ci)
            by_true[wf][self.inst[tid].workflow if tid in self.inst else "(no event)"] += 1
        for wf, n in names.most_common():
            if wf not in starts:
                s.workflow_names_not_start.append(wf)
            mix = ", ".join(f"{k} {v}" for k, v in by_true[wf].most_common(3))
            tag = "" if wf in starts else "; named after a type that starts no workflow"
            if wf not in starts or len(names) > s.workflows_true:
                self.fail("workflow", wf, f"{n} instance(s), true workflows: {mix}{tag}")

    def status(self) -> None:
        s = self.s
        confusion: Counter[str] = Counter()
        for tid, ci in self.exact.items():
            ti = self.inst[tid]
            if ti.ambiguous:
                continue
            got = self.st.status.get(ci, "?")
            s.status_judged += 1
            confusion[f"{ti.status}->{got}"] += 1
            if got == ti.status:
                s.status_right += 1
            else:
                self.fail("status", tid, f"truth {ti.status}, choreo {got} ({ci}); path {self.path(tid)}")
        s.status_confusion = dict(sorted(confusion.items()))

    def order(self) -> None:
        s = self.s
        for tid, ci in self.exact.items():
            seq = {coord: q for coord, q, _ in self.st.members[ci]}
            pairs = [(r, r.cause) for r in self.events[tid] if r.kind == "event" and r.cause is not None]
            if not pairs:
                continue
            s.order_judged += 1
            bad = [(r, c) for r, c in pairs if c in seq and seq[c] >= seq[r.coord]]
            s.pairs += len(pairs)
            s.pairs_right += len(pairs) - len(bad)
            if not bad:
                s.order_right += 1
                continue
            r, c = bad[0]
            cause = self.rec[c]
            self.fail(
                "order",
                tid,
                (
                    f"{cause.type} (seq {seq[c]}, ts {cause.ts}, skew {cause.skew_ms} ms) caused {r.type} "
                    f"(seq {seq[r.coord]}, ts {r.ts}, skew {r.skew_ms} ms, "
                    f"{r.true_ms - cause.true_ms} ms later); "
                    f"{len(bad)} of {len(pairs)} pair(s) inverted"
                ),
            )

    def stuck(self) -> None:
        s = self.s
        true_stuck = {i.id for i in self.inst.values() if i.status == "stuck" and not i.ambiguous}
        s.ambiguous = sum(i.ambiguous for i in self.inst.values())
        s.stuck_true = len(true_stuck)
        found: dict[str, list[str]] = defaultdict(list)
        for ci, (types, svc, reason) in self.st.stuck.items():
            tid = self.majority.get(ci)
            if tid is not None and self.inst[tid].ambiguous:
                continue
            s.stuck_flagged += 1
            if tid in true_stuck:
                found[tid].append(ci)
                continue
            s.stuck_false += 1
            truth = "holds no event record" if tid is None else f"truth {self.inst[tid].status}"
            self.fail(
                "stuck-false",
                tid or ci,
                (
                    f"flagged {reason}, expecting {types} from {svc}; {truth}"
                    + ("" if tid is None else f"; path {self.path(tid)}")
                ),
            )
        s.stuck_found = len(found)
        for tid in sorted(true_stuck):
            ti = self.inst[tid]
            if tid not in found:
                holder = self.exact.get(tid) or next((c for c, t in self.majority.items() if t == tid), None)
                got = self.st.status.get(holder, "?") if holder else "not reconstructed"
                self.fail(
                    "stuck-missed",
                    tid,
                    (
                        f"choreo {got}; waits for {ti.expected} from {ti.expected_services} "
                        f"({ti.stall}; missing a {ti.stall_at} event); path {self.path(tid)}"
                    ),
                )
                continue
            flags = [self.st.stuck[ci] for ci in found[tid]]
            if any(t and set(t) <= set(ti.expected) and svc in ti.expected_services for t, svc, _ in flags):
                s.stuck_right_expected += 1
            else:
                t, svc, _ = flags[0]
                self.fail(
                    "expected",
                    tid,
                    (
                        f"choreo expects {t} from {svc}; truth {ti.expected} from {ti.expected_services} "
                        f"({ti.stall}; missing a {ti.stall_at} event)"
                    ),
                )

    def noise(self) -> None:
        s = self.s
        kinds: Counter[str] = Counter()
        groups: dict[Coord, list[Coord]] = defaultdict(list)
        for r in self.rec.values():
            if not r.is_event:
                s.not_events += 1
                ci = self.st.where.get(r.coord)
                if ci is not None:
                    kinds[r.kind] += 1
                    self.fail(
                        "attached",
                        f"{r.topic}/{r.partition}/{r.offset}",
                        f"{r.kind}{'/' + r.poison if r.poison else ''} (key of {r.near}) in {ci}",
                    )
            elif r.kind == "duplicate" and r.duplicate_of is not None:
                groups[r.duplicate_of].append(r.coord)
            else:
                groups.setdefault(r.coord, [])
        s.not_events_attached = sum(kinds.values())
        s.attached_by_kind = dict(kinds)
        dup_of: dict[Coord, int | None] = {}
        for rows in self.st.members.values():
            for coord, _, d in rows:
                dup_of[coord] = d
        for orig, copies in groups.items():
            records = [orig, *copies]
            if not copies:
                if dup_of.get(orig) is not None:
                    s.false_duplicates += 1
                    r = self.rec[orig]
                    self.fail(
                        "dup",
                        str(r.instance),
                        f"{r.type} at {r.topic}/{r.partition}/{r.offset} marked a "
                        "duplicate but is a distinct event",
                    )
                continue
            s.dup_groups += 1
            holders = {self.st.where.get(c) for c in records}
            unmarked = sum(c in dup_of and dup_of[c] is None for c in records)
            if len(holders) == 1 and None not in holders and unmarked == 1:
                s.dup_groups_marked += 1
            else:
                r = self.rec[orig]
                self.fail(
                    "dup",
                    str(r.instance),
                    f"{r.type}: {len(records)} copies in {len(holders)} instance(s), {unmarked} unmarked",
                )


def score(truth: Truth, db: str | Path) -> Score:
    return score_store(truth, read_store(db))


def score_store(truth: Truth, st: StoreView) -> Score:
    sc = _Scorer(truth, st)
    sc.membership()
    sc.workflows()
    sc.status()
    sc.order()
    sc.stuck()
    sc.noise()
    return sc.s


def as_dict(s: Score, failures: int = 20) -> dict[str, Any]:
    """JSON-ready: the measures, the counts behind them and up to ``failures`` failures per measure."""
    by: dict[str, list[dict[str, str]]] = defaultdict(list)
    totals: Counter[str] = Counter()
    for f in s.failures:
        totals[f.measure] += 1
        if len(by[f.measure]) < failures:
            by[f.measure].append({"subject": f.subject, "detail": f.detail})
    counts = {k: v for k, v in s.__dict__.items() if k != "failures"}
    return {"measures": s.measures(), "counts": counts, "failure_totals": dict(totals), "failures": dict(by)}
