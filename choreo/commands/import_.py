"""`choreo import FILE...`: post-mortem, load dumps into the store."""

from __future__ import annotations

import sys

import click
import orjson

from choreo.commands.import_progress import ImportProgress
from choreo.commands.options import config_option, db_option, json_option
from choreo.config import load_config
from choreo.errors import InputError
from choreo.store import Store
from collector.extract import Extractor
from collector.importers.detect import FORMATS
from collector.importers.runner import FileReport, Importer, ImportOptions, ImportReport, prepare

PROGRESS_MIN_BYTES = 4 * 1024 * 1024  # smaller files finish before a bar is worth drawing


def _file_line(f: FileReport) -> str:
    how = f.format if f.compression == "none" else f"{f.format}, {f.compression}"
    text = f"{f.name} ({how}): {f.records:,} records, {f.inserted:,} new"
    if f.duplicates:
        text += f", {f.duplicates:,} already stored"
    return text


def _details(f: FileReport) -> list[str]:
    out = []
    if f.bad:
        named = "; ".join(f"{f.name}:{n}: {why}" for n, why in f.bad_examples)
        more = f" (first {len(f.bad_examples)})" if f.bad > len(f.bad_examples) else ""
        out.append(f"  {f.bad:,} bad line(s) skipped{more}: {named}")
    out.extend(f"  {n:,} record(s): {what}" for what, n in sorted(f.notes.items()))
    if f.damage:
        out.append(f"  DAMAGED: {f.damage}")
    return out


def _as_json(report: ImportReport, db: str) -> dict[str, object]:
    return {
        "db": db,
        "records": report.records,
        "inserted": report.inserted,
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
                "bad_lines": f.bad,
                "bad_examples": [{"line": n, "reason": why} for n, why in f.bad_examples],
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
@click.option("--topic", help="Plain JSON lines: the topic to file them under (default: the file's name).")
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
    as_json: bool,
) -> None:
    """Load dumps into the store: kcat -C -J output (any header shape), choreo
    JSONL (from `choreo export events`) or plain JSON lines, optionally gzip or
    zstd compressed. FILE may be a glob or '-' for stdin. Re-importing is
    harmless: Kafka coordinates identify records."""
    cfg = load_config(config_path)
    options = ImportOptions(
        format=None if fmt == "auto" else fmt,
        strict=strict,
        topic=topic or cfg.import_.topic,
        time_field=time_field or cfg.import_.time_field,
    )
    inputs = prepare(files, options.format)
    show = progress
    if show is None:
        big = any(p.input.size is None or p.input.size > PROGRESS_MIN_BYTES for p in inputs)
        show = big and sys.stderr.isatty()
    bar = ImportProgress(enabled=show)
    try:
        with Store.open(db) as store, bar:
            report = Importer(store, Extractor(cfg.extract), options, bar.update).run(inputs)
    finally:
        for p in inputs:
            p.input.close()
    if as_json:
        click.echo(orjson.dumps(_as_json(report, db), option=orjson.OPT_INDENT_2).decode())
    else:
        for f in report.files:
            click.echo(_file_line(f))
            for line in _details(f):
                click.echo(line)
        if len(report.files) > 1:
            click.echo(
                f"total: {len(report.files)} files, {report.records:,} records, "
                f"{report.inserted:,} new, {report.bad:,} bad line(s)"
            )
    damaged = report.damaged
    if damaged:
        names = ", ".join(f.name for f in damaged)
        raise InputError(f"damaged input: {names} (the records before the damage were imported)")
