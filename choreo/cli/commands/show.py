"""`choreo show ID`: one instance's timeline, found by any identifier value."""

from __future__ import annotations

from datetime import UTC, datetime

import click
import orjson

from choreo.cli.commands.derived import log_options, reconstructed
from choreo.cli.commands.options import json_option
from choreo.core.errors import InputError
from choreo.core.timefmt import duration
from choreo.reconstruct.query.read import find_instances, instance_detail
from choreo.reconstruct.query.records import InstanceDetail


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@click.command()
@click.argument("ident")
@log_options
@json_option
def show(
    ident: str,
    dbs: tuple[str, ...],
    out: str | None,
    config_path: str | None,
    now_text: str | None,
    as_json: bool,
) -> None:
    """Show the instance IDENT names: an instance id, an identifier value (4711) or name=value."""
    with reconstructed(dbs, out, config_path, now_text) as lg:
        found = find_instances(lg.store, ident, limit=50)
        if not found:
            raise InputError(f"no instance matches {ident!r} (try `choreo keys` for identifier names)")
        detail = instance_detail(lg.store, found[0])
    assert detail is not None
    if as_json:
        doc = detail.as_dict()
        doc["other_matches"] = found[1:]
        click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    _print(detail)
    if len(found) > 1:
        more = ", ".join(found[1:6]) + (" ..." if len(found) > 6 else "")
        click.echo(f"\n{len(found) - 1} more instance(s) match {ident!r}: {more}")


def _print(d: InstanceDetail) -> None:
    i = d.instance
    click.echo(f"{i.label}  [{i.workflow}]  {i.status.upper()}  id {i.instance_id}")
    click.echo(
        f"started {_iso(i.start_ms)}, lasted {duration(i.duration_ms)}, {i.n_events} events"
        f" ({i.n_duplicates} duplicates, {i.n_skewed} skew-adjusted)"
    )
    click.echo("identifiers: " + ", ".join(f"{n}={v}" for n, v in d.identifiers))
    svc_w = max([len(e.service) for e in d.events] + [7])
    typ_w = max([len(e.event_type) for e in d.events] + [4])
    click.echo(
        f"{'#':>3}  {'at':>9}  {'latency':>8}  {'service':<{svc_w}}  {'event':<{typ_w}}  where / marks"
    )
    for e in d.events:
        marks = [f"{e.topic}[{e.partition}]@{e.offset}"]
        if e.parent_seq is not None:
            marks.append(f"caused by #{e.parent_seq}")
        if e.skew_ms:
            marks.append(f"clock skew: moved +{duration(e.skew_ms)}")
        if e.duplicate_of_seq is not None:
            marks.append(f"DUPLICATE of #{e.duplicate_of_seq}")
        lat = "" if e.since_prev_ms is None else duration(e.since_prev_ms)
        click.echo(
            f"{e.seq:>3}  {'+' + duration(e.since_start_ms):>9}  {lat:>8}  {e.service:<{svc_w}}  "
            f"{e.event_type:<{typ_w}}  {'  '.join(marks)}"
        )
    if d.stuck is not None:
        click.echo(f"\nSTUCK ({d.stuck.reason}): {d.stuck.explanation}")
