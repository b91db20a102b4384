"""The XES log opens in pm4py (installed by `make bench`; skipped without it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from choreo.core.store import Store
from choreo.reconstruct.export.xes import export_xes
from tests.support.export_data import build_store


def test_pm4py_reads_the_log(tmp_path: Path) -> None:
    pm4py = pytest.importorskip("pm4py", reason="pm4py is in the bench extra (make bench)")
    rec = build_store(tmp_path / "s.duckdb")
    with Store.open(tmp_path / "s.duckdb", read_only=True) as store:
        export_xes(store, tmp_path / "log.xes")
    log = pm4py.read_xes(str(tmp_path / "log.xes"), return_legacy_log_object=True, show_progress_bar=False)
    assert len(log) == len(rec.orders)
    assert sum(len(t) for t in log) == rec.records - rec.duplicates
    paths = sorted(tuple(e["concept:name"] for e in t) for t in log)
    assert paths == sorted(tuple(p) for p in rec.orders.values())
    assert {e["org:resource"] for t in log for e in t} >= {"order-service", "shipping-service"}
