"""Stores for the dashboard tests: a recorded fixture run (fixtures/<name>)
imported with the real importer and reconstructed as of its ground truth's
"now". Built once per test session and then only opened read-only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from choreo.collector.extract import Extractor
from choreo.collector.importers.runner import import_files
from choreo.core.config import ChoreoConfig, load_config
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.paths import FIXTURES


@dataclass(frozen=True)
class FixtureStore:
    path: Path
    truth: dict[str, Any]
    config: ChoreoConfig

    def open(self) -> Store:
        return Store.open(self.path, read_only=True)


def build_fixture_store(name: str, directory: Path) -> FixtureStore:
    src = FIXTURES / name
    truth = json.loads((src / "truth.json").read_text())
    config = load_config(src / "choreo.toml")
    path = directory / f"{name}.duckdb"
    with Store.open(path) as store:
        import_files(store, [str(src / "dump.kcat.jsonl")], Extractor(config.extract))
        rebuild(store, config, now_ms=int(truth["now_ms"]))
        store.checkpoint()
    return FixtureStore(path, truth, config)
