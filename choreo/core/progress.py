"""What a running collector reports: shared by the collector, which fills
them, and the command line and dashboard, which show them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CollectProgress:
    """A snapshot for progress displays (called every ``progress_interval``)."""

    consumed: int  # records read from Kafka this run
    stored: int  # records new to the store this run
    rate: float  # records/s over the last interval
    lag: int | None  # records behind the high watermarks of our partitions; None if unknown
    partitions: int  # partitions currently assigned to us
    connected: bool  # False while the cluster is unreachable
    elapsed: float


@dataclass
class CollectStats:
    consumed: int = 0
    stored: int = 0  # new to the store (replays excluded)
    poison: int = 0
    batches: int = 0
    commits: int = 0
    commit_failures: int = 0
    outages: int = 0  # times the cluster became unreachable mid-run
    rebalances: int = 0
    elapsed: float = 0.0  # whole run, seconds
    active: float = 0.0  # start until the last record was stored, seconds
    stopped_by: str = ""  # signal | idle
    errors: list[str] = field(default_factory=list)
