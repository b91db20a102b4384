"""Golden DOT files for the recorded fixtures (fixtures/): imported with the
real importer and reconstructed as of the ground truth's "now".

Regenerate after an intended change (see tests/golden/README.md):
    CHOREO_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_export_dot_fixtures.py
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from choreo.core.config import load_config
from choreo.core.store import Store
from choreo.reconstruct.export.dot_instance import instance_dot
from choreo.reconstruct.export.dot_services import services_dot
from choreo.reconstruct.export.dot_workflow import workflow_dot
from tests.support.export_data import run_choreo
from tests.support.golden import check_golden
from tests.support.paths import FIXTURES


def imported(tmp: Path, name: str, capsys: pytest.CaptureFixture[str]) -> tuple[Path, dict[str, Any]]:
    src = FIXTURES / name
    truth = orjson.loads((src / "truth.json").read_bytes())
    db = tmp / f"{name}.duckdb"
    code, _, err = run_choreo(
        [
            "import",
            "--db",
            str(db),
            "--config",
            str(src / "choreo.toml"),
            "--now",
            str(truth["now_ms"]),
            "--no-progress",
            str(src / "dump.kcat.jsonl"),
        ],
        capsys,
    )
    assert code == 0, err
    return db, truth


def test_mixed_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, truth = imported(tmp_path, "mixed", capsys)
    config = load_config(FIXTURES / "mixed" / "choreo.toml")
    with Store.open(db, read_only=True) as store:
        workflows = workflow_dot(store)
        services = services_dot(store, config)
        n_stuck = store.query("SELECT count(*) FROM stuck")[0][0]
    check_golden("fixture-mixed-workflows.dot", workflows)
    check_golden("fixture-mixed-services.dot", services)
    # Every workflow is a cluster, and the stuck marks add up to the stuck list.
    assert set(re.findall(r"label=\"(\w+): \d+ instances", workflows)) == {"order", "signup", "video"}
    marked = sum(int(n) for n in re.findall(r"\\n(\d+) stuck after this", workflows))
    assert marked == n_stuck > 0
    # The service map draws only what was observed: every known consumer's edge is a
    # real (emitter -> consumer of its topic) pair, never a service to itself; and
    # every service that really reacts to another's events is connected to it.
    names = dict(re.findall(r'^\t(s\d+) \[label="?([^"\]]+)"?\]', services, re.M))
    pattern = r"^\t(s\d+) -> (s\d+) \[(.*)\]$"
    drawn = {(names[a], names[b]): attrs for a, b, attrs in re.findall(pattern, services, re.M)}
    emits = {svc: set(s["emits"]) for svc, s in truth["services"].items()}
    real = {
        (producer, consumer)
        for consumer, s in truth["services"].items()
        for producer, topics in emits.items()
        if topics & set(s["consumes"])
    }
    assert not any(a == b for a, b in drawn)
    known = {edge for edge, attrs in drawn.items() if "dashed" not in attrs}
    assert known <= real, sorted(known - real)
    # Every service here has its topics in choreo.toml: nothing is left to infer, so no
    # edge from one branch of the sign-up fan-out to another.
    assert set(drawn) <= real, sorted(set(drawn) - real)
    for pair in [
        ("order-service", "payment-service"),
        ("payment-service", "inventory-service"),
        ("inventory-service", "shipping-service"),
        ("shipping-service", "carrier-service"),
        ("carrier-service", "order-service"),
        ("upload-service", "moderation-service"),
        ("signup-service", "analytics-service"),
    ]:
        assert pair in known, pair
    # order-service reads the shipping topic for the carrier's events, not shipping-service's.
    assert ("shipping-service", "order-service") not in drawn


def test_stalled_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, truth = imported(tmp_path, "orders-stalled", capsys)
    first_stuck = next(i for i in truth["instances"] if i["outcome"] == "stuck")
    with Store.open(db, read_only=True) as store:
        check_golden("fixture-stalled-workflow.dot", workflow_dot(store, "order", min_share=0.05))
        stuck = instance_dot(store, first_stuck["id"])
    check_golden("fixture-stalled-instance.dot", stuck)
    # The missing step is drawn in the lane of the service the truth says owes it.
    assert "expected: " in stuck and f'label="{first_stuck["stuck"]["service"]}"' in stuck


def test_skew_dups_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, truth = imported(tmp_path, "orders-skew-dups", capsys)
    both = next(
        i
        for i in truth["instances"]
        if any(e.get("duplicate_of") for e in i["events"]) and any(e.get("skew_ms") for e in i["events"])
    )
    with Store.open(db, read_only=True) as store:
        dot = instance_dot(store, both["id"])
    check_golden("fixture-skew-dups-instance.dot", dot)
    assert "clock skew: shifted" in dot and "delivered 2x" in dot
