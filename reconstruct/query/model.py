"""A workflow's learned model as every view shows it (the dashboard's model
screen, the report, the Graphviz diagram): its nodes and directly-follows
edges, and its variants with parallel branches told apart from a sequence.

Branches of a fan-out run in parallel: their events come in any order, so
paths that differ only in that order are one variant. The branches are the
children of one fan-out parent (``model_expect``) and the event types whose
edges the model marks concurrent; in a variant's path a run of them is one
step, ``{A ∥ B ∥ C}`` (sorted), and variants equal after that are merged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from choreo.core.store import Store
from choreo.reconstruct.query.records import ModelEdge, ModelNode, Variant, WorkflowModel

PARALLEL = " ∥ "


def workflow_names(store: Store) -> list[str]:
    """Every workflow with a learned model, by name."""
    return [str(r[0]) for r in store.query("SELECT DISTINCT workflow FROM model_nodes ORDER BY 1")]


def branch_groups(store: Store, workflow: str) -> list[frozenset[str]]:
    """Sets of event types that are parallel branches of one another."""
    pairs: list[tuple[str, str]] = []
    children: dict[str, list[str]] = defaultdict(list)
    for parent, child in store.query(
        "SELECT parent_type, child_type FROM model_expect WHERE workflow = ? AND source = 'fan-out' "
        "ORDER BY 1, 2",
        [workflow],
    ):
        children[str(parent)].append(str(child))
    for kids in children.values():
        pairs += [(kids[0], k) for k in kids[1:]]
    pairs += [
        (str(a), str(b))
        for a, b in store.query(
            "SELECT src_type, dst_type FROM model_edges WHERE workflow = ? AND concurrent ORDER BY 1, 2",
            [workflow],
        )
    ]
    root: dict[str, str] = {}

    def find(x: str) -> str:
        while root.setdefault(x, x) != x:
            x = root[x]
        return x

    for a, b in pairs:
        root[find(a)] = find(b)
    groups: dict[str, set[str]] = defaultdict(set)
    for x in list(root):
        groups[find(x)].add(x)
    return [frozenset(g) for g in groups.values() if len(g) > 1]


def with_branches(path: Sequence[str], groups: Sequence[frozenset[str]]) -> list[str]:
    """``path`` with each run of parallel branches as one ``{A ∥ B}`` step."""
    out: list[str] = []
    i = 0
    while i < len(path):
        group = next((g for g in groups if path[i] in g), None)
        j = i + 1
        if group is not None:
            while j < len(path) and path[j] in group and path[j] not in path[i:j]:
                j += 1
        run = path[i:j]
        out.append("{" + PARALLEL.join(sorted(run)) + "}" if len(run) > 1 else path[i])
        i = j
    return out


def workflow_model(store: Store, workflow: str, *, variant_limit: int = 50) -> WorkflowModel:
    """The learned model of one workflow, as stored by the last reconstruction."""
    con = store.con
    nodes = con.execute(
        "SELECT event_type, count, service, is_start, is_terminal, kind, stuck_after "
        "FROM model_nodes WHERE workflow = ? ORDER BY count DESC, event_type",
        [workflow],
    ).fetchall()
    edges = con.execute(
        "SELECT src_type, dst_type, count, p50_ms, p95_ms, p99_ms, kind, concurrent "
        "FROM model_edges WHERE workflow = ? ORDER BY count DESC, src_type, dst_type",
        [workflow],
    ).fetchall()
    instances = con.execute("SELECT count(*) FROM instances WHERE workflow = ?", [workflow]).fetchone()
    groups = branch_groups(store, workflow)
    variants, total = _variants(store, workflow, groups, variant_limit)
    fanout = [
        (str(p), str(c), None if q is None else float(q))
        for p, c, q in store.query(
            "SELECT parent_type, child_type, p99_ms FROM model_expect WHERE workflow = ? "
            "AND source = 'fan-out' ORDER BY 1, 2",
            [workflow],
        )
    ]
    return WorkflowModel(
        workflow,
        int(instances[0]) if instances else 0,
        [ModelNode(str(n[0]), int(n[1]), n[2], bool(n[3]), bool(n[4]), str(n[5]), int(n[6])) for n in nodes],
        [ModelEdge(str(e[0]), str(e[1]), int(e[2]), e[3], e[4], e[5], str(e[6]), bool(e[7])) for e in edges],
        variants,
        total,
        [sorted(g) for g in groups],
        fanout,
    )


def _variants(
    store: Store, workflow: str, groups: Sequence[frozenset[str]], limit: int
) -> tuple[list[Variant], int]:
    """The most frequent ``limit`` variants (parallel orders merged), and how many there are."""
    stuck_by_rank = dict(
        store.query(
            "SELECT variant, count(*) FROM instances WHERE workflow = ? AND status = 'stuck' "
            "AND variant IS NOT NULL GROUP BY 1",
            [workflow],
        )
    )
    # Only with parallel branches do variants merge: then all of them are needed.
    cap = "" if groups else f" LIMIT {int(limit)}"
    rows = store.query(
        f"SELECT rank, path, count, share FROM variants WHERE workflow = ? ORDER BY rank{cap}", [workflow]
    )
    merged: dict[tuple[str, ...], list[float]] = {}
    first_rank: dict[tuple[str, ...], int] = {}
    for rank, path, n, share in rows:
        key = tuple(with_branches([str(x) for x in path], groups))
        acc = merged.setdefault(key, [0, 0.0, 0])
        acc[0] += int(n)
        acc[1] += float(share)
        acc[2] += int(stuck_by_rank.get(rank, 0))
        first_rank.setdefault(key, int(rank))
    if groups:
        total = len(merged)
    else:
        row = store.query("SELECT count(*) FROM variants WHERE workflow = ?", [workflow])
        total = int(row[0][0]) if row else 0
    ordered = sorted(merged, key=lambda k: (-merged[k][0], first_rank[k]))[:limit]
    return [
        Variant(i + 1, list(k), int(merged[k][0]), float(merged[k][1]), int(merged[k][2]))
        for i, k in enumerate(ordered)
    ], total
