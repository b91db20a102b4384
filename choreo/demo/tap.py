"""Collecting a run of the example services: choreo's own live collector in a
thread, tapping the choreography's topics while the services run, with the
services' consumer groups sampled for lag explanations."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable

from choreo.collector.extract import Extractor
from choreo.collector.group_offsets import GroupOffsetSampler, write_sample
from choreo.collector.kafka_tap import Collector, CollectSettings
from choreo.collector.settings import service_groups, topic_pattern
from choreo.core.config import ChoreoConfig
from choreo.core.errors import ChoreoError
from choreo.core.progress import CollectProgress, CollectStats
from choreo.core.store import Store

DEMO_GROUP = "choreo-demo"


def collect_settings(
    bootstrap: str, topics: Iterable[str], config: ChoreoConfig, *, group: str = DEMO_GROUP, prefix: str = ""
) -> CollectSettings:
    """How the demo collects: these topics from the start, small batches, the
    services' groups sampled often (runs last seconds, not hours)."""
    names = sorted(set(topics))
    return CollectSettings(
        bootstrap=bootstrap,
        topics="|".join(re.escape(t) for t in names),
        group=group,
        start="earliest",
        batch_seconds=0.2,
        progress_interval=0.2,
        services=service_groups(config, prefix),
        group_sample_interval=0.5,
        metadata_refresh_ms=1000,
        # Quick group membership: the embedded cluster waits out the session timeout on rebalances.
        extra={"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"},
    )


class Tap:
    """Runs a Collector over ``topics`` in a background thread until stopped.

    The thread owns the store's connection while it runs; read the store only
    after ``stop()``.
    """

    def __init__(
        self,
        bootstrap: str,
        topics: Iterable[str],
        store: Store,
        config: ChoreoConfig,
        *,
        group: str = DEMO_GROUP,
        prefix: str = "",
    ) -> None:
        self.settings = collect_settings(bootstrap, topics, config, group=group, prefix=prefix)
        self._store = store
        self.collector = Collector(
            self.settings, store, Extractor(config.extract), on_progress=self._progress
        )
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._consumed = 0
        self._stats: CollectStats | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="choreo-demo-collector", daemon=True)

    def _progress(self, p: CollectProgress) -> None:
        with self._lock:
            self._consumed = p.consumed

    def _run(self) -> None:
        try:
            self._stats = self.collector.run(self._stop)
        except BaseException as exc:
            self._error = exc

    @property
    def consumed(self) -> int:
        with self._lock:
            return self._consumed

    def start(self) -> None:
        self._thread.start()

    def wait_for(self, records: int, timeout: float) -> bool:
        """Wait until the collector has read at least ``records`` records."""
        deadline = time.monotonic() + timeout
        while self.consumed < records:
            if self._error is not None or not self._thread.is_alive() or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> CollectStats:
        """Finish the batch, commit, take a last sample of the services' groups,
        and return the collector's statistics."""
        self._stop.set()
        self._thread.join()
        if self._error is not None:
            if isinstance(self._error, ChoreoError):
                raise self._error
            raise RuntimeError(f"the demo's collector failed: {self._error!r}") from self._error
        assert self._stats is not None
        s = self.settings
        if s.services:
            # The periodic sampler may have last looked before the services settled.
            sampler = GroupOffsetSampler(s.admin_config(), s.services, topic_pattern(s.topics), 1.0)
            write_sample(self._store, sampler.sample_once())
        return self._stats
