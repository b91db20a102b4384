"""`choreo keys`: which identifiers link which events, what was found by
value, and why a name was ruled out."""

from __future__ import annotations

import click

from choreo.cli.commands.derived import log_options, reconstructed
from choreo.cli.commands.options import json_option
from choreo.cli.output import echo, echo_json
from choreo.core.safe_text import for_terminal
from choreo.reconstruct.query.read import key_stats, stitch_health
from choreo.reconstruct.query.records import KeyStat


def _short(text: str, limit: int) -> str:
    """``text`` safe for a terminal, cut to ``limit`` characters."""
    return for_terminal(text[:limit]) + ("…" if len(text) > limit else "")


def _name(name: str) -> str:
    if name.startswith("key@"):
        return for_terminal(f"key (topic {name[4:]})")
    return for_terminal(name)


def _how(s: KeyStat) -> list[str]:
    """The evidence lines under a name: how it was found, what its numbers are read as, the verdict."""
    lines = []
    if s.found_by == "causation":
        lines.append(
            f"found by value on {', '.join(_short(t, 40) for t in s.event_types[:3])}: a causation id"
        )
    elif s.found_by == "event id":
        lines.append(
            f"found by value on {', '.join(_short(t, 40) for t in s.event_types[:3])}: the event's own id"
        )
    elif s.found_by == "value":
        share = "" if s.match_share is None else f"{s.match_share:.0%} of "
        lines.append(
            f"found by value: {share}its sampled values are {_name(s.matches or '?')} values, "
            "carried close in time"
        )
    if s.namespace and s.namespace != s.name:
        lines.append(f"numbers read as {_name(s.namespace)}'s (the same numbers, carried close in time)")
    lines.append(_short(s.reason, 300))
    if s.trap_types:
        shown = ", ".join(_short(t, 40) for t in s.trap_types[:5])
        more = f" and {len(s.trap_types) - 5} more" if len(s.trap_types) > 5 else ""
        lines.append(
            f"left out on {shown}{more}: keyed there by a value instances share (it would merge them)"
        )
    return lines


def _as_json(s: KeyStat) -> dict[str, object]:
    doc = {k: v for k, v in s.__dict__.items() if k != "split_values"}
    doc["values_left_out"] = len(s.split_values)
    return doc


@click.command()
@log_options
@json_option
def keys(
    dbs: tuple[str, ...], out: str | None, config_path: str | None, now_text: str | None, as_json: bool
) -> None:
    """Per identifier: events, values, linked types, stitching or not and the evidence.

    The evidence: how many instances its values would merge (the trap rule),
    fields found by their values and what they match, numbers read as
    another name's, record keys judged per topic."""
    with reconstructed(dbs, out, config_path, now_text) as lg:
        stats = key_stats(lg.store)
        health = stitch_health(lg.store)
    if as_json:
        # (How much got stitched is in `choreo status --json`.) The values left
        # out are hashes: their count is what a reader can use.
        echo_json([_as_json(s) for s in stats])
        return
    if not stats:
        echo("no identifiers found")
    else:
        used = sum(s.used_for_stitching for s in stats)
        found = sum(s.found_by == "value" for s in stats)
        echo(
            f"{len(stats)} identifier names: {used} stitch, {len(stats) - used} ruled out, "
            f"{found} found by value; {health.share:.0%} of the events stitched"
        )
        rows = sorted(stats, key=lambda s: (not s.used_for_stitching, -s.events, s.name))
        width = max(len(_name(s.name)) for s in rows)
        echo(f"{'name':<{width}}  {'events':>9}  {'values':>9}  {'ev/value':>8}  stitch  event types")
        for s in rows:
            flag = "yes" if s.used_for_stitching else "NO"
            types = ", ".join(_short(t, 40) for t in s.event_types[:5])
            types += " ..." if len(s.event_types) > 5 else ""
            echo(
                f"{_name(s.name):<{width}}  {s.events:>9,}  {s.distinct_values:>9,}  "
                f"{s.mean_events_per_value:>8.1f}  {flag:<6}  {types}"
            )
            for line in _how(s):
                echo(f"{'':<{width}}    {line}")
    if health.warning:
        echo(health.warning, err=True)
