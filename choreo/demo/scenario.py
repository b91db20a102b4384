"""A run of the example choreographies: which ones, how many instances, which faults, which seed.

Instance ``i`` of a workflow starts at a fixed simulated time derived from
the seed, so both drivers start the same instances in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from choreo.demo import orders, signups, videos
from choreo.demo.faults import DEFAULT_MIX, DemoError, FaultPlan
from choreo.demo.runtime import Choreography, ServiceSpec, stable_rng

PARTITIONS = 3
POISON_SERVICE = "legacy-bridge"
POISON_TOPICS = ("payments", "orders", "users", "videos")

BUILDERS: dict[str, Callable[[FaultPlan, int], Choreography]] = {
    orders.WORKFLOW: orders.build,
    signups.WORKFLOW: signups.build,
    videos.WORKFLOW: videos.build,
}
ALL_WORKFLOWS = tuple(BUILDERS)


@dataclass(frozen=True)
class Scenario:
    seed: int = 7
    instances: int = 100  # per workflow
    workflows: tuple[str, ...] = ALL_WORKFLOWS
    faults: FaultPlan = field(default_factory=lambda: DEFAULT_MIX)
    spacing_ms: int = 5000  # mean simulated time between two starts of one workflow

    @property
    def window_ms(self) -> int:
        """Simulated time over which the instances start."""
        return self.instances * self.spacing_ms

    def start_offset_ms(self, workflow: str, index: int) -> int:
        """When instance ``index`` starts, relative to the run's start (keeps going past ``instances``)."""
        jitter = stable_rng(self.seed, "start", workflow, index).random()
        return int((index + jitter) * self.spacing_ms)

    def choreographies(self) -> list[Choreography]:
        """Fresh choreographies (service state is per run)."""
        return [BUILDERS[w](self.faults, self.instances) for w in self.workflows]

    def topics(self) -> list[str]:
        out = [t for c in self.choreographies() for t in c.topics]
        if self.faults.poison:
            out += [t for t in POISON_TOPICS if t not in out]
        return out

    def validate(self) -> None:
        unknown = [w for w in self.workflows if w not in BUILDERS]
        if unknown:
            raise DemoError(f"no example workflow {unknown[0]!r} (workflows: {', '.join(BUILDERS)})")
        if self.instances < 1:
            raise DemoError(f"--instances must be at least 1, got {self.instances}")
        self.faults.validate(service_names(self.choreographies()))

    def stall_index(self, service: str) -> int | None:
        """Instances from this index on get no reaction from ``service``."""
        stall = self.faults.stall_of(service)
        return None if stall is None else int(stall.at * self.instances)

    def poison_schedule(self) -> list[tuple[int, str, int, str]]:
        """(offset ms, topic, partition, kind) of each poison record."""
        from choreo.demo.formats import POISON_KINDS

        out = []
        n = self.faults.poison
        for i in range(n):
            rng = stable_rng(self.seed, "poison", i)
            topic = POISON_TOPICS[i % len(POISON_TOPICS)]
            out.append(
                (int(self.window_ms * (i + 0.5) / n), topic, rng.randrange(PARTITIONS), POISON_KINDS[i % 4])
            )
        return out


def service_names(choreographies: Iterable[Choreography]) -> list[str]:
    names = []
    for c in choreographies:
        names.append(c.entry_service)
        names += [s.name for s in c.services]
    return names


def all_services(choreographies: Iterable[Choreography]) -> list[ServiceSpec]:
    return [s for c in choreographies for s in c.services]
