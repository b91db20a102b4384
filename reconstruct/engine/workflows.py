"""Workflows: clusters of event types that occur together.

Which choreography an instance belongs to is decided from the set of types it
contains, never from their order, so a skewed clock, a first event lost to
retention or a minority start type cannot split one choreography in several:

1. *core links*: types a and b occur together in more than half of the
   instances of the more frequent of the two (and in at least
   ``MIN_SUPPORT`` instances): they are steps of one choreography. The
   components of core links are the candidate clusters.
2. a smaller candidate whose instances nearly always (``ATTACH_SHARE`` of
   those holding any other candidate's types) also hold a larger candidate's
   types is part of it: failure and compensation paths, minority start
   types, rare steps, the odd noisy type. Into a much larger candidate (a
   side path) its own types or its start types tell (a failure path holds
   where its choreography began, however often it fails); a step it shares
   with another choreography does not (a short choreography running one
   search step of a long one is not its side path).
3. an instance belongs to the cluster holding most of its types (ties: the
   cluster whose types are more its own, a start type rather than a step
   two choreographies share; then the larger cluster). A cluster that ends up with (almost) no instance of its
   own holds types shared by several choreographies (a notification
   service's event): those types vote for no cluster.
4. a workflow declared in ``choreo.toml`` claims the cluster holding most of
   its declared types: every instance of that cluster carries its name (no
   phantom workflow beside it).

Clusters are named later, after ordering (``name_clusters``): after the type
that starts most of their instances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow.compute as pc
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from choreo.core.config import ChoreoConfig
from choreo.reconstruct.engine.arrays import arrow_u64, mix, np_chunks

I64 = npt.NDArray[np.int64]
BOOL2 = npt.NDArray[np.bool_]

MIN_SUPPORT = 3  # instances: fewer is noise, whatever the share
CORE_SHARE = 0.5  # of the more frequent type's instances
ATTACH_SHARE = 0.8  # of the smaller candidate's instances
PURE_SHARE = 0.8  # of a type's instances holding others, those holding its candidate's: its own
START_SHARE = 0.1  # of a candidate's instances beginning with a type: one of its start types
_START_SAMPLE = 5_000  # instances whose first type is looked at
_SAMPLE = 100_000  # instances used to learn the clusters (all of them below that)


@dataclass(frozen=True)
class Clusters:
    """``cluster[i]``: cluster of instance i (0..n-1, larger clusters first);
    ``of_type[t]``: the cluster type t votes for (-1: shared or absent);
    ``named[c]``: the name cluster c must carry (a declared workflow claiming it), if any."""

    cluster: I64
    of_type: I64
    named: list[str | None]

    @property
    def n(self) -> int:
        return len(self.named)


def _sample_rows(k: int) -> I64:
    if k <= _SAMPLE:
        return np.arange(k, dtype=np.int64)
    return np.sort(np.random.default_rng(0).choice(k, _SAMPLE, replace=False)).astype(np.int64)


def _sparse(presence: BOOL2, rows: I64 | None = None) -> csr_matrix:
    """The presence matrix (or these rows of it) as CSR, built directly: the
    row-major nonzeros are the column indices in order."""
    p = presence if rows is None else presence[rows]
    k, t = p.shape
    cols = (np.flatnonzero(p) % max(t, 1)).astype(np.int32)
    indptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.count_nonzero(p, axis=1), out=indptr[1:])
    return csr_matrix((np.ones(cols.size, dtype=np.int32), cols, indptr), shape=(k, t))


def _candidates(x: csr_matrix) -> tuple[I64, int]:
    """Components of core links (types never seen: their own component)."""
    co = (x.T @ x).toarray().astype(np.int64)
    n = np.diag(co).copy()
    big = np.maximum.outer(n, n)
    link = (co > CORE_SHARE * big) & (co >= MIN_SUPPORT)
    np.fill_diagonal(link, False)
    a, b = np.nonzero(link)
    t = n.size
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(t, t))
    n_comp, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64), int(n_comp)


def start_sample(k: int) -> I64:
    """The instances whose first type (by timestamp) ``type_clusters`` wants."""
    if k <= _START_SAMPLE:
        return np.arange(k, dtype=np.int64)
    return np.sort(np.random.default_rng(1).choice(k, _START_SAMPLE, replace=False)).astype(np.int64)


def _start_types(presence: BOOL2, first: I64 | None, labels: I64, n_comp: int) -> BOOL2:
    """``[t, c]``: type t, one of candidate c's, begins at least
    ``START_SHARE`` of the (sampled) instances holding mostly c's types.
    Without first types known, every type of c counts as one."""
    t = labels.size
    mine: BOOL2 = np.asarray(labels[:, None] == np.arange(n_comp)[None, :], dtype=np.bool_)
    if first is None:
        return mine
    rows = np.flatnonzero(first >= 0)
    if rows.size == 0:
        return mine
    member = csr_matrix((np.ones(t, dtype=np.int32), (np.arange(t), labels)), shape=(t, n_comp))
    held = np.asarray((_sparse(presence, rows) @ member).toarray())
    home = np.argmax(held, axis=1)
    counts = np.bincount(first[rows] * n_comp + home, minlength=t * n_comp).reshape(t, n_comp)
    per = np.bincount(home, minlength=n_comp)
    starts: BOOL2 = mine & (counts >= MIN_SUPPORT) & (counts >= START_SHARE * np.maximum(per, 1)[None, :])
    return starts


def _attach(x: csr_matrix, labels: I64, n_comp: int, starts: BOOL2) -> I64:
    """Merge a candidate into a stronger one its instances nearly always involve.

    Stronger: more types (then more instances). A failure path or a minority
    start type joins the choreography it belongs to; a type several
    choreographies share (their instances split among them) joins none, or
    the one it mostly occurs in, never gluing them together."""
    member = csr_matrix(
        (np.ones(labels.size, dtype=np.int32), (np.arange(labels.size), labels)),
        shape=(labels.size, n_comp),
    )
    held = np.asarray((x @ member).toarray())  # sampled instances x candidates: types held
    pres = held > 0
    size = pres.sum(axis=0)
    # A type whose instances, where they hold other types, mostly hold more
    # of its candidate's than of any other's is its own; one often found
    # among more of another candidate's types is shared with another
    # choreography: holding it says nothing about belonging to the
    # candidate. (Alone is no evidence: a saga stuck at its start holds
    # only that.)
    if n_comp > 1:
        top2 = np.sort(held, axis=1)[:, -2:]
        best = np.argmax(held, axis=1)
        other = np.where(best[:, None] == np.arange(n_comp)[None, :], top2[:, :1], top2[:, 1:])
    else:
        other = np.zeros_like(held)
    # Home: an instance holding more of the candidate's types than of any
    # other's; away: more of another's (two types shared together by two
    # choreographies are still shared).
    home = np.asarray((x.T @ csr_matrix(((held >= 2) & (held >= other)).astype(np.int32))).toarray())
    away = np.asarray(
        (x.T @ csr_matrix(((held >= 1) & (held < other) & (other >= 2)).astype(np.int32))).toarray()
    )
    t_idx = np.arange(labels.size)
    h, a = home[t_idx, labels], away[t_idx, labels]
    own = h >= PURE_SHARE * np.maximum(h + a, 1)
    pure = csr_matrix((own.astype(np.int32), (np.arange(labels.size), labels)), shape=(labels.size, n_comp))
    involve = np.asarray((x @ pure).toarray() > 0)  # instances x candidates: holding one of its own types
    # ... or one of its start types: what a side path of it holds.
    rooted = involve | np.asarray((x @ csr_matrix(starts.astype(np.int32))).toarray() > 0)
    n_kinds = np.bincount(labels, minlength=n_comp)
    target = np.arange(n_comp, dtype=np.int64)
    alive = size > 0
    # Passes until nothing merges: a merge can make a candidate what another
    # one's instances hold (a minority start type joining first).
    merged = True
    while merged:
        merged = False
        for c in np.lexsort((-np.arange(n_comp), size, n_kinds)):
            if not alive[c]:
                continue
            # Its instances: those holding its own types (one it shares with
            # another choreography brings that one's instances).
            rows = involve[:, c] if involve[:, c].any() else pres[:, c]
            # Only its instances holding another candidate's types tell where it
            # belongs (a saga whose start was lost to retention may hold only these).
            # Into a much larger candidate (a side path: a failure, a minority
            # start) its own types or its start types tell; into a peer, only
            # its own ones (a type two choreographies share must not glue them).
            side = 2 * n_kinds[c] <= n_kinds
            others = np.where(side[None, :], rooted[rows], involve[rows]) & alive[None, :]
            others[:, c] = False
            informative = int(others.any(axis=1).sum())
            if informative < MIN_SUPPORT:
                continue
            share = others.sum(axis=0) / float(informative)
            stronger = (n_kinds > n_kinds[c]) | ((n_kinds == n_kinds[c]) & (size > size[c]))
            share[~stronger] = 0.0
            # Where two choreographies' types are (nearly) always there (a type
            # they share counts for either), the one whose own types its
            # instances hold: a failure path joins the choreography it fails.
            own = (involve[rows] & alive[None, :]).sum(axis=0) / float(informative)
            d = int(np.lexsort((own, share))[-1])
            if share[d] >= ATTACH_SHARE:
                pres[:, d] |= rows
                involve[:, d] |= involve[:, c]
                rooted[:, d] |= rows
                size[d] = int(pres[:, d].sum())
                n_kinds[d] += n_kinds[c]
                target[c] = d
                alive[c] = False
                merged = True
    # Follow merge chains to their end.
    for _ in range(n_comp):
        nxt = target[target]
        if np.array_equal(nxt, target):
            break
        target = nxt
    return target[labels]


def _assign(
    x: csr_matrix, of_type: I64, n: int, fallback: I64, purity: npt.NDArray[np.float64] | None = None
) -> I64:
    """Cluster holding most of each instance's types; ties to the cluster
    whose types are more its own (``purity[t]``: share of type t's instances
    in its cluster, when known), then to the larger cluster (clusters are
    numbered by size); an instance whose types vote for no cluster:
    ``fallback`` of its last type (by code).

    ``x``: the presence matrix (instances x types) as a sparse matrix; the
    votes are its product with a (type x cluster) matrix of vote weights."""
    t = x.shape[1]
    voters = np.flatnonzero(of_type >= 0)
    weights = csr_matrix(
        (np.ones(voters.size), (voters, of_type[voters])), shape=(t, max(n, 1)), dtype=np.float64
    )
    votes = np.asarray((x @ weights).toarray())
    if purity is not None:
        # A tie between a start type of one choreography and a step two of
        # them share goes to the start type's: below one vote, so only ties move.
        tie = csr_matrix(
            (purity[voters] / (t + 1), (voters, of_type[voters])), shape=(t, max(n, 1)), dtype=np.float64
        )
        votes += np.asarray((x @ tie).toarray())
    best: I64 = np.asarray(np.argmax(votes, axis=1), dtype=np.int64)
    none = np.flatnonzero(votes.max(axis=1) == 0)
    if none.size:
        held = x[none]
        held.sort_indices()
        some = np.diff(held.indptr) > 0
        # The last (largest code) type of each row: indices are sorted per row.
        last = held.indices[held.indptr[1:][some] - 1]
        best[none[some]] = fallback[last]
    return best


def _per_type(x: csr_matrix, cluster: I64, n: int, count: I64 | None = None) -> I64:
    """``[t, c]``: instances of cluster c holding type t (``count[i]``: how
    many instances row i of ``x`` stands for; one each if not given)."""
    ones = np.ones(cluster.size, dtype=np.int64) if count is None else count
    member = csr_matrix(
        (ones, (np.arange(cluster.size), cluster)),
        shape=(cluster.size, max(n, 1)),
    )
    out: I64 = np.asarray((x.T @ member).toarray(), dtype=np.int64)[:, :n]
    return out


def _distinct_rows(presence: BOOL2) -> tuple[BOOL2, I64, I64]:
    """(the distinct rows of ``presence``, each row's index among them, how
    many rows each stands for). Instances holding the same types are
    assigned alike: two million instances are a few thousand type sets."""
    k = presence.shape[0]
    packed = np.packbits(presence, axis=1, bitorder="little")
    words = -(-packed.shape[1] // 8)
    padded = np.zeros((k, words * 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    w64 = padded.view(np.uint64)
    # One word up to 64 types: the key is the set itself; beyond, a hash of the words.
    key = w64[:, 0].copy()
    for j in range(1, words):
        key = mix(key, w64[:, j])
    enc = pc.dictionary_encode(arrow_u64(key))
    inv = np.asarray(np_chunks(enc.indices), dtype=np.int64)
    u = len(enc.dictionary)
    rep = np.empty(u, dtype=np.int64)
    rep[inv[::-1]] = np.arange(k - 1, -1, -1, dtype=np.int64)  # (a row of each: the first)
    count = np.bincount(inv, minlength=u).astype(np.int64)
    return presence[rep], inv, count


def type_clusters(presence: BOOL2, first: I64 | None = None) -> tuple[I64, I64]:
    """(cluster of every type, -1 for shared; cluster of every instance), clusters by size.

    ``first[i]``: the type of instance i's earliest event, for the instances
    of ``start_sample`` (-1 elsewhere), if known."""
    k, t = presence.shape
    if k == 0 or t == 0:
        return np.full(t, -1, dtype=np.int64), np.zeros(k, dtype=np.int64)
    x = _sparse(presence, _sample_rows(k))
    labels, n_comp = _candidates(x)
    labels = _attach(x, labels, n_comp, _start_types(presence, first, labels, n_comp))
    _, inverse = np.unique(labels, return_inverse=True)
    of_type = inverse.astype(np.int64).reshape(-1)
    n = int(of_type.max()) + 1
    rows, inv, count = _distinct_rows(presence)
    every = _sparse(rows)
    # Number candidates by how many events they hold (ties in votes go to the larger).
    held_by_type = np.asarray(every.T @ count, dtype=np.float64)
    weight = np.bincount(of_type, weights=held_by_type, minlength=n)
    by_size = np.empty(n, dtype=np.int64)
    by_size[np.argsort(-weight, kind="stable")] = np.arange(n, dtype=np.int64)
    of_type = by_size[of_type]
    majority = of_type.copy()  # where the instances holding a type mostly go
    cluster = _assign(every, of_type, n, majority)
    for _ in range(3):
        per_type = _per_type(every, cluster, n, count)
        majority = np.where(per_type.max(axis=1) > 0, per_type.argmax(axis=1), majority)
        own = np.bincount(cluster, weights=count, minlength=n)
        voting = np.bincount(of_type[of_type >= 0], minlength=n) > 0
        # A cluster with (almost) no instance of its own while its types occur
        # elsewhere holds shared types: they vote for no one.
        voted = of_type >= 0
        elsewhere = np.bincount(of_type[voted], weights=(majority != of_type)[voted], minlength=n)
        shared = voting & (own < MIN_SUPPORT) & (elsewhere > 0)
        if not shared.any():
            break
        of_type = np.where((of_type >= 0) & shared[np.maximum(of_type, 0)], -1, of_type)
        cluster = _assign(every, of_type, n, majority)
    per_type = _per_type(every, cluster, n, count)
    held = per_type[np.arange(t), np.maximum(of_type, 0)]
    purity = np.where(of_type >= 0, held / np.maximum(per_type.sum(axis=1), 1), 0.0)
    cluster = _assign(every, of_type, n, majority, purity)
    # Renumber by instances held, larger first; clusters left without instances disappear.
    own = np.bincount(cluster, weights=count, minlength=n).astype(np.int64)
    order = np.argsort(-own, kind="stable")
    remap = np.full(n, -1, dtype=np.int64)
    used = order[own[order] > 0]
    remap[used] = np.arange(used.size, dtype=np.int64)
    of_type = np.where(of_type >= 0, remap[np.maximum(of_type, 0)], -1)
    return of_type, remap[cluster][inv]


def clusters(presence: BOOL2, types: list[str], cfg: ChoreoConfig, first: I64 | None = None) -> Clusters:
    """Cluster the instances; declared workflows claim their clusters (``first``: see ``type_clusters``)."""
    of_type, cluster = type_clusters(presence, first)
    n = int(cluster.max()) + 1 if cluster.size else 0
    declared: list[str | None] = [None] * n
    code = {t: i for i, t in enumerate(types)}
    counts = presence.sum(axis=0)
    for name, w in cfg.workflows.items():
        mine = {code[t] for t in (*w.start, *w.steps, *w.terminal, *w.failure, *w.compensation) if t in code}
        if not mine or n == 0:
            continue
        votes = np.zeros(n, dtype=np.int64)
        for t in mine:
            if of_type[t] >= 0:
                votes[of_type[t]] += int(counts[t])
        if votes.max() > 0:
            c = int(np.argmax(votes))
            if declared[c] is None:
                declared[c] = name
    return Clusters(cluster, of_type, declared)


def name_clusters(cl: Clusters, first_type: I64, types: list[str]) -> tuple[I64, list[str]]:
    """(workflow of each instance, workflow names): the declared name, else the
    type that starts most of the cluster's instances. Declared workflows that
    match no instance are listed too (they are part of the model)."""
    n = cl.n
    names: list[str] = []
    taken: set[str] = set()
    for c in range(n):
        if cl.named[c] is not None:
            taken.add(str(cl.named[c]))
    n_types = len(types)
    firsts = np.bincount(cl.cluster * n_types + first_type, minlength=n * n_types).reshape(n, n_types)
    for c in range(n):
        d = cl.named[c]
        if d is not None:
            names.append(d)
            continue
        name = "workflow"
        for t in np.argsort(-firsts[c], kind="stable"):
            if firsts[c, t] == 0:
                break
            if types[int(t)] not in taken:
                name = types[int(t)]
                break
        base, i = name, 2
        while name in taken:
            name, i = f"{base} ({i})", i + 1
        taken.add(name)
        names.append(name)
    return cl.cluster.copy(), names
