"""`choreo export events`: the raw events as choreo JSONL, losslessly (key,
headers and payload bytes exactly, non-UTF-8 as base64), for archiving,
moving between stores and `choreo import`."""

from __future__ import annotations

import sys

import click

from choreo.cli.commands.options import db_option
from choreo.core.store import Store
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
def events(db: str, output: str, topics: str | None) -> None:
    """Export stored events as choreo JSONL (read back with `choreo import`)."""
    with Store.open(db, read_only=True) as store, open_output(output, sys.stdout.buffer) as out:
        n = write_events(store, out, topics)
    if output != "-":
        click.echo(f"wrote {n:,} events to {output}", err=True)
