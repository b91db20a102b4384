"""The discovered workflow as a Graphviz diagram.

Event types are nodes, directly-follows edges carry count and p95 latency,
edge width follows frequency, failure and compensation paths have their own
colour, terminal types are double-bordered, and a node shows how many
instances are stuck after it. Parallel branches of a fan-out are drawn side
by side, each from its parent (labelled ``∥ fan-out`` with its p99), with no
edges between them: the order in which they happened to arrive is no step.
Output is stable: nodes and edges are sorted.
"""

from __future__ import annotations

import graphviz

from choreo.core.errors import InputError
from choreo.core.store import Store
from choreo.core.timefmt import duration
from choreo.reconstruct.export.dot_labels import label
from choreo.reconstruct.query.model import workflow_model, workflow_names
from choreo.reconstruct.query.records import ModelEdge, ModelNode, WorkflowModel

# Colours per kind (normal | failure | compensation): (stroke, fill).
KIND_COLOURS = {
    "normal": ("#2f5d8a", "#e8f0f8"),
    "failure": ("#c0392b", "#fbe4e1"),
    "compensation": ("#d35400", "#fdebd9"),
}
STUCK_FILL = "#ffd6d6"


def resolve_workflows(store: Store, name: str | None) -> list[str]:
    """The workflows to draw: ``name`` (checked), or all of them."""
    names = workflow_names(store)
    if not names:
        raise InputError(f"{store.path} has no reconstructed workflows (import or collect events first)")
    if name is None:
        return names
    if name not in names:
        raise InputError(f"no workflow {name!r} in {store.path}; known: {', '.join(names)}")
    return [name]


def visible(model: WorkflowModel, min_share: float) -> tuple[list[ModelNode], list[ModelEdge], int]:
    """Nodes and edges left after hiding edges taken by fewer than ``min_share``
    of the instances; returns (nodes, edges, hidden edge count)."""
    # Sorted by name, so that the diagram's text is stable.
    all_nodes = sorted(model.nodes, key=lambda n: n.event_type)
    all_edges = sorted(model.edges, key=lambda e: (e.src_type, e.dst_type))
    if min_share <= 0 or model.instances == 0:
        return all_nodes, all_edges, 0
    edges = [e for e in all_edges if e.count / model.instances >= min_share]
    touched = {e.src_type for e in edges} | {e.dst_type for e in edges}
    nodes = [n for n in all_nodes if n.event_type in touched or (not edges and n.is_start)]
    return nodes, edges, len(model.edges) - len(edges)


def _add_workflow(g: graphviz.Digraph, model: WorkflowModel, prefix: str, min_share: float) -> None:
    nodes, edges, hidden = visible(model, min_share)
    ids = {n.event_type: f"{prefix}n{i}" for i, n in enumerate(nodes)}
    title = f"{model.workflow}: {model.instances} instances"
    if hidden:
        title += f" ({hidden} edges under {min_share:.0%} hidden)"
    g.attr(label=label(title), labelloc="t", fontsize="16")
    max_count = max((e.count for e in edges), default=1)
    for n in nodes:
        stroke, fill = KIND_COLOURS.get(n.kind, KIND_COLOURS["normal"])
        lines = [n.event_type]
        if n.service:
            lines.append(n.service)
        lines.append(f"{n.count}x")
        if n.stuck_after:
            lines.append(f"{n.stuck_after} stuck after this")
            fill = STUCK_FILL
        attrs = {
            "color": stroke,
            "fillcolor": fill,
            "peripheries": "2" if n.is_terminal else "1",
            "penwidth": "2" if n.stuck_after else "1",
        }
        g.node(ids[n.event_type], label(*lines), **attrs)
        if n.is_start:
            start = f"{ids[n.event_type]}_start"
            g.node(start, "", shape="point", width="0.12", color="#333333")
            g.edge(start, ids[n.event_type], color="#333333")
    branch_of = {t: i for i, group in enumerate(model.branches) for t in group}
    for i, group in enumerate(model.branches):
        with g.subgraph(name=f"{prefix}branches{i}") as same:
            same.attr(rank="same")
            for t in group:
                if t in ids:
                    same.node(ids[t])
    drawn = set()
    for e in edges:
        if e.src_type not in ids or e.dst_type not in ids:
            continue
        if e.concurrent or branch_of.get(e.src_type, -1) == branch_of.get(e.dst_type, -2):
            continue  # two parallel branches: neither follows the other
        drawn.add((e.src_type, e.dst_type))
        stroke, _ = KIND_COLOURS.get(e.kind, KIND_COLOURS["normal"])
        text = f"{e.count}x" if e.p95_ms is None else f"{e.count}x  p95 {duration(e.p95_ms)}"
        width = 1 + 4 * e.count / max_count
        g.edge(
            ids[e.src_type],
            ids[e.dst_type],
            label(text),
            color=stroke,
            fontcolor=stroke,
            penwidth=f"{width:.2f}",
            style="dashed" if e.kind == "compensation" else "solid",
        )
    for parent, child, p99 in model.fanout:
        if (parent, child) in drawn or parent not in ids or child not in ids:
            continue
        if branch_of.get(parent, -1) == branch_of.get(child, -2):
            continue
        text = "∥ fan-out" if p99 is None else f"∥ fan-out  p99 {duration(p99)}"
        stroke = KIND_COLOURS["normal"][0]
        g.edge(ids[parent], ids[child], label(text), color=stroke, fontcolor=stroke, style="bold")


def _base_graph(name: str) -> graphviz.Digraph:
    return graphviz.Digraph(
        name,
        graph_attr={"rankdir": "LR", "fontname": "Helvetica", "nodesep": "0.4", "ranksep": "0.6"},
        node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "10"},
    )


def workflow_dot(store: Store, workflow: str | None = None, *, min_share: float = 0.0) -> str:
    """DOT source of one workflow, or of every workflow (one cluster each)."""
    names = resolve_workflows(store, workflow)
    models = [workflow_model(store, n, variant_limit=0) for n in names]
    if len(models) == 1:
        g = _base_graph(label(models[0].workflow))  # record text: a label is made safe
        _add_workflow(g, models[0], "", min_share)
        return str(g.source)
    g = _base_graph("workflows")
    for i, model in enumerate(models):
        with g.subgraph(name=f"cluster_{i}") as sub:
            sub.attr(color="#bbbbbb", style="rounded")
            _add_workflow(sub, model, f"w{i}", min_share)
    return str(g.source)
