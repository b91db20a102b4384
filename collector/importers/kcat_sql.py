"""kcat -J lines decoded inside DuckDB into raw records (``collector.raw``).

DuckDB's JSON reader is more lenient than Python's (trailing commas, NaN
spelt any way, numbers in strings converted) and keeps the first of two
equal keys where Python keeps the last. So a line is decoded here only if it
is exactly what a JSON encoder writes for the values read from it, in
kcat's field order and without spaces: then every JSON decoder, Python's
included, reads those values from it, and no value was converted. That is
the form kcat writes (and orjson, and most tools that copy it). Every other
line (other field orders or spacing, header maps, Avro-decoded values,
deserialiser errors, escapes written differently, anything odd or bad) is
left for the Python decoder. Lines with raw control bytes or invalid UTF-8
never get here.
"""

from __future__ import annotations

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

LINES = "_kcat_lines"  # (lineno BIGINT, line VARCHAR): the lines to decode
STAGE = "_kcat_stage"  # lineno and the raw-record columns: decoded, not stored yet

_FIELDS = (
    '{"topic":"VARCHAR","partition":"BIGINT","offset":"BIGINT","tstype":"VARCHAR","ts":"BIGINT",'
    '"broker":"BIGINT","headers":"VARCHAR[]","key":"VARCHAR","payload":"VARCHAR"}'
)
# The line kcat would write for the values read (one concat: no intermediate strings).
_CANONICAL = """concat(
    '{"topic":', to_json(topic), ',"partition":', partition, ',"offset":', "offset",
    CASE WHEN tstype IS NULL THEN '' ELSE concat(',"tstype":', to_json(tstype), ',"ts":', ts) END,
    CASE WHEN broker IS NULL THEN '' ELSE concat(',"broker":', broker) END,
    CASE WHEN headers IS NULL THEN '' ELSE concat(',"headers":', to_json(headers)) END,
    ',"key":', coalesce(to_json(key), 'null'), ',"payload":', coalesce(to_json(payload), 'null'),
    '}', chr(10))"""
_INT64_MIN = -(2**63)
_INT32_MAX = 2**31 - 1


def _select(check_json: bool) -> str:
    guard = "WHERE json_valid(line)" if check_json else ""
    # One json_transform per line, unnested into columns: a struct column
    # referenced field by field would be transformed once per reference.
    # Numbers too big for BIGINT come out NULL and so fail the comparison.
    return f"""
    SELECT lineno,
        topic,
        partition::INTEGER AS partition,
        "offset",
        ts AS ts_ms,
        (CASE tstype WHEN 'create' THEN 1 WHEN 'logappend' THEN 2 ELSE 0 END)::TINYINT AS ts_type,
        encode(key) AS key,
        coalesce(
            list_transform(
                range(1, len(headers) + 1, 2),
                lambda i: {{'name': headers[i], 'value': encode(headers[i + 1])}}
            ),
            []
        )::STRUCT(name VARCHAR, value BLOB)[] AS headers,
        encode(payload) AS payload
    FROM (SELECT lineno, line, unnest(json_transform(line, '{_FIELDS}')) FROM {LINES} {guard})
    -- One condition, not an AND of several: DuckDB would push simple ones
    -- below the unnest, where each repeats the json_transform.
    WHERE CASE WHEN line = {_CANONICAL} THEN
        topic <> '' AND partition BETWEEN 0 AND {_INT32_MAX} AND "offset" >= 0
        AND (tstype IS NULL OR (tstype IN ('create', 'logappend', 'unknown') AND ts > {_INT64_MIN}))
        AND (headers IS NULL OR (len(headers) % 2 = 0
             AND coalesce(list_bool_and(list_transform(range(1, len(headers) + 1, 2),
                                                       lambda i: headers[i] IS NOT NULL)), true)))
        ELSE false END
    """


def create_stage(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {STAGE} (lineno BIGINT, topic VARCHAR, partition INTEGER, "
        '"offset" BIGINT, ts_ms BIGINT, ts_type TINYINT, key BLOB, '
        "headers STRUCT(name VARCHAR, value BLOB)[], payload BLOB)"
    )


def decode_lines(con: duckdb.DuckDBPyConnection, lines: pa.Table) -> npt.NDArray[np.int64]:
    """Decode ``lines`` (lineno, line) into STAGE; return the line numbers
    of the lines left for the Python decoder."""
    con.register(LINES, lines)
    try:
        try:
            con.execute(f"INSERT INTO {STAGE} {_select(check_json=False)}")
        except duckdb.InvalidInputException:
            # A line that is not JSON at all: again, with each line checked first.
            con.execute(f"INSERT INTO {STAGE} {_select(check_json=True)}")
        first = lines.column("lineno")[0].as_py() if lines.num_rows else 0
        rows = con.execute(
            f"SELECT lineno FROM {LINES} "
            f"ANTI JOIN (SELECT lineno FROM {STAGE} WHERE lineno >= ?) USING (lineno)",
            [first],
        ).fetchnumpy()
    finally:
        con.unregister(LINES)
    return np.asarray(rows["lineno"], np.int64)
