"""One instance's causal graph as a Graphviz diagram.

Services are clusters, events are nodes (timestamp, latency from the cause,
clock-skew and duplicate marks), edges follow causation. A stuck instance
gets the missing expected next step drawn dashed in the responsible
service's cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import graphviz

from choreo.core.errors import InputError
from choreo.core.event_log import ensure_log_views
from choreo.core.store import Store
from choreo.core.timefmt import clock_ms, duration, iso_ms
from choreo.reconstruct.export.dot_labels import label
from choreo.reconstruct.query.read import find_instances

_STATUS_COLOURS = {
    "completed": "#2e7d32",
    "failed": "#c0392b",
    "compensated": "#d35400",
    "running": "#2f5d8a",
    "stuck": "#c0392b",
}


@dataclass(frozen=True)
class Step:
    seq: int
    ts_ms: int  # skew-adjusted
    skew_ms: int
    parent_seq: int | None
    duplicate_of: int | None
    event_type: str
    service: str
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class StuckInfo:
    expected: tuple[str, ...]
    service: str | None
    overdue_ms: int | None
    silent_ms: int
    explanation: str


@dataclass(frozen=True)
class InstanceView:
    instance_id: str
    workflow: str
    status: str
    label: str
    steps: tuple[Step, ...]
    stuck: StuckInfo | None


def resolve_instance(store: Store, key: str) -> tuple[str, list[str]]:
    """(instance id, other matches) for an instance id, label, identifier value
    or name=value; the most recent instance wins, as in ``choreo show``."""
    if store.query("SELECT 1 FROM instances WHERE instance_id = ?", [key]):
        return key, []
    found = find_instances(store, key, limit=50)
    if not found:
        raise InputError(f"no instance matches {key!r} (an instance id, label or identifier value)")
    return found[0], found[1:]


def load_instance(store: Store, key: str) -> InstanceView:
    ensure_log_views(store)
    iid, _ = resolve_instance(store, key)
    head = store.query("SELECT workflow, status, label FROM instances WHERE instance_id = ?", [iid])[0]
    steps = tuple(
        Step(
            int(r[0]),
            int(r[1]),
            int(r[2]),
            None if r[3] is None else int(r[3]),
            None if r[4] is None else int(r[4]),
            str(r[5]),
            str(r[6]),
            str(r[7]),
            int(r[8]),
            int(r[9]),
        )
        for r in store.query(
            "SELECT ie.seq, ie.adj_ts_ms, ie.skew_ms, ie.parent_seq, ie.duplicate_of_seq, "
            'e.event_type, e.service, e.topic, e.partition, e."offset" '
            'FROM instance_events ie JOIN log_events e USING (topic, partition, "offset") '
            "WHERE ie.instance_id = ? ORDER BY ie.seq",
            [iid],
        )
    )
    stuck = None
    srow = store.query(
        "SELECT expected_types, responsible_service, overdue_ms, silent_ms, explanation "
        "FROM stuck WHERE instance_id = ?",
        [iid],
    )
    if srow:
        exp, svc, overdue, silent, expl = srow[0]
        stuck = StuckInfo(
            tuple(sorted(str(t) for t in exp)),
            None if svc is None else str(svc),
            None if overdue is None else int(overdue),
            int(silent),
            str(expl),
        )
    return InstanceView(iid, str(head[0]), str(head[1]), str(head[2]), steps, stuck)


def instance_dot(store: Store, key: str) -> str:
    """DOT source of one instance's causal graph; ``key`` as for resolve_instance."""
    return view_dot(load_instance(store, key))


