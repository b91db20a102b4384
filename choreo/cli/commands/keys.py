"""`choreo keys`: which identifiers link which events, and which are traps."""

from __future__ import annotations

import click

from choreo.cli.commands.derived import log_options, reconstructed
from choreo.cli.commands.options import json_option
from choreo.cli.output import echo, echo_json
from choreo.core.safe_text import for_terminal as t
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
        echo_json([s.__dict__ for s in stats])
        return
    if not stats:
        echo("no identifiers found")
        return
    width = max(len(t(s.name)) for s in stats)
    echo(f"{'name':<{width}}  {'events':>9}  {'values':>9}  {'ev/value':>8}  stitch  links / why")
    for s in stats:
        used = "yes" if s.used_for_stitching else "NO"
        links = ", ".join(t(x) for x in s.event_types[:6]) + (" ..." if len(s.event_types) > 6 else "")
        name = t(s.name)
        echo(
            f"{name:<{width}}  {s.events:>9,}  {s.distinct_values:>9,}  {s.mean_events_per_value:>8.1f}  "
            f"{used:<6}  {links}"
        )
        echo(f"{'':<{width}}  {'':>9}  {'':>9}  {'':>8}          {t(s.reason)}")
