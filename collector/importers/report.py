"""What an import did, per file and in total."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FileReport:
    name: str
    format: str
    compression: str
    lines: int = 0  # lines read (segment files: batches)
    records: int = 0  # records decoded and offered to the store
    inserted: int = 0  # of those, new to the store
    conflicts: int = 0  # of the others, records whose identity holds a different stored record
    bad: int = 0  # bad lines (segment files: bad batches)
    bad_examples: list[tuple[int, str]] = field(default_factory=list)  # (line or byte position, why)
    notes: dict[str, int] = field(default_factory=dict)
    damage: str | None = None
    newest_ts_ms: int | None = None
    unit: str = "line"  # what ``lines`` counts; segments are read in batches

    def place(self, where: int) -> str:
        """file:line, or file@byte for a segment batch."""
        return f"{self.name}@{where}" if self.unit == "batch" else f"{self.name}:{where}"

    @property
    def duplicates(self) -> int:
        """Records already stored (same identity, same content)."""
        return self.records - self.inserted - self.conflicts


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def inserted(self) -> int:
        return sum(f.inserted for f in self.files)

    @property
    def bad(self) -> int:
        return sum(f.bad for f in self.files)

    @property
    def conflicts(self) -> int:
        return sum(f.conflicts for f in self.files)

    @property
    def damaged(self) -> list[FileReport]:
        return [f for f in self.files if f.damage]

    @property
    def newest_ts_ms(self) -> int | None:
        times = [f.newest_ts_ms for f in self.files if f.newest_ts_ms is not None]
        return max(times) if times else None
