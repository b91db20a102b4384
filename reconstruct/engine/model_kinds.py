"""What each event type is in its workflow: start, terminal, failure,
compensation. Decided on shares with support thresholds, so that a handful
of odd instances (a tombstone after an order's last event, a late
redelivery) cannot flip a type.

- *supported* steps: a directly-follows edge that follows at least
  ``EDGE_SHARE`` of its source type's occurrences (and ``MIN_SUPPORT``
  instances); rarer edges are noise for every decision below (they stay in
  the graph, marked).
- *terminal*: most occurrences are followed by no supported step. An
  occurrence still within the latency of what would follow is not yet known
  either way: the share followed is the maximum-likelihood estimate given
  how long each unfollowed occurrence has waited and the learned latency
  distribution of the steps that follow it (so a dump shorter than the
  latencies still learns its terminal types, and an in-flight step is not
  taken for an end).
- *failure*: named like one (Failed, Declined, Rejected, ...), or the
  minority of two alternatives after the same step (never in one instance)
  whose instances never reach where the majority's instances end.
- *compensation*: named like one (Refunded, Cancelled, Released, ...), or
  occurring only after a failure (a terminal type occurring only after a
  failure ends a failed path: a failure). An end named like a compensation
  that follows no failure and no compensation (Withdrawn, Cancelled by the
  customer) undoes nothing: a failure.
- *start*: the first event of most instances holding it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from choreo.core.config import WorkflowConfig
from choreo.reconstruct.engine.model_structure import MIN_SUPPORT, Structure

_FAILURE_RE = re.compile(
    r"fail|declin|reject|error|unavailable|denied|refus|timeout|timedout|expired|invalid|abort|"
    r"outofstock|insufficient",
    re.IGNORECASE,
)
_COMPENSATION_RE = re.compile(
    r"refund|compensat|revert|rollback|rolled.?back|cancel|releas|undo|void|revers|annul|withdr|revok|rescind",
    re.IGNORECASE,
)
EDGE_SHARE = 0.02
TERMINAL_FOLLOWED = 0.5
ENDS_ALL_ALONG = 0.6  # ... or followed at most this often all along the log
AFTER_FAILURE = 0.95
MINORITY = 0.4  # a failure alternative's share of the two, at most
NEVER_JOINS = 0.05  # an alternative's instances reaching the majority's end at most this often
_AGES = 20_000  # unfollowed occurrences used for the estimate (a sample above that)
_SEEN_FLOOR = 0.05  # a latency seen where at most this share of causes could show it counts 20 times


def kind_by_name(event_type: str) -> str:
    if _FAILURE_RE.search(event_type):
        return "failure"
    if _COMPENSATION_RE.search(event_type):
        return "compensation"
    return "normal"


@dataclass
class Node:
    count: int
    service: str | None
    first: int = 0  # instances starting with it
    present: int = 0  # instances containing it
    after_failure: int = 0
    after_undo: int = 0  # occurrences after a failure or a compensation
    kind: str = "normal"
    terminal: bool = False
    start: bool = False
    followed_share: float | None = None
    repeats: float = 1.0  # events of this type per instance holding it (median)
    fixed_repeats: bool = False  # that many in (nearly) every instance holding it
    paired: bool = False  # an even number in (nearly) every instance holding it (a lifecycle in a loop)


@dataclass
class Edge:
    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    kind: str = "normal"
    concurrent: bool = False
    declared: bool = False
    share: float = 0.0  # of the source type's occurrences followed by it
    supported: bool = False
    next_step: bool = False  # expected next when the source type is an instance's last event


@dataclass(frozen=True)
class Expect:
    """A step expected once its parent happened (model_expect)."""

    share: float
    p99: float | None
    service: str | None
    source: str  # fan-out | declared
    # The instance has moved past the step once it holds one of these types
    # (empty: a parallel branch, expected any time after its parent).
    past: tuple[str, ...] = ()


@dataclass
class Followers:
    """Per type: the learned latency of its supported next steps (sorted), how many
    of its occurrences one followed, and how long the others have waited. A
    type running in parallel with others counts as followed by what follows
    its run of parallel types."""

    latencies: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)
    # How long before "now" each of those steps' causes happened (a sample,
    # sorted): a latency longer than that could not have been seen.
    windows: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)
    ages: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)
    followed: dict[str, int] = field(default_factory=dict)  # occurrences a supported step followed
    unfollowed: dict[str, int] = field(default_factory=dict)  # the others (``ages`` may be a sample)
    # (type, third of the log's time span: 0 or 1) -> occurrences followed there,
    # and the others' ages: whether it ends instances all along, not just lately.
    by_third: dict[tuple[str, int], tuple[int, npt.NDArray[np.int64]]] = field(default_factory=dict)


def supported(nodes: dict[str, Node], edges: dict[tuple[str, str], Edge]) -> None:
    for (a, _b), e in edges.items():
        n = nodes[a].count if a in nodes else 0
        e.share = e.count / n if n else 0.0
        e.supported = not e.concurrent and e.count >= MIN_SUPPORT and e.share >= EDGE_SHARE


def next_steps(
    nodes: dict[str, Node], edges: dict[tuple[str, str], Edge], s: Structure, w: int, code: dict[str, int]
) -> None:
    """Per type, what is expected next: the most frequent supported step, the
    alternatives to it (types never in one instance with it: a failure, a
    rejection) and a repeat of itself (a loop). A supported step that occurs
    in the same instances as the main one is an ordering accident (a skewed
    clock, a step seen before its turn), not what comes next."""
    by_src: dict[str, list[tuple[str, Edge]]] = {}
    for (a, b), e in edges.items():
        e.next_step = e.declared
        if e.supported:
            by_src.setdefault(a, []).append((b, e))
    for a, outs in by_src.items():
        outs.sort(key=lambda x: (-x[1].count, x[0]))
        chosen: list[str] = []
        for b, e in outs:
            if b == a:
                e.next_step = True
                continue
            if all(s.exclusive(w, code[b], code[c]) for c in chosen):
                e.next_step = True
                chosen.append(b)


def seen_weights(
    lat: npt.NDArray[np.int64],
    windows: npt.NDArray[np.int64],
    ages: npt.NDArray[np.int64],
    followed: int,
    unfollowed: int | None = None,
) -> npt.NDArray[np.float64] | None:
    """Weights that undo the window's cut on the latencies ``lat`` (sorted).

    A latency of x could only be seen after a cause at least x before "now":
    in a log shorter than a slow step, the quick ones are all that came, and
    their distribution says the step is quick. Each seen latency counts one
    over the share of causes that had waited that long (``windows`` of the
    followed ones, ``ages`` of the others; samples of ``followed`` and
    ``unfollowed``), at most ``1 / _SEEN_FLOOR``. In a log much longer than
    the step every weight is 1. None: no windows known."""
    if lat.size == 0 or windows.size == 0:
        return None
    n_un = unfollowed if unfollowed is not None else ages.size
    total = followed + n_un
    if total <= 0:
        return None
    w_seen = (windows.size - np.searchsorted(windows, lat, side="left")) / float(windows.size)
    a_srt = np.sort(ages)
    a_seen = (a_srt.size - np.searchsorted(a_srt, lat, side="left")) / float(max(a_srt.size, 1))
    share = (followed * w_seen + n_un * a_seen) / float(total)
    return 1.0 / np.maximum(share, _SEEN_FLOOR)


def followed_share(
    followed: int,
    ages: npt.NDArray[np.int64],
    lat: npt.NDArray[np.int64],
    unfollowed: int | None = None,
    weights: npt.NDArray[np.float64] | None = None,
) -> float:
    """Maximum-likelihood share of occurrences that will be followed.

    ``followed`` occurrences were; each other one has waited ``ages[i]`` ms.
    With F the latency distribution of what follows (``lat``, sorted;
    ``weights`` per latency, see ``seen_weights``), an unfollowed occurrence
    has likelihood 1 - p F(age): solve followed / p = sum F / (1 - p F) for
    p in (0, 1].
    """
    if followed <= 0:
        return 0.0
    if ages.size == 0:
        return 1.0
    # ``ages`` may be a sample of the ``unfollowed`` occurrences.
    scale = (unfollowed or ages.size) / ages.size
    if ages.size > _AGES:
        scale *= ages.size / _AGES
        ages = ages[:: max(1, ages.size // _AGES)][:_AGES]
    if lat.size == 0:
        big_f = np.ones(ages.size)
    elif weights is None:
        big_f = np.searchsorted(lat, ages, side="right") / float(lat.size)
    else:
        cum = np.r_[0.0, np.cumsum(weights)]
        big_f = cum[np.searchsorted(lat, ages, side="right")] / cum[-1]
    big_f = big_f.astype(np.float64)

    def g(p: float) -> float:
        return followed / p - scale * float(np.sum(big_f / np.maximum(1.0 - p * big_f, 1e-12)))

    if g(1.0 - 1e-9) >= 0:
        return 1.0
    lo, hi = 1e-9, 1.0 - 1e-9
    for _ in range(50):
        mid = (lo + hi) / 2
        if g(mid) > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def terminals(
    nodes: dict[str, Node], edges: dict[tuple[str, str], Edge], fol: Followers, d: WorkflowConfig | None
) -> None:
    empty = np.zeros(0, dtype=np.int64)
    for t, node in nodes.items():
        followed = fol.followed.get(t, 0)
        ages, lat = fol.ages.get(t, empty), fol.latencies.get(t, empty)
        weights = seen_weights(lat, fol.windows.get(t, empty), ages, followed, fol.unfollowed.get(t))
        node.followed_share = followed_share(followed, ages, lat, fol.unfollowed.get(t), weights)
        if d is not None and d.terminal:
            node.terminal = t in d.terminal
        else:
            node.terminal = node.count >= 1 and (
                node.followed_share <= TERMINAL_FOLLOWED or ends_all_along(t, fol, weights)
            )


def ends_all_along(t: str, fol: Followers, weights: npt.NDArray[np.float64] | None = None) -> bool:
    """A type that ends a large share of its instances in each of the log's
    older two thirds ends them (an optional next step, as a process log's
    case that may or may not be reworked): not a service that stopped
    reacting lately or an outage running to the dump's end, which leave
    the older part followed as usual."""
    lat = fol.latencies.get(t)
    if lat is None or lat.size == 0:
        return False
    for k in (0, 1):
        followed, ages = fol.by_third.get((t, k), (0, np.zeros(0, dtype=np.int64)))
        if followed + ages.size < MIN_SUPPORT:
            return False
        if followed_share(followed, ages, lat, None, weights) > ENDS_ALL_ALONG:
            return False
    return True


def starts(nodes: dict[str, Node], d: WorkflowConfig | None) -> None:
    for t, node in nodes.items():
        node.start = (
            node.present >= 1
            and node.first / node.present >= 0.5
            and (node.first >= MIN_SUPPORT or node.first == node.present)
        )
        if d is not None and d.start:
            node.start = t in d.start


def named_kinds(nodes: dict[str, Node], d: WorkflowConfig | None) -> bool:
    """Kinds by name (or as declared); True when declared (nothing to learn)."""
    declared = d is not None and bool(d.failure or d.compensation)
    for t, node in nodes.items():
        if declared:
            assert d is not None
            node.kind = "failure" if t in d.failure else "compensation" if t in d.compensation else "normal"
        else:
            node.kind = kind_by_name(t)
    return declared


def structural_failures(
    nodes: dict[str, Node],
    edges: dict[tuple[str, str], Edge],
    s: Structure,
    w: int,
    code: dict[str, int],
) -> None:
    """The (clear) minority of two alternatives after the same step, whose
    instances never end where the majority's instances mostly end, is a failure."""
    pred: dict[str, str] = {}
    best: dict[str, int] = {}
    for (a, b), e in edges.items():
        if a != b and e.count > best.get(b, 0):
            best[b], pred[b] = e.count, a
    by_parent: dict[str, list[str]] = {}
    for child, parent in pred.items():
        by_parent.setdefault(parent, []).append(child)
    for kids in by_parent.values():
        for x in kids:
            nx = nodes[x]
            if nx.kind != "normal" or nx.count < MIN_SUPPORT:
                continue
            cx = code[x]
            for y in kids:
                cy = code[y]
                # A clear minority of instances (a loop's repeats do not
                # count): of a near-even split neither is the failure.
                px, py = int(s.present[w, cx]), int(s.present[w, cy])
                if y == x or px > MINORITY * (px + py) or not s.exclusive(w, cx, cy):
                    continue
                main_end = int(np.argmax(s.ends[w, cy]))
                held = int(s.present[w, cx])
                reach = s.together(w, cx, main_end)
                if held >= MIN_SUPPORT and reach <= NEVER_JOINS * held:
                    nx.kind = "failure"
                    break


