"""The OCEL 2.0 constraints, checked on what a written log holds.

A reader (``ocel_read``) feeds what it finds in the file: type declarations,
events, objects, relations. Ids go to a scratch DuckDB database in batches
(spilled to disk when large, so memory stays bounded), where SQL checks:

- event ids are unique, object ids are unique;
- every event's and object's type is declared, every attribute it carries is
  declared for its type, every event time is a time;
- every relation's ends exist (event-to-object: the event and the object;
  object-to-object: both objects) and no relation is repeated.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pyarrow as pa

ATTRIBUTE_TYPES = frozenset({"string", "integer", "float", "boolean", "time"})
_FLUSH_ROWS = 50_000
_SHOW = 3  # offending ids named per problem
_WHAT = {
    "ev": "events",
    "obj": "objects",
    "e2o": "event-to-object relations",
    "o2o": "object-to-object relations",
}
_TABLES = {
    "ev": ("id", "type", "time"),
    "obj": ("id", "type"),
    "e2o": ("eid", "oid", "q"),
    "o2o": ("src", "tgt", "q"),
}

_UNDECLARED = "SELECT DISTINCT type FROM {table} ANTI JOIN decl ON kind = '{kind}' AND name = type"


@dataclass
class OcelReport:
    events: int = 0
    objects: int = 0
    e2o: int = 0
    o2o: int = 0
    objects_by_type: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class OcelCheck:
    """Collects a log as read back and checks it; use as a context manager."""

    def __init__(self, workdir: Path) -> None:
        """``workdir``: where the scratch database lives (removed on exit)."""
        self._dir = tempfile.TemporaryDirectory(prefix="ocel-check-", dir=workdir)
        self._con = duckdb.connect(str(Path(self._dir.name) / "check.duckdb"))
        # Bounded: beyond this DuckDB spills to its temporary directory.
        self._con.execute("SET memory_limit = '512MB'")
        for table, cols in _TABLES.items():
            self._con.execute(f"CREATE TABLE {table} ({', '.join(f'{c} VARCHAR' for c in cols)})")
        self._rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in _TABLES}
        self._declared: dict[str, dict[str, frozenset[str]]] = {"event": {}, "object": {}}
        self._used: set[tuple[str, str, tuple[str, ...]]] = set()
        self.problems: list[str] = []

    def __enter__(self) -> OcelCheck:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._con.close()
        self._dir.cleanup()

    # -- what the reader found ---------------------------------------------
    def problem(self, text: str) -> None:
        self.problems.append(text)

    def declare(self, kind: str, name: str, attributes: Iterable[tuple[str, str | None]]) -> None:
        """A declared event or object type with its (attribute, type) pairs;
        a type of None is not checked (SQLite's columns)."""
        attrs = list(attributes)
        if name in self._declared[kind]:
            self.problem(f"{kind} type {name!r} is declared twice")
        for attr, typ in attrs:
            if typ is not None and typ not in ATTRIBUTE_TYPES:
                self.problem(f"{kind} type {name!r}: attribute {attr!r} has no OCEL type ({typ!r})")
        self._declared[kind][name] = frozenset(a for a, _ in attrs)

    def event(self, eid: str, etype: str, time: str | None, attributes: tuple[str, ...] = ()) -> None:
        self.add("ev", (eid, etype, time))
        if attributes:
            self._used.add(("event", etype, attributes))

    def obj(self, oid: str, otype: str, attributes: tuple[str, ...] = ()) -> None:
        self.add("obj", (oid, otype))
        if attributes:
            self._used.add(("object", otype, attributes))

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        """One row of ``ev`` (id, type, time), ``obj`` (id, type), ``e2o``
        (event, object, qualifier) or ``o2o`` (source, target, qualifier)."""
        rows = self._rows[table]
        rows.append(row)
        if len(rows) >= _FLUSH_ROWS:
            self._flush(table)

    def extend(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Several rows, as ``add``."""
        buf = self._rows[table]
        buf += rows
        if len(buf) >= _FLUSH_ROWS:
            self._flush(table)

    def _flush(self, table: str) -> None:
        rows = self._rows[table]
        if not rows:
            return
        cols = _TABLES[table]
        columns = list(zip(*rows, strict=True))
        self._rows[table] = []
        try:
            arrays = [pa.array(c, pa.string()) for c in columns]
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            self.problem(f"{_WHAT[table]}: ids, types, times and qualifiers must be text")
            arrays = [pa.array([None if v is None else str(v) for v in c], pa.string()) for c in columns]
        self._con.register("_batch", pa.table(arrays, names=list(cols)))
        try:
            self._con.execute(f"INSERT INTO {table} SELECT * FROM _batch")
        finally:
            self._con.unregister("_batch")

    # -- the checks ----------------------------------------------------------
    def _some(self, sql: str) -> list[str]:
        return [str(r[0]) for r in self._con.execute(f"{sql} LIMIT {_SHOW}").fetchall()]

    def _expect_none(self, what: str, sql: str) -> None:
        found = self._some(sql)
        if found:
            self.problem(f"{what}: {', '.join(repr(x) for x in found)}")

    def finish(self) -> OcelReport:
        for table in _TABLES:
            self._flush(table)
        for kind, typ, attrs in sorted(self._used):
            declared = self._declared[kind].get(typ)
            extra = [a for a in attrs if declared is not None and a not in declared]
            if extra:
                self.problem(f"{kind} type {typ!r}: attributes not declared: {', '.join(map(repr, extra))}")
        self._con.execute("CREATE TABLE decl (kind VARCHAR, name VARCHAR)")
        decl = [(k, n) for k, names in self._declared.items() for n in names]
        if decl:
            self._con.executemany("INSERT INTO decl VALUES (?, ?)", decl)
        for what, sql in (
            ("duplicate event ids", "SELECT id FROM ev GROUP BY id HAVING count(*) > 1"),
            ("duplicate object ids", "SELECT id FROM obj GROUP BY id HAVING count(*) > 1"),
            ("undeclared event types", _UNDECLARED.format(table="ev", kind="event")),
            ("undeclared object types", _UNDECLARED.format(table="obj", kind="object")),
            ("events without a valid time", "SELECT id FROM ev WHERE try_cast(time AS TIMESTAMP) IS NULL"),
            ("event-to-object relations from missing events", "SELECT eid FROM e2o ANTI JOIN ev ON eid = id"),
            ("event-to-object relations to missing objects", "SELECT oid FROM e2o ANTI JOIN obj ON oid = id"),
            (
                "object-to-object relations from missing objects",
                "SELECT src FROM o2o ANTI JOIN obj ON src = id",
            ),
            (
                "object-to-object relations to missing objects",
                "SELECT tgt FROM o2o ANTI JOIN obj ON tgt = id",
            ),
            (
                "repeated event-to-object relations",
                "SELECT eid || ' -> ' || oid FROM e2o GROUP BY eid, oid, q HAVING count(*) > 1",
            ),
            (
                "repeated object-to-object relations",
                "SELECT src || ' -> ' || tgt FROM o2o GROUP BY src, tgt, q HAVING count(*) > 1",
            ),
        ):
            self._expect_none(what, sql)

        def count(table: str) -> int:
            row = self._con.execute(f"SELECT count(*) FROM {table}").fetchone()
            return int(row[0]) if row else 0

        by_type = {
            str(t): int(n)
            for t, n in self._con.execute("SELECT type, count(*) FROM obj GROUP BY 1 ORDER BY 1").fetchall()
        }
        return OcelReport(count("ev"), count("obj"), count("e2o"), count("o2o"), by_type, list(self.problems))
