"""The engine as a declared sequence of stages (in the spirit of Jaeger's
ordered adjusters): each stage names what it needs and what it gives, and a
runner checks the declaration once, runs the stages in order, frees what no
later stage needs, and drops the temporary relations at the end.

What flows between stages is a ``Slot`` (a typed value: the frame, the key
statistics, the instances built ...) or a ``Relation`` (a temporary DuckDB
relation of the run's connection, e.g. the events in scope of an update).
A stage that gives a relation creates it through ``Work.table`` or
``Work.register``; only the runner drops it, so no module creates a temp
table that another has to clean up.

A stage marked ``beside`` runs in a worker thread on its own cursor while
the next stages go on (numpy, pyarrow and DuckDB release the GIL); whoever
needs its output waits for it. Its inputs are taken when it starts, so a
later stage replacing a slot does not pull data from under it. It cannot
give relations (temporary objects belong to one connection).

Stages marked ``writes`` run inside one transaction, opened before the first
of them and committed after the last: the derived tables change all at once
or not at all.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import duckdb

from choreo.core.config import ChoreoConfig
from choreo.core.logsetup import kv
from choreo.core.store import Store

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Slot(Generic[T]):
    """A named value passed between stages."""

    name: str
    doc: str

    def __repr__(self) -> str:
        return f"Slot({self.name})"


@dataclass(frozen=True, eq=False)
class Relation:
    """A temporary relation of the run's connection, named as SQL sees it."""

    name: str
    doc: str

    def __repr__(self) -> str:
        return f"Relation({self.name})"


Item = Slot[Any] | Relation


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Work], None]
    needs: tuple[Item, ...] = ()
    gives: tuple[Item, ...] = ()
    beside: bool = False
    writes: bool = False


class PipelineError(Exception):
    """A stage declaration that cannot run (a bug, raised when the pipeline is declared)."""


@dataclass(frozen=True)
class Pipeline:
    """Stages in order. ``inputs``: what the caller provides before running;
    ``keeps``: what the caller reads after the run (never freed)."""

    name: str
    stages: tuple[Stage, ...]
    inputs: tuple[Item, ...] = ()
    keeps: tuple[Item, ...] = ()
    # After stage i: what no later stage needs (worked out once, when declared).
    _free_after: tuple[tuple[Item, ...], ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        have: set[int] = {id(x) for x in self.inputs}
        last: dict[int, tuple[int, Item]] = {id(x): (-1, x) for x in self.inputs}
        for i, st in enumerate(self.stages):
            for x in st.needs:
                if id(x) not in have:
                    raise PipelineError(
                        f"{self.name}: stage {st.name} needs {x!r}, which no earlier stage gives"
                    )
                last[id(x)] = (i, x)
            for x in st.gives:
                if id(x) in have:
                    raise PipelineError(f"{self.name}: {x!r} is given twice (stage {st.name})")
                if st.beside and isinstance(x, Relation):
                    raise PipelineError(f"{self.name}: stage {st.name} runs beside and cannot give {x!r}")
                have.add(id(x))
                last[id(x)] = (i, x)
        for x in self.keeps:
            if id(x) not in have:
                raise PipelineError(f"{self.name}: keeps {x!r}, which no stage gives")
            del last[id(x)]
        writes = [i for i, st in enumerate(self.stages) if st.writes]
        if writes and writes != list(range(writes[0], writes[-1] + 1)):
            raise PipelineError(f"{self.name}: the writing stages must be consecutive")
        free: list[list[Item]] = [[] for _ in self.stages]
        for i, x in last.values():
            if i >= 0:
                free[i].append(x)
        object.__setattr__(self, "_free_after", tuple(tuple(f) for f in free))

    def run(self, work: Work) -> None:
        """Run every stage on ``work`` (which holds the inputs)."""
        for x in self.inputs:
            if not work.has(x):
                raise PipelineError(f"{self.name}: input {x!r} not provided")
        n = len(self.stages)
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"choreo-{self.name}") as pool:
            try:
                i = 0
                while i < n:
                    if not self.stages[i].writes:
                        self._step(i, work, pool)
                        i += 1
                        continue
                    with work.store.transaction():
                        while i < n and self.stages[i].writes:
                            self._step(i, work, pool)
                            i += 1
                        work.settle()  # nothing started inside may outlive the transaction
            finally:
                work.settle(raise_errors=False)

    def _step(self, i: int, work: Work, pool: ThreadPoolExecutor) -> None:
        st = self.stages[i]
        if st.beside:
            work.start_beside(st, pool)
        else:
            t0 = time.perf_counter()
            st.run(work)
            work.check_given(st)
            log.debug("stage %s", kv(pipeline=self.name, stage=st.name, s=f"{time.perf_counter() - t0:.3f}"))
        work.free(self._free_after[i])


