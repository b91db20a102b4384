"""Import dump files into a store: open and recognise every input first
(so a typo or an unknown file stores nothing), then stream each one through
its decoder, ``EventBatch`` and ``Store.append`` in bounded batches.

Bad lines are skipped, counted and the first few named; with ``strict``
every input is read through before anything is stored, and the first bad
line (or damage) aborts the whole call with the store unchanged.
"""

from __future__ import annotations

import logging
import queue
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow.compute as pc

from choreo.errors import InputError
from choreo.logs import kv
from choreo.store import Store
from collector.batch import EventBatch
from collector.extract import Extractor
from collector.importers import detect
from collector.importers.compression import DamagedInput
from collector.importers.jsonl import ChoreoDecoder
from collector.importers.kcat import KcatDecoder
from collector.importers.plain import PlainDecoder
from collector.importers.record import BadLine, Record
from collector.importers.segment import SegmentReader, coordinates_from_path, looks_like_segment
from collector.importers.source import Input, default_topic, expand, open_input
from collector.writer import Job, StoreWriter

log = logging.getLogger(__name__)

MAX_EXAMPLES = 5  # bad lines named in the report, per file


class Decoder(Protocol):
    name: str
    notes: Counter[str]

    def decode(self, line: bytes, lineno: int) -> Record: ...


@dataclass(frozen=True)
class ImportOptions:
    format: str | None = None  # forced format; None = detect from content
    strict: bool = False
    topic: str | None = None  # plain lines: topic name (default: the file's name)
    time_field: str | None = None  # plain lines: dotted path of the event time
    # Measured: bigger batches save little CPU but cost memory.
    batch_records: int = 20_000
    batch_bytes: int = 16 * 1024 * 1024
    duckdb_memory: str | None = "256MB"  # DuckDB memory_limit while importing (None: leave as is)


@dataclass
class FileReport:
    name: str
    format: str
    compression: str
    lines: int = 0  # lines read (segment files: batches)
    records: int = 0  # records decoded and offered to the store
    inserted: int = 0  # of those, new to the store
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
        return self.records - self.inserted


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
    def damaged(self) -> list[FileReport]:
        return [f for f in self.files if f.damage]

    @property
    def newest_ts_ms(self) -> int | None:
        times = [f.newest_ts_ms for f in self.files if f.newest_ts_ms is not None]
        return max(times) if times else None


# (input, raw bytes read so far, records decoded so far)
ProgressFn = Callable[[Input, int, int], None]


@dataclass
class Prepared:
    input: Input
    format: str
    segment: tuple[str, int] | None = None  # a segment file's (topic, partition)


AddFn = Callable[[Record, int], None]


def prepare(
    args: Sequence[str], forced_format: str | None = None, topic: str | None = None
) -> list[Prepared]:
    """Open every input and recognise its format; raise InputError (one line)
    before anything is stored if one is missing, unreadable or unknown.
    ``topic`` (NAME or NAME:PARTITION) names segment files outside a
    ``<topic>-<partition>`` directory."""
    names = expand(args)
    if not names:
        raise InputError("no input files given")
    opened: list[Prepared] = []
    try:
        for name in names:
            inp = open_input(name)
            opened.append(Prepared(inp, ""))  # closed below if recognising it fails
            opened[-1].format = _format_of(inp, forced_format)
            if opened[-1].format == detect.SEGMENT:
                opened[-1].segment = _segment_coordinates(inp, topic)
    except BaseException:
        for p in opened:
            p.input.close()
        raise
    return opened


def _segment_coordinates(inp: Input, topic: str | None) -> tuple[str, int]:
    if topic:
        name, _, part = topic.partition(":")
        if part and not part.isdigit():
            raise InputError(f"--topic {topic!r}: want NAME or NAME:PARTITION")
        return name, int(part or 0)
    found = coordinates_from_path(inp.label) if inp.label != "stdin" else None
    if found is None:
        raise InputError(
            f"{inp.label}: a Kafka log segment outside a <topic>-<partition> directory; "
            "give --topic NAME:PARTITION"
        )
    return found


def _format_of(inp: Input, forced: str | None) -> str:
    if forced is not None:
        return forced
    if inp.looks_binary():
        if looks_like_segment(inp.peek(17)):
            return detect.SEGMENT
        raise InputError(f"{inp.label}: binary data, not a known dump format ({_KNOWN})")
    try:
        head = inp.read_head(detect.HEAD_LINES, detect.HEAD_BYTES)
    except OSError as exc:
        raise InputError(f"{inp.label}: cannot read ({exc.strerror or exc})") from None
    found = detect.detect(head)
    if found is None:
        raise InputError(f"{inp.label}: not a known dump format (its first lines are not {_KNOWN})")
    return found


_KNOWN = "kcat -J, choreo JSONL, JSON lines or a Kafka log segment"


