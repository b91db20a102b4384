"""Live equals batch: the demo's recorded run and a hand-made log, fed in
batches through ``update``, give the derived tables a rebuild gives."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from choreo.collector.extract import Extractor
from choreo.collector.importers.runner import import_files
from choreo.core.config import ChoreoConfig, load_config
from choreo.core.store import Store
from choreo.trafficgen.knobs import Knobs, corner
from choreo.trafficgen.run import write
from choreo.trafficgen.traffic import generate
from tests.support.live_batch import feed_in_batches
from tests.support.paths import FIXTURES
from tests.support.saga_builder import T0, Log, fan_out, order_saga


@pytest.mark.parametrize(("name", "folds_all"), [("mixed", False), ("orders-skew-dups", True)])
def test_demo_run_fed_in_batches(name: str, folds_all: bool, tmp_path: Path) -> None:
    src = FIXTURES / name
    truth = orjson.loads((src / "truth.json").read_bytes())
    config = load_config(src / "choreo.toml")
    source = tmp_path / "source.duckdb"
    with Store.open(source) as s:
        import_files(s, [str(src / "dump.kcat.jsonl")], Extractor(config.extract))
    # A live model is learnt from what has arrived: start from half the log.
    run = feed_in_batches(
        source, tmp_path / "work", batches=6, config=config, now_ms=truth["now_ms"], first_share=0.5
    )
    assert run.mismatches == []
    assert sum(run.sizes) == len(truth["records"])
    # Each batch folded in without a rebuild (the first is one), unless it
    # brought a new kind of identifier (the mixed run's first refund does).
    assert all(run.incremental[1:]) or not folds_all, run.incremental


def test_batches_that_carry_only_some_identifier_names(tmp_path: Path) -> None:
    """A batch whose events carry only some of the log's identifier names
    (``choreo tail`` died on this: the labels looked up every name of the log
    in the batch's frame)."""
    log = Log(source="import:test.json")
    for i in range(24):
        outcome = "declined" if i % 7 == 3 else "ok"
        order_saga(log, i, T0 + i * 3000, outcome, stop_after=2 if i == 20 else None)
    for i in range(12):
        fan_out(log, i, T0 + 100_000 + i * 3000)
    source = log.store(tmp_path / "source.duckdb")
    cfg = ChoreoConfig.model_validate({"reconstruct": {"min_overdue": 1}})
    now = T0 + 3_600_000
    run = feed_in_batches(source, tmp_path / "work", batches=8, config=cfg, now_ms=now, first_share=0.4)
    assert run.mismatches == []


@pytest.mark.parametrize(
    ("seed", "corner_name"),
    [(23, None), (5, "names"), (41, "noise"), (7, "skew"), (11, "loops")],
)
def test_generated_log_fed_in_batches(seed: int, corner_name: str | None, tmp_path: Path) -> None:
    """A generated choreography (skew, loops, names found by value, traps,
    not-events, redeliveries) fed live in batches: the same instances,
    statuses and stuck list as a rebuild."""
    knobs = Knobs(seed=seed, instances=300, duration_ms=3_600_000)
    if corner_name is not None:
        knobs = corner(corner_name, knobs)
    g = generate(knobs)
    written = write(g, tmp_path / "gen")
    source = tmp_path / "source.duckdb"
    with Store.open(source) as s:
        import_files(s, [str(written.dump)], Extractor())
    run = feed_in_batches(
        source, tmp_path / "work", batches=5, config=ChoreoConfig(), now_ms=g.truth.now_ms, first_share=0.5
    )
    assert run.mismatches == []
