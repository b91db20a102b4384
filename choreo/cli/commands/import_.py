"""`choreo import FILE...`: post-mortem, load dumps into the store."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

import click

from choreo.cli.commands.derived import bring_up_to_date
from choreo.cli.commands.import_progress import ImportProgress
from choreo.cli.commands.options import config_option, db_option, json_option
from choreo.cli.output import echo, echo_json
from choreo.collector.extract import Extractor
from choreo.collector.importers.detect import FORMATS
from choreo.collector.importers.runner import FileReport, Importer, ImportOptions, ImportReport, prepare
from choreo.core.config import load_config
from choreo.core.errors import InputError
from choreo.core.gc_tuning import rare_gc
from choreo.core.store import Store
from choreo.core.timefmt import parse_now
from choreo.reconstruct.query.asof import AsOf, is_stale
from choreo.reconstruct.query.read import stitch_health
from choreo.reconstruct.query.records import StitchHealth

if TYPE_CHECKING:
    from choreo.reconstruct.engine.pipeline import RebuildStats

PROGRESS_MIN_BYTES = 4 * 1024 * 1024  # smaller files finish before a bar is worth drawing


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM stops an import like Ctrl-C: clean-up runs (worker processes
    stopped, temporary files removed, the store closed) instead of the
    process vanishing mid-write."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _file_line(f: FileReport) -> str:
    how = f.format if f.compression == "none" else f"{f.format}, {f.compression}"
    text = f"{f.name} ({how}): {f.records:,} records, {f.inserted:,} new"
    if f.duplicates:
        text += f", {f.duplicates:,} already stored"
    if f.conflicts:
        text += f", {f.conflicts:,} NOT stored (a different record is stored under the same identity)"
    return text


def _details(f: FileReport) -> list[str]:
    out = []
    if f.bad:
        named = "; ".join(f"{f.place(n)}: {why}" for n, why in f.bad_examples)
        more = f" (first {len(f.bad_examples)})" if f.bad > len(f.bad_examples) else ""
        out.append(
            f"  {f.bad:,} bad {f.unit}(es) skipped{more}: {named}"
            if f.unit == "batch"
            else f"  {f.bad:,} bad line(s) skipped{more}: {named}"
        )
    out.extend(f"  {n:,} record(s): {what}" for what, n in sorted(f.notes.items()))
    if f.damage:
        out.append(f"  DAMAGED: {f.damage}")
    return out


def _as_json(report: ImportReport, db: str) -> dict[str, object]:
    return {
        "db": db,
        "records": report.records,
        "inserted": report.inserted,
        "conflicts": report.conflicts,
        "bad_lines": report.bad,
        "newest_ts_ms": report.newest_ts_ms,
        "files": [
            {
                "file": f.name,
                "format": f.format,
                "compression": f.compression,
                "lines": f.lines,
                "records": f.records,
                "inserted": f.inserted,
                "conflicts": f.conflicts,
                "bad_lines": f.bad,
                "bad_examples": [
                    {"byte" if f.unit == "batch" else "line": n, "reason": why} for n, why in f.bad_examples
                ],
                "notes": f.notes,
                "damage": f.damage,
            }
            for f in report.files
        ],
    }


@click.command("import")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@db_option
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", *FORMATS]),
    default="auto",
    show_default=True,
    help="Dump format; auto recognises it from the content.",
)
@click.option("--strict", is_flag=True, help="Stop at the first bad line or damage: exit 2, store nothing.")
@click.option(
    "--topic",
    help="Plain JSON lines: the topic to file them under (default: the file's name). "
    "Segment files outside a <topic>-<partition> directory: NAME:PARTITION.",
)
@click.option(
    "--time-field",
    metavar="PATH",
    help="Plain JSON lines: the field holding the event time, dotted for nested (e.g. meta.occurredAt).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr (default: on a terminal, for inputs over 4 MB or stdin).",
)
@click.option(
    "--reconstruct/--no-reconstruct",
    default=True,
    show_default=True,
    help="Rebuild instances, model and stuck list afterwards.",
)
@click.option(
    "--now",
    "now_text",
    metavar="TIME",
    help="'Now' for stuck detection: ISO-8601 or ms since epoch (default: the newest event time).",
)
@json_option
def import_(
    files: tuple[str, ...],
    db: str,
    config_path: str | None,
    fmt: str,
    strict: bool,
    topic: str | None,
    time_field: str | None,
    progress: bool | None,
    reconstruct: bool,
    now_text: str | None,
    as_json: bool,
) -> None:
    """Load dumps into the store: kcat -C -J output (any header shape), choreo
    JSONL (from `choreo export events`), plain JSON lines or Kafka log segment
    files, optionally gzip or zstd compressed. FILE may be a glob or '-' for stdin. Re-importing is
    harmless: Kafka coordinates identify records. Then reconstructs, judging
    stuck instances as of the newest event (the moment the dump was taken)."""
    cfg = load_config(config_path)
    now_ms = parse_now(now_text)
    options = ImportOptions(
        format=None if fmt == "auto" else fmt,
        strict=strict,
        topic=topic or cfg.import_.topic,
        time_field=time_field or cfg.import_.time_field,
    )
    inputs = prepare(files, options.format, options.topic)
    show = progress
    if show is None:
        big = any(p.input.size is None or p.input.size > PROGRESS_MIN_BYTES for p in inputs)
        show = big and sys.stderr.isatty()
    rebuilt: RebuildStats | None = None
    health: StitchHealth | None = None
    as_of: AsOf | None = None
    try:
        with _sigterm_unwinds(), Store.open(db) as store, rare_gc():
            with ImportProgress(enabled=show) as bar:
                report = Importer(store, Extractor(cfg.extract), options, bar.update).run(inputs)
            if reconstruct and (report.inserted or now_ms is not None or is_stale(store, cfg)):
                # The same "now" as every other command: a dump is judged as of
                # its newest event, unless it went into a store collected live.
                as_of, rebuilt = bring_up_to_date(store, cfg, now_ms, force=bool(report.inserted))
                if rebuilt is not None:
                    health = stitch_health(store)
    finally:
        for p in inputs:
            p.input.close()
    if as_json:
        out = _as_json(report, db)
        if rebuilt is not None and as_of is not None:
            out["reconstruct"] = {
                "instances": rebuilt.instances,
                "workflows": rebuilt.workflows,
                "stuck": rebuilt.stuck,
                "now_ms": as_of.ms,
                "now_kind": as_of.kind.value,
                "seconds": round(rebuilt.seconds, 3),
                "stitched": None if health is None else health.as_dict(),
            }
        echo_json(out)
    else:
        for f in report.files:
            echo(_file_line(f))
            for line in _details(f):
                echo(line)
        if len(report.files) > 1:
            echo(
                f"total: {len(report.files)} files, {report.records:,} records, "
                f"{report.inserted:,} new, {report.bad:,} bad line(s)"
            )
        if rebuilt is not None and as_of is not None:
            echo(
                f"reconstructed: {rebuilt.instances:,} instances in {rebuilt.workflows} workflow(s), "
                f"{rebuilt.stuck:,} stuck, {as_of.describe()} ({rebuilt.seconds:.1f}s)"
            )
    if health is not None and health.warning:
        echo(health.warning, err=True)
    if report.conflicts:
        raise InputError(
            f"{report.conflicts:,} record(s) not stored: a different record is stored under the same "
            "identity (topic, partition, offset); import them into another --db"
        )
    damaged = report.damaged
    if damaged:
        names = ", ".join(f.name for f in damaged)
        kept = sum(f.records for f in damaged)
        what = (
            f"the {kept:,} records before the damage were imported"
            if kept
            else "no record could be read before the damage"
        )
        raise InputError(f"damaged input: {names} ({what})")
