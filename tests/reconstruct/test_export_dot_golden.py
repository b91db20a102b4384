"""Golden DOT files: the diagrams of a fixed store must not change by accident.

Regenerate after an intended change: see tests/support/golden.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from choreo.core.store import Store
from choreo.reconstruct.export.dot_instance import instance_dot
from choreo.reconstruct.export.dot_services import services_dot
from choreo.reconstruct.export.dot_workflow import workflow_dot
from tests.support.export_data import Recorded, build_store
from tests.support.golden import check_golden


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    path = tmp_path_factory.mktemp("golden") / "store.duckdb"
    return build_store(path)


def test_workflow_golden(built: Recorded) -> None:
    with Store.open(built.db, read_only=True) as store:
        check_golden("workflow-order.dot", workflow_dot(store))


def test_workflow_min_share_golden(built: Recorded) -> None:
    with Store.open(built.db, read_only=True) as store:
        check_golden("workflow-order-min-share.dot", workflow_dot(store, min_share=0.5))


def test_stuck_instance_golden(built: Recorded) -> None:
    with Store.open(built.db, read_only=True) as store:
        check_golden("instance-stuck.dot", instance_dot(store, "o-10"))


def test_skewed_and_duplicate_instances_golden(built: Recorded) -> None:
    with Store.open(built.db, read_only=True) as store:
        check_golden("instance-skewed.dot", instance_dot(store, "o-2"))
        check_golden("instance-duplicate.dot", instance_dot(store, "o-1"))


def test_services_golden(built: Recorded) -> None:
    with Store.open(built.db, read_only=True) as store:
        check_golden("services.dot", services_dot(store))


def test_output_is_sorted_and_reproducible(built: Recorded, tmp_path: Path) -> None:
    again = tmp_path / "again.duckdb"
    build_store(again)
    with Store.open(built.db, read_only=True) as a, Store.open(again, read_only=True) as b:
        first, second = workflow_dot(a), workflow_dot(b)
        assert services_dot(a) == services_dot(b)
    assert first == second
    # Nodes are declared in event-type order, edges in (source, target) order.
    labels = re.findall(r'^\tn\d+ \[label="([^\\"]+)', first, re.M)
    assert labels == sorted(labels)
    edges = re.findall(r"^\t(n\d+) -> (n\d+) ", first, re.M)
    assert edges == sorted(edges, key=lambda e: (int(e[0][1:]), int(e[1][1:])))
