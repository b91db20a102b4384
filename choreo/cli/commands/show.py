"""`choreo show ID`: one instance's timeline, found by any identifier value."""

from __future__ import annotations

import click

from choreo.cli.commands.derived import log_options, reconstructed
from choreo.cli.commands.options import json_option
from choreo.cli.output import echo, echo_json
from choreo.core.errors import InputError
from choreo.core.safe_text import for_terminal as t
from choreo.core.timefmt import duration, iso_ms
from choreo.reconstruct.query.read import find_instances, instance_detail
from choreo.reconstruct.query.records import InstanceDetail


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
        echo_json(doc)
        return
    _print(detail)
    if len(found) > 1:
        more = ", ".join(t(f) for f in found[1:6]) + (" ..." if len(found) > 6 else "")
        echo(f"\n{len(found) - 1} more instance(s) match {t(ident)!r}: {more}")


def identifiers_line(pairs: list[tuple[str, str]]) -> str:
    """Each name once, with its values: ``key=ord-1, pay-7; orderId=ord-1``."""
    by_name: dict[str, list[str]] = {}
    for name, value in pairs:
        values = by_name.setdefault(name, [])
        if value not in values:
            values.append(value)
    return "; ".join(f"{n}={', '.join(vs)}" for n, vs in sorted(by_name.items()))


def _print(d: InstanceDetail) -> None:
    i = d.instance
    echo(f"{t(i.label)}  [{t(i.workflow)}]  {i.status.upper()}  id {t(i.instance_id)}")
    echo(
        f"started {iso_ms(i.start_ms)}, lasted {duration(i.duration_ms)}, {i.n_events} events"
        f" ({i.n_duplicates} duplicates, {i.n_skewed} skew-adjusted)"
    )
    echo("identifiers: " + t(identifiers_line(d.identifiers)))
    svc_w = max([len(t(e.service)) for e in d.events] + [7])
    typ_w = max([len(t(e.event_type)) for e in d.events] + [4])
    echo(f"{'#':>3}  {'at':>9}  {'latency':>8}  {'service':<{svc_w}}  {'event':<{typ_w}}  where / marks")
    for e in d.events:
        marks = [f"{t(e.topic)}[{e.partition}]@{e.offset}"]
        if e.parent_seq is not None:
            marks.append(f"caused by #{e.parent_seq}")
        if e.skew_ms:
            sign = "+" if e.skew_ms > 0 else "-"
            marks.append(f"clock skew: moved {sign}{duration(abs(e.skew_ms))}")
        if e.duplicate_of_seq is not None:
            marks.append(f"DUPLICATE of #{e.duplicate_of_seq}")
        lat = "" if e.since_prev_ms is None else duration(e.since_prev_ms)
        echo(
            f"{e.seq:>3}  {'+' + duration(e.since_start_ms):>9}  {lat:>8}  {t(e.service):<{svc_w}}  "
            f"{t(e.event_type):<{typ_w}}  {'  '.join(marks)}"
        )
    if d.beside:
        echo(f"\nnot events, carrying its key ({len(d.beside)}; never part of its verdict):")
        for r in d.beside:
            at = "" if r.ts_ms is None else iso_ms(r.ts_ms)
            key = "" if r.key is None else f"  key {t(r.key.decode('utf-8', 'replace')[:80])}"
            echo(f"  {t(r.topic)}[{r.partition}]@{r.offset}  {at}  {t(r.reason)}{key}")
    if d.stuck is not None:
        echo(f"\nSTUCK ({d.stuck.reason}): {t(d.stuck.explanation)}")
