"""Decoding and extraction in worker processes, for big line-format inputs.

The per-record work (JSON parsing, extraction, building Arrow columns) is
pure Python and bound to one core by the GIL; DuckDB's inserts already run
beside it on the store writer's thread. Worker processes take chunks of raw
lines and return finished Arrow tables, so that on a multi-core machine the
decoding runs on every core. Chunks come back in order: bad-line reports and
progress read the same as in-process.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa

from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor
from choreo.collector.importers.decoders import make_decoder
from choreo.collector.importers.record import BadLine


@dataclass(frozen=True)
class ChunkSpec:
    """How a worker reads a chunk: the format and what the decoder needs."""

    format: str
    label: str
    source: str  # events.source
    topic: str | None = None
    time_field: str | None = None


@dataclass
class ChunkResult:
    events: pa.Table | None
    identifiers: pa.Table | None
    records: int
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, why), every one
    notes: dict[str, int] = field(default_factory=dict)


_extractor: Extractor | None = None  # one per worker process


def _init_worker(extractor: Extractor) -> None:
    global _extractor
    _extractor = extractor
    # Millions of short-lived acyclic objects: rescanning them is wasted time.
    gc.set_threshold(100_000, 50, 100)


def decode_chunk(spec: ChunkSpec, first_lineno: int, lines: Sequence[bytes]) -> ChunkResult:
    """Decode and extract a chunk of lines (in a worker process)."""
    if _extractor is None:
        raise RuntimeError("decode_chunk runs in an import worker process")
    decoder = make_decoder(spec.format, spec.label, spec.topic, spec.time_field)
    batch = EventBatch(_extractor, spec.source)
    add = batch.add
    decode = decoder.decode
    bad: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        if len(line) <= 2 and not line.strip():
            continue
        try:
            record = decode(line, first_lineno + i)
        except BadLine as exc:
            bad.append((first_lineno + i, str(exc)))
            continue
        add(*record)
    n = len(batch)
    events, ids = batch.tables() if n else (None, None)
    return ChunkResult(events, ids, n, bad, dict(decoder.notes))


class DecoderPool:
    """Worker processes that decode chunks; results are yielded in submission order."""

    def __init__(self, extractor: Extractor, workers: int) -> None:
        # spawn, not fork: the parent holds DuckDB and writer threads a forked child must not inherit.
        ctx = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(extractor,)
        )
        self._pending: deque[Future[ChunkResult]] = deque()
        self._depth = workers + 1  # chunks in flight: every worker busy, one more queued

    def submit(self, spec: ChunkSpec, first_lineno: int, lines: list[bytes]) -> Iterator[ChunkResult]:
        """Queue a chunk; yields the results that had to be waited for to keep memory bounded."""
        self._pending.append(self._pool.submit(decode_chunk, spec, first_lineno, lines))
        while len(self._pending) > self._depth:
            yield self._pending.popleft().result()

    def drain(self) -> Iterator[ChunkResult]:
        while self._pending:
            yield self._pending.popleft().result()

    def discard(self) -> None:
        for f in self._pending:
            f.cancel()
        self._pending.clear()

    def close(self) -> None:
        self.discard()
        self._pool.shutdown(wait=True, cancel_futures=True)
