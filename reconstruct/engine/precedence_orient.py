"""Which event types are neighbours in a workflow, and which of two
neighbours comes first, without trusting cross-host timestamps.

*Neighbours*: for two types that follow one another the spread of their
time difference is that of one step's latency; for types further apart it
is the sum of the steps' spreads. A clock offset shifts a difference but
never changes its spread, so a minimum spanning tree over the spreads links
each type to its neighbour (types named as causes by causation ids are
neighbours for sure; rare types hang on the tree of the frequent ones).

*Direction* of each link, from evidence weighted by how certain it is:
causation ids and the Kafka position (same topic-partition) first; then the
order of two types emitted by the same producer (one clock); then the shape
of the difference (a latency has its long tail to the right); then the
order of cross-host timestamps, the weakest. The orientation (one root,
then single links flipped where that agrees better) is the one the evidence
supports best, counting also certain evidence about types that are not
neighbours (lightly: a misplaced neighbour must not turn a link around).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import minimum_spanning_tree

from choreo.reconstruct.engine.precedence_pairs import F64, I64, MIN_SUPPORT, Pairs

SKELETON_SHARE = 0.2  # types this frequent (vs the most frequent) shape the tree
_W_HARD, _W_SAME, _W_SHAPE, _W_RAW = 10.0, 4.0, 2.0, 1.0
_W_HARD_PATH = 3.0  # causation or Kafka position between types that are not neighbours
_W_SAME_PATH = 0.5  # same producer, types not neighbours: a hint


@dataclass
class Evidence:
    """Per ordered type pair (a before b) of one cluster: votes in [-1, 1] and weights."""

    local: dict[tuple[int, int], float]  # for links: score of a -> b (antisymmetric)
    certain: dict[tuple[int, int], float]  # a before b, weight (one entry per certain pair)
    hard: dict[tuple[int, int], tuple[int, int]]  # (agreeing, total) for a -> b


def evidence(p: Pairs, rows: I64, svc_of: dict[int, int], caus: dict[int, int], c: int, nt: int) -> Evidence:
    local: dict[tuple[int, int], float] = {}
    certain: dict[tuple[int, int], float] = {}
    hard: dict[tuple[int, int], tuple[int, int]] = {}
    for r in rows.tolist():
        a, b, n = int(p.a[r]), int(p.b[r]), int(p.n[r])
        ab = caus.get((c * nt + a) * nt + b, 0) + int(p.part_ab[r])
        ba = caus.get((c * nt + b) * nt + a, 0) + int(p.part_ba[r])
        sign = (int(p.pos[r]) - int(p.neg[r])) / max(n, 1)
        score = 0.0
        if ab + ba:
            score += _W_HARD * (ab - ba) / (ab + ba) * min(1.0, (ab + ba) / MIN_SUPPORT)
            hard[(a, b)] = (ab, ab + ba)
            hard[(b, a)] = (ba, ab + ba)
            if ab + ba >= MIN_SUPPORT and max(ab, ba) >= 0.9 * (ab + ba):
                certain[(a, b) if ab > ba else (b, a)] = _W_HARD_PATH
        same = svc_of.get(a, -1) == svc_of.get(b, -2)
        if same:
            score += _W_SAME * sign
            if n >= MIN_SUPPORT and abs(sign) >= 0.8 and (a, b) not in certain and (b, a) not in certain:
                certain[(a, b) if sign > 0 else (b, a)] = _W_SAME_PATH
        else:
            score += _W_RAW * sign
        # Kelly's skewness has a standard error of about 1.5 / sqrt(n): it votes
        # from a hundred pairs on, in full at five times that.
        if n >= 100:
            score += _W_SHAPE * float(np.clip(p.shape[r] * np.sqrt(n) / 7.5, -1.0, 1.0))
        local[(a, b)] = score
        local[(b, a)] = -score
    return Evidence(local, certain, hard)


def spanning_tree(w: F64, counts: I64) -> list[tuple[int, int]]:
    """A spanning forest: the minimum spanning tree of the frequent types (in at
    least ``SKELETON_SHARE`` of the most frequent one's instances), then each
    rarer type joins where it is nearest (Prim's algorithm from the skeleton).
    A rare type's spread comes from few instances: it must not reshape the
    skeleton."""
    frequent = counts >= SKELETON_SHARE * counts.max()
    idx = np.flatnonzero(frequent)
    sub = w[np.ix_(idx, idx)]
    mst = minimum_spanning_tree(sub).tocoo()
    edges = [(int(idx[i]), int(idx[j])) for i, j in zip(mst.row, mst.col, strict=True)]
    placed = frequent.copy()
    sym = np.where(w > 0, w, w.T)
    sym = np.where(sym > 0, sym, np.inf)
    # Prim's algorithm from the skeleton: the nearest unplaced type joins next.
    while not placed.all():
        cand = np.where(placed[:, None] & ~placed[None, :], sym, np.inf)
        u, v = np.unravel_index(int(np.argmin(cand)), cand.shape)
        if not np.isfinite(cand[u, v]):
            break  # the rest links to nothing placed (a separate component)
        edges.append((int(u), int(v)))
        placed[v] = True
    return edges


def _reach(parent_of: dict[int, list[int]], nodes: list[int]) -> dict[int, set[int]]:
    """Ancestors of every node in the directed graph given by parents."""
    memo: dict[int, set[int]] = {}

    def anc(v: int, seen: frozenset[int]) -> set[int]:
        if v in memo:
            return memo[v]
        out: set[int] = set()
        for u in parent_of.get(v, []):
            if u in seen:
                continue
            out.add(u)
            out |= anc(u, seen | {v})
        memo[v] = out
        return out

    for v in nodes:
        anc(v, frozenset())
    return memo


def _score(edges: list[tuple[int, int]], ev: Evidence, nodes: list[int]) -> float:
    parent_of: dict[int, list[int]] = {}
    for u, v in edges:
        parent_of.setdefault(v, []).append(u)
    anc = _reach(parent_of, nodes)
    total = sum(ev.local.get(e, 0.0) for e in edges)
    for (a, b), w in ev.certain.items():
        if a in anc.get(b, ()):
            total += w
        elif b in anc.get(a, ()):
            total -= w
    return total


def orient(tree: list[tuple[int, int]], nodes: list[int], ev: Evidence) -> list[tuple[int, int]]:
    """Orient the tree's links: the best single root, then single flips that agree better."""
    adj: dict[int, list[int]] = {v: [] for v in nodes}
    for u, v in tree:
        adj[u].append(v)
        adj[v].append(u)
    best: list[tuple[int, int]] = []
    best_score = -np.inf
    for root in nodes:
        seen, stack, edges = {root}, [root], []
        while stack:
            u = stack.pop()
            for v in adj[u]:
                if v not in seen:
                    seen.add(v)
                    edges.append((u, v))
                    stack.append(v)
        sc = _score(edges, ev, nodes)
        if sc > best_score + 1e-9:
            best, best_score = edges, sc
    improved = True
    rounds = 0
    while improved and rounds < 3 * len(best) + 1:
        improved = False
        rounds += 1
        for i, (u, v) in enumerate(best):
            trial = [*best[:i], (v, u), *best[i + 1 :]]
            sc = _score(trial, ev, nodes)
            if sc > best_score + 1e-9:
                best, best_score, improved = trial, sc, True
    return best
