"""Workflows are clusters of event types that occur together, named after the
type that starts most of their instances (or the declared name): swept with
hypothesis over skewed clocks, a minority start type, starts lost to
retention and a type several workflows share."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.saga_builder import T0, Log
from tests.support.sagas import Instance, Saga, Step

SWEEP = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _workflow(name: str, shared: bool, alt_rate: float) -> Saga:
    steps = [
        Step(f"{name}Opened", f"{name}-front", 0.0),
        Step(f"{name}Checked", f"{name}-check", 60.0, parent=0),
        Step(f"{name}Done", f"{name}-front", 90.0, parent=1),
    ]
    if alt_rate:
        steps.append(Step(f"{name}Imported", f"{name}-front", 0.0))  # a second start type, see below
    if shared:
        steps.append(Step("Notified", "notifier", 40.0, parent=1))  # every workflow notifies
    saga = Saga(steps, prefix=name)
    return saga


def _play(
    saga: Saga, log: Log, n: int, rng: random.Random, alt_rate: float, cut_rate: float
) -> list[Instance]:
    """Some instances start with the minority start type, some lost their start to retention."""
    plain = Saga([s for s in saga.steps if not s.type.endswith("Imported")], saga.skew, prefix=saga.prefix)
    scratch = Log()
    instances = plain.play(scratch, n, rng)
    for inst in instances:
        records = sorted(inst.records, key=lambda r: r[2])
        for k, (_c, step, t) in enumerate(records):
            etype, svc = plain.steps[step].type, plain.steps[step].service
            if k == 0 and rng.random() < cut_rate:
                continue  # deleted by retention
            if k == 0 and rng.random() < alt_rate:
                etype = etype.replace("Opened", "Imported")
            log.event(svc, etype, t + saga.skew.get(svc, 0), service=svc, key=inst.key, n=k)
    return instances


@SWEEP
@given(
    n_workflows=st.integers(1, 3),
    shared=st.booleans(),
    alt_rate=st.sampled_from([0.0, 0.15, 0.3]),
    cut_rate=st.sampled_from([0.0, 0.1]),
    skew=st.integers(0, 400),
    seed=st.integers(0, 1000),
)
def test_one_workflow_per_choreography_named_after_its_start(
    n_workflows: int, shared: bool, alt_rate: float, cut_rate: float, skew: int, seed: int
) -> None:
    rng = random.Random(seed)
    log = Log()
    names = ["Order", "Claim", "Parcel"][:n_workflows]
    for name in names:
        saga = _workflow(name, shared, alt_rate)
        # The checking service's clock runs behind by more than its step takes.
        saga.skew = {f"{name}-check": -skew}
        _play(saga, log, 300, rng, alt_rate, cut_rate)
    with tempfile.TemporaryDirectory() as d:
        log.store(Path(d) / "s.duckdb")
        with Store.open(Path(d) / "s.duckdb") as s:
            rebuild(s, now_ms=T0 + 10**9)
            found = {
                str(w): int(n) for w, n in s.query("SELECT workflow, count(*) FROM instances GROUP BY 1")
            }
            by_workflow = dict(
                s.query("SELECT workflow, list(DISTINCT first_type) FROM instances GROUP BY 1")
            )
    assert set(found) == {f"{n}Opened" for n in names}, (found, by_workflow)


def test_a_declared_workflow_never_spawns_a_phantom(tmp_path: Path) -> None:
    """Declaring only a minority start type names the whole cluster: every
    instance, whatever it starts with, is in the declared workflow."""
    rng = random.Random(3)
    log = Log()
    saga = _workflow("Ticket", False, 0.3)
    _play(saga, log, 300, rng, 0.3, 0.1)
    log.store(tmp_path / "s.duckdb")
    cfg = ChoreoConfig.model_validate({"workflows": {"support": {"start": ["TicketImported"]}}})
    with Store.open(tmp_path / "s.duckdb") as s:
        rebuild(s, cfg, now_ms=T0 + 10**9)
        found = dict(s.query("SELECT workflow, count(*) FROM instances GROUP BY 1"))
    assert found == {"support": 300}, found
