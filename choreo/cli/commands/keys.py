"""`choreo keys`: which identifiers link which events, and which are traps."""

from __future__ import annotations

import click
import orjson

from choreo.cli.commands.derived import log_options, reconstructed
from choreo.cli.commands.options import json_option
from choreo.reconstruct.query.read import key_stats


@click.command()
@log_options
@json_option
def keys(
    dbs: tuple[str, ...], out: str | None, config_path: str | None, now_text: str | None, as_json: bool
) -> None:
    """Per identifier name: events, distinct values, events per value, linked event types, used or not."""
    with reconstructed(dbs, out, config_path, now_text) as lg:
        stats = key_stats(lg.store)
    if as_json:
        click.echo(orjson.dumps([s.__dict__ for s in stats], option=orjson.OPT_INDENT_2).decode())
        return
    if not stats:
        click.echo("no identifiers found")
        return
    width = max(len(s.name) for s in stats)
    click.echo(f"{'name':<{width}}  {'events':>9}  {'values':>9}  {'ev/value':>8}  stitch  links / why")
    for s in stats:
        used = "yes" if s.used_for_stitching else "NO"
        click.echo(
            f"{s.name:<{width}}  {s.events:>9,}  {s.distinct_values:>9,}  {s.mean_events_per_value:>8.1f}  "
            f"{used:<6}  {', '.join(s.event_types[:6])}{' ...' if len(s.event_types) > 6 else ''}"
        )
        click.echo(f"{'':<{width}}  {'':>9}  {'':>9}  {'':>8}          {s.reason}")
