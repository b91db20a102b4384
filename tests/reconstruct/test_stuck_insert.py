"""The ``stuck`` rows are stored two ways (LIST parameters for a few, so that
re-judging needs no Arrow; an Arrow table for many): both store exactly the
rows a rebuild explained, NULLs and lists included."""

from __future__ import annotations

import duckdb
import pytest

from choreo.core.schema import STUCK
from choreo.reconstruct.engine.status import insert_stuck
from tests.support.tui_fixtures import FixtureStore


@pytest.mark.parametrize("arrow_from", [0, 10**9], ids=["arrow", "lists"])
def test_both_ways_store_the_same_rows(mixed: FixtureStore, arrow_from: int) -> None:
    with mixed.open() as store:
        rows = store.con.execute(f"SELECT {STUCK.select_list()} FROM stuck ORDER BY instance_id").fetchall()
    assert len(rows) > 5
    assert any(v is None for r in rows for v in r)  # NULLs go through too
    con = duckdb.connect()
    con.execute(STUCK.ddl())
    insert_stuck(con, rows, arrow_from=arrow_from)
    assert con.execute(f"SELECT {STUCK.select_list()} FROM stuck ORDER BY instance_id").fetchall() == rows
