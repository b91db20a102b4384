"""The recorded fixtures in fixtures/: name -> the scenario that regenerates it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from choreo.demo.faults import DEFAULT_MIX, FaultPlan, Stall
from choreo.demo.scenario import Scenario

FIXTURES: dict[str, Scenario] = {
    # All three choreographies with every fault knob turned (the demo's default mix,
    # with the inventory clock 2.5 s behind: recorded before the demo's default grew).
    "mixed": Scenario(seed=7, instances=60, faults=replace(DEFAULT_MIX, skew={"inventory-service": -2500})),
    # The order saga with its business failures only: no stuck, no duplicates, no skew.
    "orders-clean": Scenario(
        seed=11, instances=40, workflows=("order",), faults=FaultPlan(decline_rate=0.15, stockout_rate=0.15)
    ),
    # One fault at a time on the order saga, for tests that want a single effect.
    "orders-stalled": Scenario(
        seed=12,
        instances=40,
        workflows=("order",),
        faults=FaultPlan(decline_rate=0.1, stockout_rate=0.1, stalls=(Stall("carrier-service", 0.6),)),
    ),
    "orders-skew-dups": Scenario(
        seed=13,
        instances=40,
        workflows=("order",),
        faults=FaultPlan(dup_rate=0.15, skew={"inventory-service": -3000}),
    ),
}


def fixture_dir(root: str | Path, name: str) -> Path:
    return Path(root) / name
