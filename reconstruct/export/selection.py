"""Which instances an export covers: by status and by workflow."""

from __future__ import annotations

from dataclasses import dataclass

from choreo.core.errors import InputError
from choreo.core.store import Store
from choreo.reconstruct.query.records import STATUS_ORDER


@dataclass(frozen=True)
class InstanceFilter:
    status: str | None = None
    workflow: str | None = None

    def check(self, store: Store) -> None:
        """InputError for a status or workflow that cannot match."""
        if self.status is not None and self.status not in STATUS_ORDER:
            raise InputError(f"unknown status {self.status!r} (use one of {', '.join(STATUS_ORDER)})")
        if self.workflow is not None and not store.query(
            "SELECT 1 FROM instances WHERE workflow = ? LIMIT 1", [self.workflow]
        ):
            names = [str(r[0]) for r in store.query("SELECT DISTINCT workflow FROM instances ORDER BY 1")]
            raise InputError(f"no workflow {self.workflow!r}; known: {', '.join(names) or 'none'}")

    def sql(self, alias: str = "") -> tuple[str, list[object]]:
        """A condition on the instances table (``AND``-joined; ``TRUE`` when empty)."""
        p = f"{alias}." if alias else ""
        where: list[str] = []
        params: list[object] = []
        if self.status is not None:
            where.append(f"{p}status = ?")
            params.append(self.status)
        if self.workflow is not None:
            where.append(f"{p}workflow = ?")
            params.append(self.workflow)
        return (" AND ".join(where) or "TRUE"), params
