"""`choreo status`: what the store holds."""

from __future__ import annotations

import click
import orjson

from choreo.commands.options import db_option, json_option
from choreo.store import Store


@click.command()
@db_option
@json_option
def status(db: str, as_json: bool) -> None:
    """Summarise the store: events per topic, poison records."""
    with Store.open(db, read_only=True) as store:
        summary = store.summary()
    if as_json:
        click.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(f"{summary['events']} events, {summary['poison']} poison")
    for topic, n in summary["topics"].items():
        click.echo(f"  {topic:<30} {n:>10}")
