"""Raw records: Kafka coordinates, key, headers and payload, before extraction.

The live collector and the fast import paths hand records to the store in
this shape; ``collector.sql_extract`` turns them into events and identifiers
inside DuckDB, so no per-record Python runs on the hot path.
"""

from __future__ import annotations

import pyarrow as pa

HEADER_TYPE = pa.list_(pa.struct([("name", pa.string()), ("value", pa.binary())]))

RAW_SCHEMA = pa.schema(
    [
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("ts_ms", pa.int64()),  # broker timestamp; NULL if unknown
        ("ts_type", pa.int8()),  # 0 unknown, 1 create time, 2 log-append time
        ("key", pa.binary()),
        ("headers", HEADER_TYPE),  # in record order; never NULL (empty list)
        ("payload", pa.binary()),
    ]
)

# The same columns as a DuckDB column list, for relations built in SQL.
RAW_COLUMNS = 'topic, partition, "offset", ts_ms, ts_type, key, headers, payload'
