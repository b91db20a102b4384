"""kcat -J inputs decoded in DuckDB, block by block, into a staging table.

Each block of lines is split without per-line Python objects; lines with raw
control bytes or invalid UTF-8 (kcat writes binary keys and payloads as raw
bytes) and the lines the SQL turns away (``kcat_sql``) are decoded by the
Python ``KcatDecoder``, so bad lines are counted, named and refused exactly
as on the Python path. The caller ``take``s what is staged (in line order)
whenever enough has gathered.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import IO

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from collector.importers.kcat import KcatDecoder
from collector.importers.kcat_sql import STAGE, create_stage, decode_lines
from collector.importers.line_chunks import BLOCK_BYTES, LineBlock, line_blocks
from collector.importers.record import BadLine, Record
from collector.importers.source import Input
from collector.raw import RAW_COLUMNS, RAW_SCHEMA

_PY = "_kcat_python"

_LINES_SCHEMA = pa.schema([("lineno", pa.int64()), ("line", pa.large_string())])
_PY_SCHEMA = pa.schema([("lineno", pa.int64()), *RAW_SCHEMA])
_BOM = b"\xef\xbb\xbf"
_CONTROL = re.compile(rb"[\x00-\x1f]")

BadFn = Callable[[int, str], None]  # (line number, why); may raise (--strict)


def python_lines(block: LineBlock) -> npt.NDArray[np.bool_]:
    """Which lines the Python decoder must read: raw control bytes (other than
    the final '\\n'), non-ASCII that is not valid UTF-8 or starts with a BOM,
    and lines of two bytes or less (blank lines are skipped the Python way)."""
    arr = np.frombuffer(block.data, np.int8)
    special = np.flatnonzero(arr < 32)  # control bytes and every byte >= 0x80
    special = special[arr[special] != 10]
    out: npt.NDArray[np.bool_] = (block.ends - block.starts()) <= 2
    for i in np.unique(np.searchsorted(block.ends, special, side="right")).tolist():
        line = block.line(i)
        if out[i] or _CONTROL.search(line.rstrip(b"\n")):
            out[i] = True
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            out[i] = True
            continue
        out[i] = line.startswith(_BOM)
    return out


class KcatBlockDecoder:
    """Decodes an input's blocks into the staging table on ``con``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, block_bytes: int = BLOCK_BYTES) -> None:
        self._con = con
        self._block_bytes = block_bytes
        self._python = KcatDecoder()
        self._mixed = False  # rows from the Python decoder staged: not in line order
        self.staged = 0  # records staged
        create_stage(con)

    @property
    def notes(self) -> Counter[str]:
        """Records whose key or payload kcat could not deserialise (only the
        Python decoder sees such lines: kcat's own form has no such fields)."""
        return self._python.notes

    def blocks(self, inp: Input, bad: BadFn, copy_to: IO[bytes] | None = None) -> Iterator[int]:
        """Decode block after block into the stage; yields the last line
        number of each. ``copy_to`` receives the lines' bytes as read."""
        for block in line_blocks(inp, self._block_bytes):
            if copy_to is not None:
                copy_to.write(block.data)
            self._decode(block, bad)
            yield block.first_lineno + len(block) - 1

    def take(self) -> pa.Table:
        """The staged records (RAW_SCHEMA, in line order), removed from the stage."""
        order = " ORDER BY lineno" if self._mixed else ""
        raw = self._con.sql(f"SELECT {RAW_COLUMNS} FROM {STAGE}{order}").to_arrow_table()
        self.clear()
        return raw

    def clear(self) -> None:
        # A new table, not DELETE: deleted rows keep their memory until a checkpoint.
        create_stage(self._con)
        self.staged = 0
        self._mixed = False

    def drop(self) -> None:
        """Drop the staging table (at the end of an input)."""
        self._con.execute(f"DROP TABLE IF EXISTS {STAGE}")

    def _decode(self, block: LineBlock, bad: BadFn) -> None:
        n = len(block)
        linenos = np.arange(block.first_lineno, block.first_lineno + n, dtype=np.int64)
        by_python = python_lines(block)
        lines = block.lines()
        if by_python.any():
            keep = ~by_python
            table = pa.table(
                [linenos[keep], lines.filter(pa.array(keep)).cast(pa.large_string())], _LINES_SCHEMA
            )
        else:
            table = pa.table([linenos, lines.cast(pa.large_string())], _LINES_SCHEMA)
        rejected = decode_lines(self._con, table)
        self.staged += table.num_rows - len(rejected)
        todo = np.union1d(linenos[by_python], rejected) - block.first_lineno
        self._decode_in_python(block, todo, bad)

    def _decode_in_python(self, block: LineBlock, todo: npt.NDArray[np.int64], bad: BadFn) -> None:
        """Decode the lines at ``todo`` (block indexes) with KcatDecoder into the stage."""
        found: list[tuple[int, Record]] = []
        decode = self._python.decode
        for i in todo.tolist():
            line = block.line(i)
            lineno = block.first_lineno + i
            if len(line) <= 2 and not line.strip():
                continue
            try:
                found.append((lineno, decode(line, lineno)))
            except BadLine as exc:
                bad(lineno, str(exc))
        if not found:
            return
        cols = list(zip(*(r for _, r in found), strict=True))
        headers = [[{"name": k, "value": v} for k, v in hs or ()] for hs in cols[6]]
        arrays = [[n for n, _ in found], *cols[:6], headers, cols[7]]
        table = pa.table(
            [pa.array(list(c), f.type) for c, f in zip(arrays, _PY_SCHEMA, strict=True)], schema=_PY_SCHEMA
        )
        self._con.register(_PY, table)
        try:
            self._con.execute(f"INSERT INTO {STAGE} SELECT lineno, {RAW_COLUMNS} FROM {_PY}")
        finally:
            self._con.unregister(_PY)
        self.staged += len(found)
        self._mixed = True
