"""The query layer's record types read the derived tables by column name: each
field that comes from a table is one of its columns (choreo/core/schema.py)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from choreo.core.schema import IDENTIFIER_STATS, INSTANCES, MODEL_EDGES, MODEL_NODES, STUCK, VARIANTS, Table
from choreo.reconstruct.query.records import InstanceRow, KeyStat, ModelEdge, ModelNode, StuckInfo, Variant

# record type, its table, and the fields that come from elsewhere
CASES: list[tuple[type, Table, set[str]]] = [
    (InstanceRow, INSTANCES, set()),
    (StuckInfo, STUCK, {"label"}),  # label: the instance's
    (KeyStat, IDENTIFIER_STATS, set()),
    (ModelNode, MODEL_NODES, set()),
    (ModelEdge, MODEL_EDGES, set()),
    (Variant, VARIANTS, {"stuck"}),  # stuck: its instances stuck now, from instances
]


@pytest.mark.parametrize(("record", "table", "elsewhere"), CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_record_fields_are_columns_of_their_table(record: type, table: Table, elsewhere: set[str]) -> None:
    names = {f.name for f in fields(record)} - elsewhere
    assert names <= set(table.names), f"{record.__name__}: {sorted(names - set(table.names))}"