class Importer:
    """Imports prepared inputs into ``store`` with one ``extractor``."""

    def __init__(
        self,
        store: Store,
        extractor: Extractor,
        options: ImportOptions | None = None,
        on_progress: ProgressFn | None = None,
    ) -> None:
        self._store = store
        self._extractor = extractor
        self._opts = options or ImportOptions()
        self._on_progress = on_progress

    def run(self, inputs: Sequence[Prepared]) -> ImportReport:
        report = ImportReport()
        with ExitStack() as stack:
            for p in inputs:
                stack.callback(p.input.close)
            if self._opts.duckdb_memory:
                stack.enter_context(self._memory_limit(self._opts.duckdb_memory))
            if self._opts.strict:
                # Every input is read through once before anything is stored: the
                # first bad line stops the call with the store unchanged. (One
                # transaction for all would do it too, but DuckDB's memory for an
                # open transaction grows with its size.)
                inputs = [self._validated(p, stack) for p in inputs]
            writer = StoreWriter(self._store)
            writer.start()
            stack.callback(writer.close)
            for p in inputs:
                report.files.append(self._import_one(p, writer))
        return report

    def _validated(self, p: Prepared, stack: ExitStack) -> Prepared:
        """Decode all of ``p`` (InputError at the first bad line or damage) and
        return it opened again from the start; stdin is spooled to a
        temporary file (decompressed) on the way, to be read a second time."""
        inp = p.input
        spool = None
        if not inp.rereadable:
            # The ExitStack closes (and so deletes) it.
            spool = stack.enter_context(
                tempfile.NamedTemporaryFile(prefix="choreo-import-", suffix=".spool")  # noqa: SIM115
            )
        rep = FileReport(inp.label, p.format, inp.compression)
        try:
            if p.format == detect.SEGMENT:
                reader = SegmentReader(*(p.segment or ("", 0)))
                for pos, batch in reader.batches(inp.stream):
                    if isinstance(batch, BadLine):
                        self._bad(rep, pos, str(batch))
                        continue
                    try:
                        reader.records(batch)
                    except BadLine as exc:
                        self._bad(rep, pos, str(exc))
                    if spool is not None:
                        spool.write(batch)
            elif p.format != detect.EMPTY:
                decoder = self._decoder(p)
                for lineno, line in enumerate(inp.lines(), 1):
                    if spool is not None:
                        spool.write(line)
                    if len(line) <= 2 and not line.strip():
                        continue
                    try:
                        decoder.decode(line, lineno)
                    except BadLine as exc:
                        self._bad(rep, lineno, str(exc))
            else:
                for _ in inp.lines():  # nothing to decode, but damage must surface
                    pass
        except (DamagedInput, OSError) as exc:
            what = str(exc) if isinstance(exc, DamagedInput) else f"read error: {exc.strerror or exc}"
            raise InputError(f"{inp.label}: {what} (--strict: nothing imported)") from None
        inp.close()
        if spool is not None:
            spool.flush()
        again = open_input(spool.name if spool is not None else inp.name, label=inp.label)
        stack.callback(again.close)
        if spool is not None:
            again.compression = inp.compression  # as received, for the report
        return Prepared(again, p.format, p.segment)

    @contextmanager
    def _memory_limit(self, limit: str) -> Iterator[None]:
        """Cap DuckDB's buffer pool while importing: it would otherwise keep
        every block it wrote, and memory would grow with the file."""
        con = self._store.con
        rows = con.execute("SELECT current_setting('memory_limit')").fetchall()
        con.execute(f"SET memory_limit = '{limit}'")
        try:
            yield
        finally:
            con.execute(f"SET memory_limit = '{rows[0][0]}'")

    def _decoder(self, p: Prepared) -> Decoder:
        if p.format == detect.KCAT:
            return KcatDecoder()
        if p.format == detect.CHOREO:
            return ChoreoDecoder()
        topic = self._opts.topic or default_topic(p.input.label)
        return PlainDecoder(topic, self._opts.time_field)

    def _import_one(self, p: Prepared, writer: StoreWriter) -> FileReport:
        inp = p.input
        rep = FileReport(inp.label, p.format, inp.compression)
        if p.format == detect.EMPTY:
            try:
                for _ in inp.lines():  # nothing to decode, but damage must surface
                    pass
            except DamagedInput as exc:
                if self._opts.strict:
                    raise InputError(f"{inp.label}: {exc} (--strict: nothing imported)") from None
                rep.damage = f"{exc}; nothing before it"
            return rep
        started = time.monotonic()
        if self._on_progress is not None:
            self._on_progress(inp, inp.raw_read, 0)
        notes: Counter[str] = Counter()
        with self._batches(rep, f"import:{inp.label}", writer) as add:
            try:
                if p.format == detect.SEGMENT:
                    self._read_segment(p, rep, add, notes)
                else:
                    self._read_lines(p, rep, add, notes)
            except (DamagedInput, OSError) as exc:
                # Keep what came before the damage (flushed below) and report it.
                what = str(exc) if isinstance(exc, DamagedInput) else f"read error: {exc.strerror or exc}"
                if self._opts.strict:
                    raise InputError(f"{inp.label}: {what} (--strict: nothing imported)") from None
                rep.damage = f"{what}; the {rep.lines} {rep.unit}s before it were imported"
        rep.notes = dict(notes)
        if self._on_progress is not None:
            self._on_progress(inp, inp.raw_read, rep.records)
        log.info(
            "import %s",
            kv(
                file=inp.label,
                format=p.format,
                records=rep.records,
                inserted=rep.inserted,
                bad=rep.bad,
                seconds=round(time.monotonic() - started, 3),
            ),
        )
        return rep

    def _read_lines(self, p: Prepared, rep: FileReport, add: AddFn, notes: Counter[str]) -> None:
        decoder = self._decoder(p)
        progress = self._on_progress
        try:
            for lineno, line in enumerate(p.input.lines(), 1):
                rep.lines = lineno
                if len(line) <= 2 and not line.strip():
                    continue
                try:
                    record = decoder.decode(line, lineno)
                except BadLine as exc:
                    self._bad(rep, lineno, str(exc))
                    continue
                add(record, len(line))
                if progress is not None and not lineno & 0xFFF:
                    progress(p.input, p.input.raw_read, rep.records)
        finally:
            notes.update(decoder.notes)

    def _read_segment(self, p: Prepared, rep: FileReport, add: AddFn, notes: Counter[str]) -> None:
        rep.unit = "batch"
        topic, partition = p.segment or ("", 0)
        reader = SegmentReader(topic, partition)
        try:
            for pos, batch in reader.batches(p.input.stream):
                rep.lines += 1
                try:
                    if isinstance(batch, BadLine):
                        raise batch
                    records = reader.records(batch)
                except BadLine as exc:
                    self._bad(rep, pos, str(exc))
                    continue
                size = len(batch) // max(len(records), 1)
                for record in records:
                    add(record, size)
                if self._on_progress is not None:
                    self._on_progress(p.input, p.input.raw_read, rep.records)
        finally:
            # Also before damage: open transactions read so far are kept, and said so.
            for record in reader.finish():
                add(record, 0)
            notes.update(reader.notes)

    def _bad(self, rep: FileReport, where: int, reason: str) -> None:
        """A bad line (or segment batch, ``where`` its byte position)."""
        if self._opts.strict:
            raise InputError(f"{rep.place(where)}: {reason} (--strict: nothing imported)")
        rep.bad += 1
        if len(rep.bad_examples) < MAX_EXAMPLES:
            rep.bad_examples.append((where, reason))

    @contextmanager
    def _batches(self, rep: FileReport, source: str, writer: StoreWriter) -> Iterator[AddFn]:
        """Yield ``add(record, size)``; hands full batches (by count or size) to
        the writer, and the last one at the end (also when the input turned
        out damaged), then waits until all of the file is stored."""
        batch = EventBatch(self._extractor, source)
        pending = 0
        limit_n, limit_b = self._opts.batch_records, self._opts.batch_bytes
        add_to_batch = batch.add

        def collect_done() -> None:
            """Count what the writer stored (and let go of its tables)."""
            if writer.error is not None:
                raise writer.error
            while True:
                try:
                    job = writer.done.get_nowait()
                except queue.Empty:
                    return
                if job.result is not None:
                    rep.inserted += job.result.inserted
                newest = pc.max(job.events["ts_ms"]).as_py() if job.events is not None else None
                if newest is not None and (rep.newest_ts_ms is None or newest > rep.newest_ts_ms):
                    rep.newest_ts_ms = newest

        def flush() -> None:
            nonlocal pending
            if len(batch):
                events, ids = batch.tables()
                batch.clear()
                pending = 0
                writer.submit(Job(events, ids))
            collect_done()

        def add(record: Record, size: int) -> None:
            nonlocal pending
            add_to_batch(*record)
            rep.records += 1
            pending += size
            if pending >= limit_b or len(batch) >= limit_n:
                flush()

        yield add
        flush()
        writer.wait_idle()
        collect_done()


def import_files(
    store: Store,
    args: Sequence[str],
    extractor: Extractor | None = None,
    options: ImportOptions | None = None,
    on_progress: ProgressFn | None = None,
) -> ImportReport:
    """Prepare and import in one call (the library entry point)."""
    opts = options or ImportOptions()
    inputs = prepare(args, opts.format, opts.topic)
    return Importer(store, extractor or Extractor(), opts, on_progress).run(inputs)
