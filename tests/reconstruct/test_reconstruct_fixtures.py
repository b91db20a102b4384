"""Ground truth: the recorded example choreographies (fixtures/), imported
with the real kcat importer and reconstructed as of the truth's "now"."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from choreo.collector.extract import Extractor
from choreo.collector.importers.runner import import_files
from choreo.core.config import ChoreoConfig, load_config
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.paths import FIXTURES

Coord = tuple[str, int, int]


def _load(name: str, db: Path) -> tuple[dict[str, Any], ChoreoConfig]:
    src = FIXTURES / name
    truth = orjson.loads((src / "truth.json").read_bytes())
    config = load_config(src / "choreo.toml")
    with Store.open(db) as s:
        import_files(s, [str(src / "dump.kcat.jsonl")], Extractor(config.extract))
    return truth, config


def _check(db: Path, truth: dict[str, Any], config: ChoreoConfig | None) -> None:
    with Store.open(db) as s:
        stats = rebuild(s, config, now_ms=truth["now_ms"])
        members: dict[str, set[Coord]] = defaultdict(set)
        for iid, t, p, o in s.query('SELECT instance_id, topic, partition, "offset" FROM instance_events'):
            members[str(iid)].add((str(t), int(p), int(o)))
        status = dict(s.query("SELECT instance_id, status FROM instances"))
        stuck = {
            r[0]: r
            for r in s.query(
                "SELECT instance_id, reason, expected_types, responsible_service, "
                "trigger_topic, trigger_partition, trigger_offset, explanation FROM stuck"
            )
        }
    by_members = {frozenset(v): k for k, v in members.items()}
    assert stats.instances == len(truth["instances"])
    for inst in truth["instances"]:
        coords = frozenset((e["topic"], e["partition"], e["offset"]) for e in inst["events"])
        iid = by_members.get(coords)
        assert iid is not None, f"{inst['id']}: membership differs"
        assert status[iid] == inst["outcome"], f"{inst['id']}: {status[iid]} != {inst['outcome']}"
        if inst["outcome"] != "stuck":
            assert iid not in stuck
            continue
        _iid, _reason, expected, service, t_topic, t_part, t_off, text = stuck[iid]
        want = inst["stuck"]
        assert want["expected"][0] in expected, (inst["id"], expected, want)
        assert service == want["service"], (inst["id"], service, want)
        after = want["after"]
        assert (t_topic, t_part, t_off) == (after["topic"], after["partition"], after["offset"])
        assert service in text and want["expected"][0] in text


@pytest.mark.parametrize("name", ["orders-clean", "orders-stalled", "orders-skew-dups", "mixed"])
def test_fixture_with_its_config(name: str, tmp_path: Path) -> None:
    db = tmp_path / f"{name}.duckdb"
    truth, config = _load(name, db)
    _check(db, truth, config)


@pytest.mark.parametrize("name", ["orders-stalled", "mixed"])
def test_fixture_learned_without_declarations(name: str, tmp_path: Path) -> None:
    """No declared workflows: terminal, failure and fan-out are all learned."""
    db = tmp_path / f"{name}.duckdb"
    truth, config = _load(name, db)
    _check(db, truth, ChoreoConfig(extract=config.extract, services=config.services))


def test_skew_and_duplicates_marked(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    truth, config = _load("orders-skew-dups", db)
    with Store.open(db) as s:
        stats = rebuild(s, config, now_ms=truth["now_ms"])
        dups = {
            (str(t), int(p), int(o))
            for t, p, o in s.query(
                'SELECT topic, partition, "offset" FROM instance_events WHERE duplicate_of_seq IS NOT NULL'
            )
        }
        skewed = s.query("SELECT count(*) FROM instance_events WHERE skew_ms <> 0")[0][0]
        moved = {
            (str(t), int(p), int(o))
            for t, p, o in s.query(
                'SELECT topic, partition, "offset" FROM instance_events WHERE skew_ms <> 0'
            )
        }
    want_dups = {(r["topic"], r["partition"], r["offset"]) for r in truth["records"] if r["duplicate_of"]}
    assert dups == want_dups and stats.duplicates == truth["counts"]["duplicates"]
    # Every record from the skewed clock got moved (its clock's offset at least); the
    # count of adjusted events is the same everywhere.
    assert skewed > 0 and stats.skewed == skewed
    truly = {
        (r["topic"], r["partition"], r["offset"])
        for r in truth["records"]
        if r["skew_ms"] and not r["duplicate_of"]
    }
    assert truly <= moved
