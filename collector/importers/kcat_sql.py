"""kcat -J lines decoded inside DuckDB into raw records (``collector.raw``).

Only lines in the exact form kcat writes are decoded here: fields in kcat's
order, no whitespace, numbers as plain integers, strings with standard
escapes other than surrogates, headers as kcat's flat array of name/value
pairs. A regular expression of that form proves that the JSON is valid for
Python's decoder too and that every field has the type ``kcat.decode_kcat_obj``
wants, with no key given twice (Python would keep the last, DuckDB the
first); DuckDB's JSON reader then gives the same values. Every other line
(other writers' field order or spacing, header maps, Avro-decoded values,
deserialiser errors, anything odd or bad) is named for the Python decoder.
Raw bytes are settled before the SQL: lines with control bytes or invalid
UTF-8 never get here.
"""

from __future__ import annotations

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

LINES = "_kcat_lines"  # (lineno BIGINT, line VARCHAR): the lines to decode
STAGE = "_kcat_stage"  # lineno and the raw-record columns: decoded, not stored yet

# A JSON string: any character but '"', '\\' (control bytes are gone already),
# or a standard escape; \\u escapes of surrogates are left to Python.
_ESC = r'\\(?:["\\/bfnrt]|u(?:[0-9a-cA-CefEF][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2}))'
_STR = rf'"(?:[^"\\]|{_ESC})*"'
_NONEMPTY_STR = rf'"(?:[^"\\]|{_ESC})+"'
_UINT = "(?:0|[1-9][0-9]*)"
_INT = f"-?{_UINT}"
_OPT_STR = f"(?:{_STR}|null)"
KCAT_LINE = (
    rf'\{{"topic":{_NONEMPTY_STR},"partition":{_UINT},"offset":{_UINT},'
    rf'(?:"tstype":"(?:create|logappend|unknown)","ts":{_INT},)?'
    rf"(?:\"broker\":{_INT},)?"
    rf'(?:"headers":\[(?:{_STR},{_OPT_STR}(?:,{_STR},{_OPT_STR})*)?\],)?'
    rf'"key":{_OPT_STR},"payload":{_OPT_STR}\}}\n?'
)
_FIELDS = (
    '{"topic":"VARCHAR","partition":"BIGINT","offset":"BIGINT","tstype":"VARCHAR","ts":"BIGINT",'
    '"key":"VARCHAR","payload":"VARCHAR","headers":"VARCHAR[]"}'
)
_INT64_MIN = -(2**63)
_INT32_MAX = 2**31 - 1


def _select(check_json: bool) -> str:
    guard = "json_valid(line) AND " if check_json else ""
    # Numbers too big for BIGINT come out NULL: such lines go to Python, which refuses them.
    return f"""
    WITH f AS (
        SELECT lineno, json_transform(line, '{_FIELDS}') AS f FROM {LINES}
        WHERE {guard}regexp_full_match(line, '{KCAT_LINE}')
    )
    SELECT lineno,
        f.topic AS topic,
        f.partition::INTEGER AS partition,
        f."offset" AS "offset",
        f.ts AS ts_ms,
        (CASE f.tstype WHEN 'create' THEN 1 WHEN 'logappend' THEN 2 ELSE 0 END)::TINYINT AS ts_type,
        encode(f.key) AS key,
        coalesce(
            list_transform(
                range(1, len(f.headers) + 1, 2),
                lambda i: {{'name': f.headers[i], 'value': encode(f.headers[i + 1])}}
            ),
            []
        )::STRUCT(name VARCHAR, value BLOB)[] AS headers,
        encode(f.payload) AS payload
    FROM f
    WHERE f.partition <= {_INT32_MAX} AND f."offset" IS NOT NULL
      AND (f.tstype IS NULL OR f.ts > {_INT64_MIN})
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
            # The expression above should let only valid JSON through; should
            # DuckDB's reader still refuse a line, check each one first.
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
