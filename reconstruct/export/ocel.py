"""The object-centric event log (OCEL 2.0) in JSON, XML or SQLite.

What it holds is described in ``ocel_model``. The file is written
next to its destination, read back and checked against the OCEL 2.0
constraints (``ocel_check``), and only then renamed into place: a log that
fails is not left behind as if it were good.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from choreo.core.errors import ExportError, InputError
from choreo.core.store import Store
from choreo.reconstruct.export.ocel_check import OcelCheck, OcelReport
from choreo.reconstruct.export.ocel_model import OcelCounts, OcelModel
from choreo.reconstruct.export.ocel_read import read_json, read_sqlite, read_xml
from choreo.reconstruct.export.ocel_sqlite import write_sqlite
from choreo.reconstruct.export.ocel_text import write_json, write_xml
from choreo.reconstruct.export.selection import InstanceFilter

FORMATS = ("json", "sqlite", "xml")
DEFAULT_FILES = {"json": "choreo.jsonocel", "sqlite": "choreo.sqlite", "xml": "choreo.xmlocel"}
_SUFFIXES = {
    ".json": "json",
    ".jsonocel": "json",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db": "sqlite",
    ".xml": "xml",
    ".xmlocel": "xml",
}


def format_for(path: Path | None, fmt: str | None) -> str:
    """The format asked for, else the one the file's suffix names, else JSON."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise InputError(f"unknown OCEL format {fmt!r} (use one of {', '.join(FORMATS)})")
        return fmt
    if path is None:
        return "json"
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise InputError(
            f"cannot tell the OCEL format from {path.name!r}: name it .jsonocel/.json, .xmlocel/.xml or "
            ".sqlite/.db, or give --format"
        )
    return found


@dataclass
class OcelStats:
    format: str
    events: int = 0
    objects: int = 0
    e2o: int = 0
    o2o: int = 0
    objects_by_type: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        types = ", ".join(
            f"{t} {n}" for t, n in sorted(self.objects_by_type.items(), key=lambda x: (-x[1], x[0]))
        )
        return (
            f"{self.events} events, {self.objects} objects ({types or 'none'}), "
            f"{self.e2o} event-object and {self.o2o} object-object relations"
        )


def validate(path: Path, fmt: str, workdir: Path) -> OcelReport:
    """Read ``path`` back and check it (problems in the report, none when valid)."""
    with OcelCheck(workdir) as check:
        {"json": read_json, "xml": read_xml, "sqlite": read_sqlite}[fmt](path, check)
        return check.finish()


def _compare(expected: OcelCounts, got: OcelReport) -> list[str]:
    pairs = (
        ("events", expected.events, got.events),
        ("objects", expected.objects, got.objects),
        ("event-object relations", expected.e2o, got.e2o),
        ("object-object relations", expected.o2o, got.o2o),
    )
    return [f"wrote {a} {what}, read back {b}" for what, a, b in pairs if a != b]


def export_ocel(
    store: Store, path: Path, fmt: str | None = None, flt: InstanceFilter | None = None
) -> OcelStats:
    fmt = format_for(path, fmt)
    if path.is_dir():
        raise ExportError(f"cannot write {path}: it is a directory")
    try:
        with tempfile.TemporaryDirectory(prefix=".choreo-ocel-", dir=path.parent) as tmp:
            work = Path(tmp)
            # Same directory as the destination: the rename below is atomic.
            written = work / f"log.{fmt}"
            with OcelModel(store, flt) as model:
                types, expected = model.types(), model.counts()
                if fmt == "sqlite":
                    write_sqlite(model, types, written)
                else:
                    with written.open("w", encoding="utf-8", newline="\n") as f:
                        (write_json if fmt == "json" else write_xml)(model, types, f)
            report = validate(written, fmt, work)
            problems = report.problems or _compare(expected, report)
            if problems:
                more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
                shown = "; ".join(problems[:3])
                raise ExportError(f"the OCEL log failed validation, nothing written to {path}: {shown}{more}")
            written.replace(path)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    return OcelStats(fmt, report.events, report.objects, report.e2o, report.o2o, report.objects_by_type)
