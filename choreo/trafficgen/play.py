"""One instance of a workflow, played out in true time: which events its
services emit, when, and which event each one reacts to (its cause).

Faults act here: a step fails (failure type, then the compensations of the
steps done so far in reverse, then a terminal); a service is down for a
stretch (its reactions wait until it is back, or never come); a service
silently stops reacting to one instance (a stall: the step and everything
depending on it never happen). ``judge`` then says what the instance truly
is at the end of the dump.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field

from choreo.trafficgen.spec import (
    STUCK_FACTOR,
    STUCK_FLOOR_MS,
    Activity,
    Item,
    Loop,
    Parallel,
    Step,
    WorkflowSpec,
)
from choreo.trafficgen.truth import Status

NEVER = 2**62
DRAIN_RATIO = 0.002  # a service back from an outage works off its backlog 500x faster than it built up
RESUME_MS = 50


@dataclass(slots=True)
class Planned:
    type: str
    service: str
    activity: Activity
    kind: str  # start | step | failure | compensation | branch | join | loop | end | rejected | cancelled
    cause: int | None  # index of the event it reacts to
    deps: tuple[int, ...]  # every event it waits for (a join waits for all branches)
    due: int  # true time it would be emitted without faults
    at: int  # true time it is emitted (NEVER: not at all)
    alternatives: tuple[tuple[str, str], ...]  # (type, service) that could legitimately come here
    margin_ms: int  # overdue by this much, a missing event is unambiguously stuck
    phase: str | None = None  # lifecycle: start | complete
    attempt: int = 0
    stalled: bool = False


@dataclass
class Plan:
    events: list[Planned]
    outcome: Status  # completed | failed | compensated


@dataclass(frozen=True)
class Verdict:
    status: Status
    ambiguous: bool  # stalled, but not yet overdue enough to tell from a slow step
    expected: tuple[tuple[str, str], ...] = ()  # stuck: (type, service) that should come next
    stall: str | None = None  # stall | outage
    where: str | None = None  # kind of the missing step


@dataclass
class Outages:
    """Per service, sorted (start, end) stretches when it does not react; end may be NEVER."""

    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def delay(self, service: str, due: int) -> int:
        spans = self.spans.get(service)
        if not spans or due >= NEVER:
            return due
        i = bisect.bisect_right(spans, (due, NEVER)) - 1
        if i >= 0:
            a, b = spans[i]
            if a <= due < b:
                return NEVER if b >= NEVER else b + RESUME_MS + int((due - a) * DRAIN_RATIO)
        return due


def _margin(acts: list[Activity]) -> int:
    cap = max(max(a.latency.cap_ms, a.lifecycle.cap_ms if a.lifecycle else 0) for a in acts)
    return max(STUCK_FACTOR * cap, STUCK_FLOOR_MS)


def _firsts(item: Item | Activity | None) -> list[Activity]:
    if item is None:
        return []
    if isinstance(item, Activity):
        return [item]
    if isinstance(item, Step):
        return [item.activity]
    if isinstance(item, Parallel):
        return [b[0] for b in item.branches]
    return [item.body[0]]


class _Player:
    def __init__(self, wf: WorkflowSpec, rng: random.Random, outages: Outages) -> None:
        self.wf, self.rng, self.outages = wf, rng, outages
        self.ev: list[Planned] = []

    def add(
        self,
        act: Activity,
        etype: str,
        kind: str,
        deps: tuple[int, ...],
        also: list[Activity] | tuple[Activity, ...] = (),
        phase: str | None = None,
        attempt: int = 0,
        latency: int | None = None,
    ) -> int:
        """Append one event reacting to ``deps`` (its cause: the latest of them). ``also``: steps
        whose event could legitimately have come here instead (another loop round, its exit)."""
        base = max(self.ev[d].at for d in deps)
        cause = max(deps, key=lambda d: (self.ev[d].at, d))
        lat = act.latency.sample(self.rng) if latency is None else latency
        due = base + lat if base < NEVER else NEVER
        at = self.outages.delay(act.service, due)
        alts = [(etype, act.service)]
        if act.failure is not None and phase != "complete":
            alts += [(act.type, act.service), (act.failure, act.service)]
        for a in also:  # another loop round, or the step after the loop: either outcome of it
            alts += [(a.type, a.service)] + ([(a.failure, a.service)] if a.failure is not None else [])
        self.ev.append(
            Planned(
                etype,
                act.service,
                act,
                kind,
                cause,
                deps,
                due,
                at,
                tuple(dict.fromkeys(alts)),
                _margin([act, *also]),
                phase,
                attempt,
            )
        )
        return len(self.ev) - 1

    def activity(
        self, act: Activity, kind: str, deps: tuple[int, ...], also: list[Activity], attempt: int = 0
    ) -> int:
        """An activity's event(s): one, or start and complete for a lifecycle activity."""
        if act.lifecycle is None:
            return self.add(act, act.type, kind, deps, also, attempt=attempt)
        s = self.add(act, act.type, kind, deps, also, phase="start", attempt=attempt)
        return self.add(
            act,
            act.type,
            kind,
            (s,),
            phase="complete",
            attempt=attempt,
            latency=act.lifecycle.sample(self.rng),
        )

    def play(self, t_start: int) -> Plan:
        wf, rng = self.wf, self.rng
        start_type = wf.alt_start if wf.alt_start and rng.random() < wf.alt_start_rate else wf.start.type
        self.ev.append(
            Planned(
                start_type,
                wf.start.service,
                wf.start,
                "start",
                None,
                (),
                t_start,
                self.outages.delay(wf.start.service, t_start),
                (),
                0,
            )
        )
        last: tuple[int, ...] = (0,)
        undo: list[Activity] = []
        after_loop: list[Activity] = []
        items = wf.body
        for i, item in enumerate(items):
            nxt = items[i + 1] if i + 1 < len(items) else wf.end
            if isinstance(item, Step):
                act = item.activity
                if act.failure is not None and rng.random() < act.failure_rate:
                    f = self.add(act, act.failure, "failure", last, after_loop)
                    return self._compensate(f, undo)
                last = (self.activity(act, "step", last, after_loop),)
                if act.compensation is not None:
                    undo.append(act)
            elif isinstance(item, Parallel):
                ends = []
                for branch in item.branches:
                    # No loop-round alternative here: once any branch shows, the loop is over.
                    c = last
                    for act in branch:
                        c = (self.activity(act, "branch", c, []),)
                    ends.append(c[0])
                last = tuple(ends)
                if item.join is not None:
                    last = (self.add(item.join, item.join.type, "join", last),)
            else:
                last = self._loop(item, last, after_loop, _firsts(nxt))
                after_loop = list(item.body[:1])
                continue
            after_loop = []
        if wf.end is not None:
            self.activity(wf.end, "end", last, after_loop)
        return Plan(self.ev, "completed")

    def _loop(
        self, loop: Loop, last: tuple[int, ...], before: list[Activity], exits: list[Activity]
    ) -> tuple[int, ...]:
        n = 1
        while n < loop.max_iterations and self.rng.random() < loop.repeat_rate:
            n += 1
        for it in range(n):
            for j, act in enumerate(loop.body):
                # The first step of another round could instead have been the exit, and vice versa.
                nxt = (before if it == 0 else exits) if j == 0 else []
                last = (self.activity(act, "loop", last, nxt, attempt=it + 1),)
        return last

    def _compensate(self, failure: int, undo: list[Activity]) -> Plan:
        c = failure
        for act in reversed(undo):
            svc = act.compensation_service or act.service
            assert act.compensation is not None  # only compensable steps are in undo
            comp = act.model_copy(
                update={"type": act.compensation, "service": svc, "lifecycle": None, "failure": None}
            )
            c = self.add(comp, comp.type, "compensation", (c,))
        term = self.wf.cancelled if undo else self.wf.rejected
        self.add(term, term.type, "cancelled" if undo else "rejected", (c,))
        return Plan(self.ev, "compensated" if undo else "failed")


