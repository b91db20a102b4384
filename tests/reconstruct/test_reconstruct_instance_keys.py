"""instance_keys: search by identifier value reads a sorted lookup table,
kept current by incremental updates, with a scan as fallback."""

from __future__ import annotations

from pathlib import Path

from choreo.core.config import ChoreoConfig
from choreo.core.schema import META_HASH_PROBE, META_SHAPE
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import is_stale, rebuild, update
from choreo.reconstruct.query.read import find_instances, instances_page, search_ids
from tests.support.saga_builder import T0, Log, order_saga

CFG = ChoreoConfig.model_validate({"reconstruct": {"min_overdue": 1}})


def _rebuilt(db_path: Path, sagas: int) -> Log:
    """A store of ``sagas`` completed orders, reconstructed."""
    log = Log()
    for i in range(sagas):
        order_saga(log, i, T0 + i * 1000, "ok")
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, CFG, now_ms=T0 + 600_000)
    return log


def test_search_uses_the_sorted_keys_and_follows_updates(db_path: Path) -> None:
    log = _rebuilt(db_path, 10)
    with Store.open(db_path) as s:
        hashes = [r[0] for r in s.query("SELECT key_hash FROM instance_keys")]
        assert hashes == sorted(hashes) and len(hashes) == len(set(s.query("SELECT * FROM instance_keys")))
        assert instances_page(s, search="shp-7").rows[0].label == "orderId=ord-7"
        assert search_ids(s, "shipmentId=shp-7") == search_ids(s, "shp-7")
        assert search_ids(s, "orderId=shp-7") == []
    # New events, folded in incrementally, are found too.
    more = Log(_next=dict(log._next))  # offsets continue where the first batch ended
    for i in range(10, 12):
        order_saga(more, i, T0 + i * 1000, "ok")
    more.store(db_path)
    with Store.open(db_path) as s:
        stats = update(s, CFG, now_ms=T0 + 600_000)
        assert stats.incremental
        assert [r.label for r in instances_page(s, search="shp-11").rows] == ["orderId=ord-11"]
        # A DuckDB that hashes differently (after an upgrade) falls back to scanning.
        expected = search_ids(s, "shp-11")
        s.set_meta(META_HASH_PROBE, "0")
        assert search_ids(s, "shp-11") == expected
        assert find_instances(s, "shp-11") == expected


def test_a_store_derived_by_older_code_is_rebuilt_not_updated(db_path: Path) -> None:
    _rebuilt(db_path, 3)
    with Store.open(db_path) as s:
        assert not is_stale(s, CFG)
        # What an older choreo left: instance_keys with the value column, no shape mark.
        s.con.execute("DELETE FROM choreo_meta WHERE key = ?", [META_SHAPE])
        s.con.execute("ALTER TABLE instance_keys ADD COLUMN value VARCHAR")
        assert is_stale(s, CFG)
        stats = update(s, CFG, now_ms=T0 + 600_000)
        assert not stats.incremental and not is_stale(s, CFG)
        columns = [
            r[0]
            for r in s.query("SELECT column_name FROM duckdb_columns() WHERE table_name = 'instance_keys'")
        ]
        assert columns == ["key_hash", "name", "instance_id"]
        assert search_ids(s, "shp-1") == search_ids(s, "ord-1") != []
