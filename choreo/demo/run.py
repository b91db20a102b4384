"""`choreo demo` without the command line: start the embedded cluster, run the
example services with their faults, collect them with choreo's collector,
reconstruct, and leave the store, its config and the ground truth behind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from choreo.core.config import ChoreoConfig
from choreo.core.errors import NotAStoreError, StoreError
from choreo.core.progress import CollectStats
from choreo.core.store import Store
from choreo.demo.embedded_cluster import EmbeddedCluster
from choreo.demo.faults import DemoError
from choreo.demo.kafka_driver import LiveRun, LiveSettings
from choreo.demo.scenario import PARTITIONS, Scenario
from choreo.demo.services_toml import config_toml, demo_config
from choreo.demo.tap import Tap
from choreo.demo.truth import write_truth
from choreo.reconstruct.engine.pipeline import RebuildStats, judge, rebuild

log = logging.getLogger(__name__)

DEMO_META = "demo_seed"
RUN_TIMEOUT_S = 60.0  # the services normally settle within seconds
SETTLE_LIMIT_S = 8.0  # at most this long waiting for stuck sagas to become overdue
JUDGE_EVERY_S = 0.5
KEEP_RUNNING_SLOWER = 5.0


@dataclass(frozen=True)
class DemoPaths:
    db: Path
    config: Path
    truth: Path

    @classmethod
    def for_db(cls, db: str | Path) -> DemoPaths:
        p = Path(db)
        stem = p.with_suffix("") if p.suffix == ".duckdb" else p
        return cls(p, Path(f"{stem}.toml"), Path(f"{stem}.truth.json"))


@dataclass
class DemoResult:
    paths: DemoPaths
    bootstrap: str
    truth: dict[str, Any]
    collect: CollectStats
    rebuild: RebuildStats
    stuck_seen: int  # stuck instances choreo reports
    seconds: float


def _clear_previous(paths: DemoPaths) -> None:
    """Remove an earlier demo's store; refuse to touch any other file."""
    if not paths.db.exists():
        return
    with Store.open(paths.db) as store:
        made_by_demo = store.get_meta(DEMO_META) is not None
        empty = store.count_events() == 0
    if not made_by_demo and not empty:
        raise NotAStoreError(
            f"{paths.db} holds a choreo store that `choreo demo` did not make; use --db to pick another file"
        )
    paths.db.unlink()
    wal = paths.db.with_name(paths.db.name + ".wal")
    if wal.exists():
        wal.unlink()


def _truth_stuck(run: LiveRun) -> int:
    return sum(c["stuck"] for c in run.truth.counts().values())


class Demo:
    """One demo run; ``run()`` does everything up to the reconstructed store
    (closed when it returns). The cluster and the services stay up until
    ``close()``; ``keep_running()`` starts new sagas continuously meanwhile.
    """

    def __init__(
        self,
        scenario: Scenario,
        db: str | Path,
        *,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        scenario.validate()
        self.scenario = scenario
        self.paths = DemoPaths.for_db(db)
        self.progress = progress or (lambda _text: None)
        self.choreographies = scenario.choreographies()
        self.config: ChoreoConfig = demo_config(self.choreographies, compressed_time=True)
        self.topics = scenario.topics()
        self.cluster: EmbeddedCluster | None = None
        self.live: LiveRun | None = None
        self._continued = False

    def run(self) -> DemoResult:
        t0 = time.monotonic()
        _clear_previous(self.paths)
        topics = self.topics
        self.cluster = EmbeddedCluster(1)
        try:
            for t in topics:
                self.cluster.create_topic(t, PARTITIONS)
            return self._run(topics, t0)
        except BaseException:
            self.close()
            raise

    def _run(self, topics: list[str], t0: float) -> DemoResult:
        assert self.cluster is not None
        bootstrap = self.cluster.bootstrap
        self.paths.config.write_text(config_toml(self.choreographies, compressed_time=True), encoding="utf-8")
        run = LiveRun(self.scenario, LiveSettings(bootstrap))
        self.live = run
        with Store.open(self.paths.db) as store:
            store.set_meta(DEMO_META, str(self.scenario.seed))
            tap = Tap(bootstrap, topics, store, self.config)
            tap.start()
            run.start()
            try:
                self._wait_for_services(run, tap)
            finally:
                stats = tap.stop()
            now = int(time.time() * 1000)
            self.progress("reconstructing...")
            rb = rebuild(store, self.config, now_ms=now)
            seen = self._settle(store, run, rb.stuck)
            now = int(store.get_meta("reconstruct_now_ms") or now)
            truth = run.truth_json(now_ms=now, bootstrap=bootstrap)
            write_truth(self.paths.truth, truth)
            store.checkpoint()
        return DemoResult(self.paths, bootstrap, truth, stats, rb, seen, time.monotonic() - t0)

    def _wait_for_services(self, run: LiveRun, tap: Tap) -> None:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not run.quiescent():
            if run.failed:
                run.stop()  # re-raises the service's failure
            if time.monotonic() > deadline:
                raise DemoError(f"the example services did not settle within {RUN_TIMEOUT_S:.0f}s")
            counts = run.truth.counts()
            started = sum(sum(c.values()) for c in counts.values())
            total = self.scenario.instances * len(self.scenario.workflows)
            self.progress(
                f"running: {min(started, total)}/{total} sagas started, {tap.consumed} events collected"
            )
            time.sleep(0.25)
        target = run.truth.n_records()
        if not tap.wait_for(target, RUN_TIMEOUT_S):
            raise DemoError(f"the collector read {tap.consumed} of {target} records")
        self.progress(f"collected {tap.consumed} events")

    def _settle(self, store: Store, run: LiveRun, stuck: int) -> int:
        """Stuck sagas are only stuck once overdue: give the last ones a few seconds (bounded)."""
        expected = _truth_stuck(run)
        deadline = time.monotonic() + SETTLE_LIMIT_S
        while stuck < expected and time.monotonic() < deadline:
            self.progress(f"waiting for stalled sagas to become overdue ({stuck}/{expected} stuck)...")
            time.sleep(JUDGE_EVERY_S)
            stuck = judge(store, self.config, int(time.time() * 1000))
        return stuck

    def keep_running(self) -> str:
        """Keep starting sagas (same faults, at a fifth of the run's rate: watchable,
        and light on the machine) until close(); returns the bootstrap address."""
        if self.live is None or self.cluster is None:
            raise DemoError("the demo is not running")
        self.live.continue_forever(slower=KEEP_RUNNING_SLOWER)
        self._continued = True
        return self.cluster.bootstrap

    def close(self) -> None:
        """Stop the services and the cluster; after keep_running(), rewrite the
        ground truth to cover every saga started (unfinished ones: running)."""
        try:
            if self.live is not None:
                live, self.live = self.live, None
                live.stop()
                if self._continued and self.cluster is not None:
                    bootstrap = self.cluster.bootstrap
                    write_truth(
                        self.paths.truth, live.truth_json(now_ms=int(time.time() * 1000), bootstrap=bootstrap)
                    )
        finally:
            if self.cluster is not None:
                cluster, self.cluster = self.cluster, None
                cluster.close()


def check_db_path(db: str | Path) -> None:
    p = Path(db)
    if p.exists() and p.is_dir():
        raise StoreError(f"{p} is a directory; --db wants a file")
