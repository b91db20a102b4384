"""Workflows as clusters of types (``workflows.type_clusters``), on hand-made
type sets: what a type two choreographies share may and may not decide."""

from __future__ import annotations

import numpy as np

from choreo.reconstruct.engine.workflows import type_clusters


def _presence(rows: list[list[int]], n_types: int) -> np.ndarray:
    p = np.zeros((len(rows), n_types), dtype=bool)
    for i, r in enumerate(rows):
        p[i, r] = True
    return p


def test_a_failure_path_joins_the_choreography_whose_own_types_it_holds_not_a_shared_types() -> None:
    """Choreography A (60 instances): a0..a4 and s, a type it shares with B.
    Choreography B (40): b0..b7 and s; 10 of them fail after b2 (f0, f1).
    Every failed instance holds s, counted among A's types, and B's own b0..b2:
    the failure path is B's. Joined to A, it took B's failed instances with it
    as A's, and A was then merged into B through them (trafficgen seed 116 at
    stall_rate 0.08: two of three workflows found, 795 completed instances
    called compensated)."""
    a = [0, 1, 2, 3, 4]
    s = 5
    b = list(range(6, 14))
    f = [14, 15]
    rows = [[*a, s] for _ in range(60)] + [[*b, s] for _ in range(30)] + [[*b[:3], s, *f] for _ in range(10)]
    of_type, cluster = type_clusters(_presence(rows, 16))
    assert of_type[f[0]] == of_type[f[1]] == of_type[b[0]]
    assert of_type[a[0]] != of_type[b[0]]
    assert len(set(cluster[:60].tolist())) == 1 and set(cluster[60:].tolist()) == {cluster[60]}
    assert cluster[0] != cluster[60]


def test_two_choreographies_sharing_two_types_stay_apart() -> None:
    """Leases (55 instances: l0..l7) and invoices (45: i0..i7) both have a
    document packed and an email rendered (d, e), each by one service for
    both. d and e occur together in every instance, so an invoice holds two
    of the leases' candidate types: counted as a lease's own instance, they
    made d and e the leases' own types and merged the invoices into the
    leases (trafficgen seed 150: two workflows of three, "expected" 0.89).
    Four failed invoices (f) join the invoices."""
    lease = list(range(8))
    invoice = list(range(8, 16))
    d, e, f = 16, 17, 18
    rows = (
        [[*lease, d, e] for _ in range(55)]
        + [[*invoice, d, e] for _ in range(41)]
        + [[*invoice[:3], f] for _ in range(4)]
    )
    of_type, cluster = type_clusters(_presence(rows, 19))
    assert of_type[lease[0]] != of_type[invoice[0]]
    assert of_type[f] == of_type[invoice[0]]
    assert set(cluster[:55].tolist()) == {cluster[0]}
    assert set(cluster[55:].tolist()) == {cluster[55]} != {cluster[0]}


def test_a_tie_goes_to_the_cluster_whose_type_is_its_own() -> None:
    """Claims (80 instances: c0..c5 and u, a step both choreographies run)
    and enrollments (50: e0..e4 and u). Three enrollments stall right after
    their start with only e0 and u: one vote each. Counted by size, the tie
    went to the claims; e0 is the enrollments' alone while u is shared, so
    they are enrollments (trafficgen seed 9005: three stuck enrollments
    explained with the claims' next step, "expected" 0.97)."""
    claim = list(range(6))
    enrol = list(range(6, 11))
    u = 11
    rows = (
        [[*claim, u] for _ in range(80)]
        + [[*enrol, u] for _ in range(47)]
        + [[enrol[0], u] for _ in range(3)]
    )
    of_type, cluster = type_clusters(_presence(rows, 12))
    assert of_type[claim[0]] != of_type[enrol[0]]
    assert set(cluster[80:].tolist()) == {cluster[80]} != {cluster[0]}


def test_a_short_choreography_running_a_long_ones_step_is_not_its_side_path() -> None:
    """Payouts (50 instances: p0..p9 and a search step s in their middle)
    and visits (40: v0..v3 and the same s). Twenty payouts fail right after
    p0 (f0, f1): so many that p0 is not the payouts' own type by the share
    rule, and the failure path joins through where the payouts begin. The
    visits hold s, a payout step, and no payout start: with any payout type
    telling, they were taken for a side path of the payouts (our trafficgen
    seed 903, short window: two workflows of three, status 89.5 %)."""
    p = list(range(10))
    s = 10
    v = [11, 12, 13, 14]
    f = [15, 16]
    rows = (
        [[*p[:5], s, *p[5:]] for _ in range(50)]
        + [[*v[:2], s, *v[2:]] for _ in range(40)]
        + [[p[0], *f] for _ in range(20)]
    )
    first = np.array([p[0]] * 50 + [v[0]] * 40 + [p[0]] * 20, dtype=np.int64)
    of_type, cluster = type_clusters(_presence(rows, 17), first)
    assert of_type[v[0]] != of_type[p[0]]
    assert of_type[f[0]] == of_type[f[1]] == of_type[p[0]]
    assert set(cluster[:50].tolist()) == set(cluster[90:].tolist()) == {cluster[0]}
    assert set(cluster[50:90].tolist()) == {cluster[50]} != {cluster[0]}