def view_dot(view: InstanceView) -> str:
    originals = [s for s in view.steps if s.duplicate_of is None]
    by_seq = {s.seq: s for s in view.steps}
    dup_count: dict[int, int] = {}
    for s in view.steps:
        if s.duplicate_of is not None:
            dup_count[s.duplicate_of] = dup_count.get(s.duplicate_of, 0) + 1

    def original(seq: int | None) -> Step | None:
        # A cause recorded against a redelivered copy points at the first delivery.
        step = by_seq.get(seq) if seq is not None else None
        while step is not None and step.duplicate_of is not None:
            step = by_seq.get(step.duplicate_of)
        return step

    colour = _STATUS_COLOURS.get(view.status, "#333333")
    # Nodes show the time of day; the title carries the date.
    started = f", started {iso_ms(min(s.ts_ms for s in originals))}" if originals else ""
    g = graphviz.Digraph(
        "instance",
        graph_attr={
            "rankdir": "TB",
            # Rank by causal order across service clusters, so time flows downwards.
            "newrank": "true",
            "fontname": "Helvetica",
            "label": label(f"{view.workflow} {view.label}: {view.status}", f"{view.instance_id}{started}"),
            "labelloc": "t",
            "fontcolor": colour,
            "compound": "true",
        },
        node_attr={
            "shape": "box",
            "style": "rounded,filled",
            "fillcolor": "#f4f6f8",
            "fontname": "Helvetica",
        },
        edge_attr={"fontname": "Helvetica", "fontsize": "10"},
    )
    services = {s.service for s in originals}
    if view.stuck is not None and view.stuck.service is not None:
        services.add(view.stuck.service)
    expected_id = "expected"
    for i, svc in enumerate(sorted(services)):
        with g.subgraph(name=f"cluster_{i}") as sub:
            sub.attr(label=label(svc), style="rounded", color="#999999", fontcolor="#333333")
            for s in originals:
                if s.service == svc:
                    sub.node(
                        f"e{s.seq}",
                        _step_label(s, dup_count.get(s.seq, 0)),
                        **_step_attrs(s, dup_count.get(s.seq, 0)),
                    )
            if view.stuck is not None and view.stuck.service == svc:
                sub.node(expected_id, _expected_label(view.stuck), **_EXPECTED_ATTRS)
    previous: Step | None = None
    for s in originals:
        parent = original(s.parent_seq)
        if parent is not None and parent.seq != s.seq:
            g.edge(f"e{parent.seq}", f"e{s.seq}", label(duration(s.ts_ms - parent.ts_ms)))
        elif previous is not None:
            # No causal link known: keep the time order visible, but weaker.
            g.edge(
                f"e{previous.seq}",
                f"e{s.seq}",
                label(duration(s.ts_ms - previous.ts_ms)),
                style="dotted",
                color="#888888",
            )
        previous = s
    if view.stuck is not None:
        if not _has_svc(view):
            g.node(expected_id, _expected_label(view.stuck), **_EXPECTED_ATTRS)
        if originals:
            last = max(originals, key=lambda s: (s.ts_ms, s.seq))
            overdue = view.stuck.overdue_ms
            text = f"silent {duration(view.stuck.silent_ms)}"
            if overdue is not None and overdue > 0:
                text += f", overdue {duration(overdue)}"
            g.edge(
                f"e{last.seq}", expected_id, label(text), style="dashed", color="#c0392b", fontcolor="#c0392b"
            )
    return str(g.source)


_EXPECTED_ATTRS = {
    "style": "dashed,rounded",
    "color": "#c0392b",
    "fontcolor": "#c0392b",
    "fillcolor": "white",
}


def _has_svc(view: InstanceView) -> bool:
    return view.stuck is not None and view.stuck.service is not None


def _expected_label(stuck: StuckInfo) -> str:
    expected = " | ".join(stuck.expected) if stuck.expected else "?"
    who = stuck.service or "unknown service"
    return label(f"expected: {expected}", f"from {who}", "(missing)")


def _step_label(s: Step, dups: int) -> str:
    lines = [f"{s.seq}. {s.event_type}", f"{clock_ms(s.ts_ms)}", f"{s.topic}[{s.partition}]@{s.offset}"]
    if s.skew_ms:
        lines.append(f"clock skew: shifted {duration(s.skew_ms)}")
    if dups:
        lines.append(f"delivered {dups + 1}x")
    return label(*lines)


def _step_attrs(s: Step, dups: int) -> dict[str, str]:
    attrs: dict[str, str] = {}
    if s.skew_ms:
        attrs["color"] = "#8e44ad"
        attrs["penwidth"] = "2"
    if dups:
        attrs["peripheries"] = "2"
    return attrs
