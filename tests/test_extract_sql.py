"""Raw records stored through SqlExtractor.append_raw get exactly what the
Python extractor gives them, in-process and in worker processes."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from choreo.config import ExtractConfig
from choreo.store import Store
from collector.batch import EventBatch
from collector.extract import Extractor
from collector.importers.record import Record
from collector.raw import RAW_SCHEMA
from collector.sql_extract import SqlExtractor
from tests.sql_extract_cases import edge_records, fixture_records

_COLUMNS = (
    'topic, partition, "offset", ts_ms, ts_type, key, headers, payload, payload_kind, '
    "event_type, service, event_id, causation_id, trace_id, event_time_ms, source"
)


def _raw_table(records: list[Record]) -> pa.Table:
    cols = list(zip(*records, strict=True))
    headers = [[{"name": n, "value": v} for n, v in (hs or [])] for hs in cols[6]]
    arrays = [*cols[:6], headers, cols[7]]
    return pa.table(
        [pa.array(list(c), f.type) for c, f in zip(arrays, RAW_SCHEMA, strict=True)], schema=RAW_SCHEMA
    )


def _stored(store: Store) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    events = store.query(f'SELECT {_COLUMNS} FROM events ORDER BY topic, partition, "offset"')
    ids = store.query("SELECT * FROM identifiers ORDER BY ALL")
    return events, ids


def _compare(
    tmp_path: Path, records: list[Record], config: ExtractConfig | None = None, workers: int | None = None
) -> None:
    with Store.open(tmp_path / "python.duckdb") as ref:
        batch = EventBatch(Extractor(config), "test")
        for r in records:
            batch.add(*r)
        ref.append(*batch.tables())
        expected = _stored(ref)
    with Store.open(tmp_path / "sql.duckdb") as store:
        store.con.register("_test_raw", _raw_table(records))
        with SqlExtractor(config, workers=workers) as sql:
            result = sql.append_raw(store, "_test_raw", "test")
        store.con.unregister("_test_raw")
        assert result.offered == result.inserted == len(records)
        got = _stored(store)
    for want_row, got_row in zip(expected[0], got[0], strict=True):
        assert got_row == want_row
    assert got[1] == expected[1]


def test_fixture_records_match_the_python_extractor(tmp_path: Path) -> None:
    _compare(tmp_path, fixture_records())


def test_edge_records_match_the_python_extractor(tmp_path: Path) -> None:
    _compare(tmp_path, edge_records())


@pytest.mark.parametrize(
    "config",
    [
        ExtractConfig(
            type_from=["header:x-kind", "payload:meta.kind"],
            service_from=["payload:origin.name", "topic"],
            event_id_from=["payload:msg.id"],
            causation_from=["header:caused-by", "payload:msg.parent"],
            time_from=["payload:at"],
            identifier_paths=["order.number", "refs.shipment"],
            identifier_headers=["X-Tenant"],
            ignore_identifiers=["customerId"],
        ),
        ExtractConfig(key_is_identifier=False, auto_id_fields=False),
        ExtractConfig(max_depth=1),
    ],
)
def test_configured_extraction_matches_the_python_extractor(tmp_path: Path, config: ExtractConfig) -> None:
    _compare(tmp_path, edge_records() + fixture_records()[:300], config)


def test_records_already_stored_are_ignored(tmp_path: Path) -> None:
    records = edge_records()
    with Store.open(tmp_path / "s.duckdb") as store:
        store.con.register("_test_raw", _raw_table(records))
        sql = SqlExtractor()
        first = sql.append_raw(store, "_test_raw", "test")
        again = sql.append_raw(store, "_test_raw", "test")
        assert (first.inserted, again.inserted, again.offered) == (len(records), 0, len(records))
        n_ids = store.query("SELECT count(*) FROM identifiers")[0][0]
        assert n_ids == store.query("SELECT count(*) FROM (SELECT DISTINCT * FROM identifiers)")[0][0]


def test_big_relations_are_extracted_in_worker_processes_with_the_same_result(tmp_path: Path) -> None:
    base = edge_records() + fixture_records()
    records = [(t, p, o + 1_000_000 * k, *rest) for k in range(24) for (t, p, o, *rest) in base]
    assert len(records) > 40_000
    _compare(tmp_path, records, workers=2)