def plan_instance(wf: WorkflowSpec, rng: random.Random, outages: Outages, t_start: int) -> Plan:
    return _Player(wf, rng, outages).play(t_start)


def stall(plan: Plan, rng: random.Random, end: int) -> bool:
    """A service silently stops reacting to this instance at one of its steps (any step but the
    start, compensation included), chosen among those that would be overdue by the end."""
    ev = plan.events
    eligible = [i for i in range(1, len(ev)) if ev[i].at < NEVER and ev[i].due + ev[i].margin_ms <= end]
    if not eligible:
        return False
    i = rng.choice(eligible)
    ev[i].at, ev[i].stalled = NEVER, True
    for j in range(i + 1, len(ev)):
        if any(ev[d].at >= NEVER for d in ev[j].deps):
            ev[j].at = NEVER
    return True


def judge(plan: Plan, end: int) -> Verdict:
    """What the instance is at ``end`` (true time), from what was emitted by then."""
    ev = plan.events
    out = [e.at > end for e in ev]
    if not any(out):
        return Verdict(plan.outcome, False)
    frontier = [e for e, o in zip(ev, out, strict=True) if o and all(ev[d].at <= end for d in e.deps)]
    late = [e for e in frontier if e.due <= end]
    if not late:
        return Verdict("running", False)
    overdue = [e for e in late if end - max(ev[d].at for d in e.deps) >= e.margin_ms]
    expected = tuple(dict.fromkeys(a for e in late for a in e.alternatives))
    first = (overdue or late)[0]
    return Verdict(
        "stuck",
        not overdue,
        expected,
        "stall" if any(e.stalled for e in late) else "outage",
        first.kind,
    )
