"""The store writer: appends batches on its own thread.

DuckDB releases the GIL while it inserts, so storing batch N overlaps with
consuming and extracting batch N+1. Jobs run strictly in submission order;
each finished job is reported back on ``done`` with the Kafka offsets it made
durable, and only then may the consumer commit them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa

from choreo.core.store import AppendResult, Store

TP = tuple[str, int]


@dataclass
class Job:
    """A batch to append (or, with ``run``, any other store write)."""

    events: pa.Table | None = None
    identifiers: pa.Table | None = None
    offsets: dict[TP, int] = field(default_factory=dict)  # next offsets, committable once stored
    run: Callable[[Store], None] | None = None
    result: AppendResult | None = None
    verify: bool = False  # count records whose identity holds a different stored record


class StoreWriter(threading.Thread):
    """Owns the store connection while running; ``error`` is set if a write failed."""

    def __init__(self, store: Store) -> None:
        super().__init__(name="choreo-store-writer", daemon=True)
        self._store = store
        # One job waiting at most: a slow disk slows consumption instead of
        # piling batches up in memory.
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=1)
        self.done: queue.Queue[Job] = queue.Queue()
        self.error: BaseException | None = None

    def submit(self, job: Job) -> None:
        """Queue a job; blocks while another job is already waiting."""
        if self.error is not None:
            return
        self._jobs.put(job)

    def has_waiting(self) -> bool:
        return not self._jobs.empty()

    def wait_idle(self) -> None:
        """Block until every submitted job has finished (or failed)."""
        self._jobs.join()

    def close(self) -> None:
        """Finish queued jobs and stop the thread."""
        self._jobs.put(None)
        self.join()

    def run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self.error is not None:
                    continue  # after a failure nothing more is stored (or committed)
                if job.run is not None:
                    job.run(self._store)
                elif job.events is not None and job.identifiers is not None:
                    job.result = self._store.append(job.events, job.identifiers, verify=job.verify)
                self.done.put(job)
            except BaseException as exc:  # handed to the consumer thread, which raises it
                self.error = exc
            finally:
                self._jobs.task_done()
