"""`choreo export events`: the raw events as choreo JSONL, losslessly (key,
headers and payload bytes exactly, non-UTF-8 as base64), for archiving,
moving between stores and `choreo import`."""

from __future__ import annotations

from pathlib import Path

import click

from choreo.cli.commands.options import config_option, db_option
from choreo.cli.output import echo, json_lines_stdout
from choreo.core.config import load_config
from choreo.core.snapshot import open_for_reading
from choreo.reconstruct.export.events_jsonl import open_output, write_events


@click.command("events")
@db_option
@click.option(
    "-o",
    "--output",
    default="-",
    show_default=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="File to write; '-' is stdout; .gz and .zst names are compressed.",
)
@click.option("--topics", metavar="REGEX", help="Only topics whose whole name matches.")
@config_option
def events(db: str, output: str, topics: str | None, config_path: str | None) -> None:
    """Export stored events as choreo JSONL (read back with `choreo import`).

    The raw events are written as stored; --config is accepted like every
    export's (and checked), though nothing in it changes them."""
    load_config(config_path)
    stdout = json_lines_stdout()
    with open_for_reading(db, writable=False) as store, open_output(output, stdout) as out:
        n = write_events(store, out, topics)
    stdout.flush()
    if output != "-":
        echo(f"wrote {n:,} events to {Path(output).resolve()}", err=True)