def after_failure_kinds(nodes: dict[str, Node]) -> None:
    """Types occurring only after a failure: compensations, or (terminal) a
    failed end. An end named like a compensation that (nearly) never follows
    a failure or a compensation undoes nothing: a claim withdrawn by its
    customer, an application cancelled, is a failed end."""
    for node in nodes.values():
        late = node.after_failure >= AFTER_FAILURE * node.count
        if node.kind == "normal" and node.count >= MIN_SUPPORT and late:
            node.kind = "failure" if node.terminal else "compensation"
        unprovoked = node.after_undo <= (1 - AFTER_FAILURE) * node.count
        if node.kind == "compensation" and node.terminal and node.count >= MIN_SUPPORT and unprovoked:
            node.kind = "failure"


def edge_kinds(nodes: dict[str, Node], edges: dict[tuple[str, str], Edge]) -> None:
    for (a, b), e in edges.items():
        kb = nodes[b].kind if b in nodes else "normal"
        ka = nodes[a].kind if a in nodes else "normal"
        e.kind = kb if kb != "normal" else ka


@dataclass
class Workflow:
    name: str
    instances: int = 0
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str], Edge] = field(default_factory=dict)
    expect: dict[tuple[str, str], Expect] = field(default_factory=dict)
    timeout_ms: int | None = None
    step_p99_ms: float | None = None
    declared: bool = False

    def concurrent(self, a: str, b: str) -> bool:
        e = self.edges.get((a, b))
        return e is not None and e.concurrent
