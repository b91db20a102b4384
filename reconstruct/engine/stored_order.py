"""Clock offsets and learned precedence as the last rebuild stored them
(``clock_offsets``, ``model_precedence``), for the instances a live update
rebuilds: ordered by what the whole log taught, not relearnt from the few
instances in scope (which would give each update its own clocks)."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import numpy.typing as npt

from choreo.reconstruct.engine.precedence import ClockOffset, Link, Precedence, learned_parents
from choreo.reconstruct.engine.precedence_dag import MAX_LATEST

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class StoredLink:
    workflow: str
    parent: str
    child: str
    support: int
    share: float
    evidence: str
    enforced: bool
    latest: bool = True
    rank: int = 0
    cause: bool = False
    block: bool = False


@dataclass(frozen=True)
class StoredOrder:
    offsets: list[ClockOffset] = field(default_factory=list)
    links: list[StoredLink] = field(default_factory=list)

    @staticmethod
    def load(con: duckdb.DuckDBPyConnection) -> StoredOrder:
        offsets = [
            ClockOffset(str(s), int(e), int(a), int(p), str(st))
            for s, e, a, p, st in con.execute(
                "SELECT service, estimate_ms, applied_ms, pairs, status FROM clock_offsets ORDER BY service"
            ).fetchall()
        ]
        links = [
            StoredLink(w, a, b, int(n), float(sh), ev, bool(en), bool(la), int(rk), bool(ca), bool(bl))
            for w, a, b, n, sh, ev, en, la, rk, ca, bl in con.execute(
                "SELECT workflow, parent_type, child_type, support, share, evidence, enforced, latest, rank, "
                "is_cause, block FROM model_precedence ORDER BY ALL"
            ).fetchall()
        ]
        return StoredOrder(offsets, links)

    def precedence(
        self,
        comp: I64,
        cluster: I64,
        typ: I64,
        parent: I64,
        original: BOOL,
        *,
        workflows: list[str | None],
        types: list[str],
        services: list[str],
        ts: I64 | None = None,
    ) -> Precedence:
        """The stored order for these events: ``cluster`` per instance,
        ``workflows[c]`` the name of cluster c (the stored model's)."""
        applied = {o.service: o.applied_ms for o in self.offsets}
        clock = np.array([applied.get(s, 0) for s in services], dtype=np.int64)
        c_of = {w: c for c, w in enumerate(workflows) if w is not None}
        t_of = {t: i for i, t in enumerate(types)}
        links = [
            Link(
                c_of[lk.workflow],
                t_of[lk.parent],
                t_of[lk.child],
                lk.support,
                lk.share,
                lk.evidence,
                lk.enforced,
                lk.latest,
                lk.rank,
                lk.cause,
                lk.block,
            )
            for lk in self.links
            if lk.workflow in c_of and lk.parent in t_of and lk.child in t_of
        ]
        prec = Precedence(clock=clock, offsets=list(self.offsets), links=links)
        if comp.size and cluster.size:
            # (a type's events share their producer's clock: raw times order them)
            prec.learned = learned_parents(comp, cluster, typ, parent, original, links, len(types), ts)
        else:
            prec.learned = np.full((MAX_LATEST, comp.size), -1, dtype=np.int64)
        return prec
