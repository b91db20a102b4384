"""Import dump files into a store: open and recognise every input first
(so a typo or an unknown file stores nothing), then stream each one in
blocks of lines through the native core (decoding, extraction, Arrow
columns) and ``Store.append`` in batches bounded in records and bytes.

Bad lines are skipped, counted and the first few named; with ``strict``
every input is read through before anything is stored, and the first bad
line (or damage) aborts the whole call with the store unchanged.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from choreo import _native
from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor
from choreo.collector.importers import detect
from choreo.collector.importers.compression import DamagedInput
from choreo.collector.importers.identity import plain_partition
from choreo.collector.importers.prepare import Prepared, prepare
from choreo.collector.importers.record import BadLine
from choreo.collector.importers.report import FileReport, ImportReport
from choreo.collector.importers.segment import SegmentReader
from choreo.collector.importers.sink import FileSink, source_of
from choreo.collector.importers.source import Input, default_topic, open_input, open_spool
from choreo.collector.writer import StoreWriter
from choreo.core.duck_memory import ROW_GROUP_ROWS
from choreo.core.errors import InputError
from choreo.core.logsetup import kv
from choreo.core.store import Store

__all__ = ["FileReport", "ImportOptions", "ImportReport", "Importer", "Prepared", "import_files", "prepare"]

log = logging.getLogger(__name__)

MAX_EXAMPLES = 5  # bad lines named in the report, per file


@dataclass(frozen=True)
class ImportOptions:
    format: str | None = None  # forced format; None = detect from content
    strict: bool = False
    topic: str | None = None  # plain lines: topic name (default: the file's name)
    time_field: str | None = None  # plain lines: dotted path of the event time
    # Records per store append, at most; appends end at DuckDB's row group
    # boundaries. Measured: a whole row group (122,880 rows) per append costs
    # DuckDB half the CPU of 64k-record appends, which rewrite the part-filled
    # row group at every checkpoint (and leave a third more file behind).
    batch_records: int = ROW_GROUP_ROWS
    # Raw bytes per store append: big records make small batches, so that
    # one append never needs more memory than DuckDB is given.
    batch_bytes: int = 64 * 1024 * 1024
    # DuckDB's memory while importing, in bytes (None: leave as is); raised as large values need.
    duckdb_memory: int | None = 256 * 2**20


# (input, raw bytes read so far, records decoded so far)
ProgressFn = Callable[[Input, int, int], None]


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
        self._stored_rows = 0  # events in the store, as far as this import knows (row group alignment)

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
            self._stored_rows = self._store.count_events()
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
            # Unnamed (deleted as it is created): nothing is left behind even
            # when the import is killed. The ExitStack closes it.
            spool = stack.enter_context(
                tempfile.TemporaryFile(prefix="choreo-import-", suffix=".spool")  # noqa: SIM115
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
                lineno = 0
                for data, begin, end in inp.blocks():
                    if spool is not None:
                        spool.write(memoryview(data)[begin:end])
                    lines, bad = decoder.check(data, lineno + 1, begin, end)
                    lineno += lines
                    for where, why in bad:
                        self._bad(rep, where, why)
            else:
                for _ in inp.lines():  # nothing to decode, but damage must surface
                    pass
        except (DamagedInput, OSError) as exc:
            what = str(exc) if isinstance(exc, DamagedInput) else f"read error: {exc.strerror or exc}"
            raise InputError(f"{inp.label}: {what} (--strict: nothing imported)") from None
        inp.close()
        if spool is not None:
            spool.flush()
        again = open_spool(spool, inp.label) if spool is not None else open_input(inp.name, label=inp.label)
        stack.callback(again.close)
        if spool is not None:
            again.compression = inp.compression  # as received, for the report
        return Prepared(again, p.format, p.segment)

    @contextmanager
    def _memory_limit(self, limit: int) -> Iterator[None]:
        """Cap DuckDB's buffer pool while importing: it would otherwise keep
        every block it wrote, and memory would grow with the file. The cap
        rises with large values as they need (Store.limit_memory)."""
        con = self._store.con
        rows = con.execute("SELECT current_setting('memory_limit')").fetchall()
        self._store.limit_memory(limit)
        try:
            yield
        finally:
            self._store.limit_memory(None)
            con.execute(f"SET memory_limit = '{rows[0][0]}'")

    def _decoder(self, p: Prepared) -> _native.LineDecoder:
        topic = self._opts.topic or default_topic(p.input.label)
        return _native.LineDecoder(p.format, topic, self._opts.time_field)

    def _plain_partition(self, p: Prepared) -> int | None:
        """Plain lines: which source of its topic the input is (importers/identity.py).
        The writer is idle here: the previous input is stored."""
        if p.format != detect.PLAIN:
            return None
        head = p.input.head or p.input.read_head(detect.HEAD_LINES, detect.HEAD_BYTES)
        return plain_partition(self._store, self._opts.topic or default_topic(p.input.label), head)

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
        sink = FileSink(
            rep,
            EventBatch(self._extractor, source_of(p)),
            writer,
            self._opts.batch_records,
            self._opts.batch_bytes,
            self._stored_rows,
        )
        sink.identify(self._plain_partition(p))
        try:
            if p.format == detect.SEGMENT:
                self._read_segment(p, rep, sink, notes)
            else:
                self._read_lines(p, rep, sink)
        except (DamagedInput, OSError) as exc:
            # Keep what came before the damage (stored below) and report it.
            what = str(exc) if isinstance(exc, DamagedInput) else f"read error: {exc.strerror or exc}"
            if self._opts.strict:
                raise InputError(f"{inp.label}: {what} (--strict: nothing imported)") from None
            rep.damage = f"{what}; the {rep.lines} {rep.unit}s before it were imported"
        sink.finish()
        self._stored_rows = sink.stored_rows
        notes.update(sink.notes)
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

    def _read_lines(self, p: Prepared, rep: FileReport, sink: FileSink) -> None:
        decoder = self._decoder(p)
        progress = self._on_progress
        for data, begin, end in p.input.blocks():
            lines, bad = sink.add_lines(decoder, data, rep.lines + 1, begin, end)
            rep.lines += lines
            for lineno, why in bad:
                self._bad(rep, lineno, why)
            if progress is not None:
                progress(p.input, p.input.raw_read, rep.records)

    def _read_segment(self, p: Prepared, rep: FileReport, sink: FileSink, notes: Counter[str]) -> None:
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
                sink.add_records(records, len(batch))
                if self._on_progress is not None:
                    self._on_progress(p.input, p.input.raw_read, rep.records)
        finally:
            # Also before damage: open transactions read so far are kept, and said so.
            sink.add_records(reader.finish(), 0)
            notes.update(reader.notes)

    def _bad(self, rep: FileReport, where: int, reason: str) -> None:
        """A bad line (or segment batch, ``where`` its byte position)."""
        if self._opts.strict:
            raise InputError(f"{rep.place(where)}: {reason} (--strict: nothing imported)")
        rep.bad += 1
        if len(rep.bad_examples) < MAX_EXAMPLES:
            rep.bad_examples.append((where, reason))


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