class Work:
    """The state one run of a pipeline works on: the store, the config, "now",
    and the slots and relations the stages have given so far."""

    def __init__(
        self, store: Store, config: ChoreoConfig, now_ms: int, con: duckdb.DuckDBPyConnection | None = None
    ):
        self.store = store
        self.config = config
        self.now_ms = now_ms
        self.con = con if con is not None else store.con
        self._values: dict[int, Any] = {}
        self._pending: dict[int, Future[Any]] = {}
        self._relations: dict[str, bool] = {}  # name -> registered (else a temp table)
        self._beside: list[Future[None]] = []

    # -- slots --------------------------------------------------------------
    def has(self, x: Item) -> bool:
        return (
            id(x) in self._values
            or id(x) in self._pending
            or (isinstance(x, Relation) and x.name in self._relations)
        )

    def get(self, slot: Slot[T]) -> T:
        key = id(slot)
        if key in self._pending:
            self._values[key] = self._pending.pop(key).result()
        if key not in self._values:
            raise PipelineError(f"{slot!r} has no value")
        value: T = self._values[key]
        return value

    def put(self, slot: Slot[T], value: T) -> None:
        self._values[id(slot)] = value

    # -- relations ----------------------------------------------------------
    def table(self, rel: Relation, sql: str, params: Sequence[object] | None = None) -> None:
        """Give ``rel`` as a temporary table holding the result of ``sql``."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {rel.name} AS {sql}", params)
        self._relations[rel.name] = False

    def register(self, rel: Relation, table: pa.Table) -> None:
        """Give ``rel`` as an Arrow table (scanned in place by DuckDB)."""
        # Imported here: re-judging (``judging.py``) registers no Arrow table and needs no numpy.
        from choreo.reconstruct.engine.arrays import register

        register(self.con, rel.name, table)
        self._relations[rel.name] = True

    def adopt(self, rel: Relation) -> None:
        """``rel`` was created as a temp table by a function given its name: the run drops it."""
        self._relations[rel.name] = False

    def drop(self, rel: Relation) -> None:
        registered = self._relations.pop(rel.name, None)
        if registered is None:
            return
        if registered:
            with contextlib.suppress(duckdb.Error):  # (already gone with its connection)
                self.con.unregister(rel.name)
        else:
            self.con.execute(f"DROP TABLE IF EXISTS {rel.name}")

    def close(self) -> None:
        """Drop every relation the run created."""
        for name in list(self._relations):
            self.drop(Relation(name, ""))

    # -- the runner's side --------------------------------------------------
    def check_given(self, st: Stage) -> None:
        for x in st.gives:
            if not self.has(x):
                raise PipelineError(f"stage {st.name} did not give {x!r}")

    def free(self, items: Sequence[Item]) -> None:
        for x in items:
            if isinstance(x, Relation):
                self.drop(x)
            else:
                self._values.pop(id(x), None)
                self._pending.pop(id(x), None)

    def start_beside(self, st: Stage, pool: ThreadPoolExecutor) -> None:
        """Run ``st`` in a worker on its own cursor; its outputs become pending."""
        child = Work(self.store, self.config, self.now_ms, con=None)
        child._values = {id(x): self._values[id(x)] for x in st.needs if id(x) in self._values}
        child._pending = {id(x): self._pending[id(x)] for x in st.needs if id(x) in self._pending}
        outs: dict[int, Future[Any]] = {id(x): Future() for x in st.gives}
        self._pending.update(outs)
        cursor = self.con.cursor()
        child.con = cursor

        def body() -> None:
            t0 = time.perf_counter()
            try:
                st.run(child)
                child.check_given(st)
            except BaseException as exc:
                for fut in outs.values():
                    fut.set_exception(exc)
                raise
            finally:
                cursor.close()
            for key, fut in outs.items():
                fut.set_result(child._values[key])
            log.debug("stage %s", kv(stage=st.name, beside=True, s=f"{time.perf_counter() - t0:.3f}"))

        self._beside.append(pool.submit(body))

    def settle(self, *, raise_errors: bool = True) -> None:
        """Wait for the stages running beside."""
        running, self._beside = self._beside, []
        for fut in running:
            exc = fut.exception()
            if exc is not None and raise_errors:
                raise exc


@contextlib.contextmanager
def working(store: Store, config: ChoreoConfig, now_ms: int) -> Iterator[Work]:
    work = Work(store, config, now_ms)
    try:
        yield work
    finally:
        work.close()
