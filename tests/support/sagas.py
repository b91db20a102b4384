"""Small choreographies played out in true time, with their ground truth, for
the property tests of ordering, model and status: a workflow is a tree of
steps (each step reacts to its parent: a chain, parallel branches, an
alternative), each service stamps its own clock (offset per service),
latencies are log-normal, only some services carry a causation id.

Records go through the real extraction and store (``saga_builder.Log``); the
truth says, per instance, which record is which step and when it truly
happened, so tests check verdicts record by record.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.saga_builder import T0, Log

Coord = tuple[str, int, int]


@dataclass(frozen=True)
class Step:
    type: str
    service: str
    median_ms: float
    parent: int | None = None  # the step it reacts to (None: the start)
    alternative_to: int | None = None  # taken instead of that step (same parent), at ``rate``
    rate: float = 0.0
    causation: bool = False  # its service stamps the cause's event id


@dataclass
class Instance:
    key: str
    records: list[tuple[Coord, int, int]] = field(default_factory=list)  # (coord, step, true ms)
    cause: dict[Coord, Coord] = field(default_factory=dict)

    def true_order(self) -> list[Coord]:
        return [c for c, _s, _t in sorted(self.records, key=lambda r: (r[2], r[1]))]


@dataclass
class Saga:
    """One workflow: its steps (index 0 is the start) and the clocks of its services."""

    steps: list[Step]
    skew: dict[str, int] = field(default_factory=dict)
    sigma: float = 0.8
    partitions: int = 3
    prefix: str = "inst"

    def play(
        self, log: Log, n: int, rng: random.Random, *, start_ms: int = T0, every_ms: int = 5_000
    ) -> list[Instance]:
        """``n`` instances, one started every ``every_ms``; the records go to ``log``."""
        out = []
        for i in range(n):
            key = f"{self.prefix}-{i}"
            inst = Instance(key)
            at: dict[int, int] = {0: start_ms + i * every_ms}
            for j, step in enumerate(self.steps):
                if j == 0 or step.alternative_to is not None or step.parent not in at:
                    continue  # (an alternative is decided with its twin)
                chosen = j
                for k, alt in enumerate(self.steps):
                    if alt.alternative_to == j and rng.random() < alt.rate:
                        chosen = k
                        break
                lat = self.steps[chosen].median_ms * math.exp(rng.gauss(0.0, self.sigma))
                at[chosen] = at[step.parent] + max(1, int(lat))
            coords: dict[int, Coord] = {}
            for j in sorted(at, key=lambda j: (at[j], j)):
                step = self.steps[j]
                cause = step.parent if step.causation else None
                c = log.event(
                    step.service,
                    step.type,
                    at[j] + self.skew.get(step.service, 0),
                    service=step.service,
                    eid=f"{key}-{j}",
                    cause=f"{key}-{cause}" if cause is not None else None,
                    key=key,
                    partition=i % self.partitions,
                    sagaRef=key,
                )
                coords[j] = c
                inst.records.append((c, j, at[j]))
            for j, c in coords.items():
                parent = self.steps[j].parent
                if parent is not None and parent in coords:
                    inst.cause[c] = coords[parent]
            out.append(inst)
        return out


def store(log: Log, path: Path) -> Path:
    return log.store(path)
