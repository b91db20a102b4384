"""`choreo status`: what the store holds and how its workflows are doing."""

from __future__ import annotations

from typing import Any

import click

from choreo.cli.commands.derived import log_options, reconstructed
from choreo.cli.commands.options import json_option
from choreo.cli.output import echo, echo_json
from choreo.core.safe_text import for_terminal as t
from choreo.core.schema import POISON_KINDS
from choreo.core.store import Store
from choreo.reconstruct.query.read import stitch_health, workflow_counts
from choreo.reconstruct.query.records import BY_URGENCY


@click.command()
@log_options
@json_option
def status(
    dbs: tuple[str, ...], out: str | None, config_path: str | None, now_text: str | None, as_json: bool
) -> None:
    """Summarise the store: events per topic, poison records, instances by workflow and status."""
    with reconstructed(dbs, out, config_path, now_text) as lg:
        summary = _log_summary(lg.store)
        flows = workflow_counts(lg.store)
        row = lg.store.con.execute("SELECT count(*) FROM stuck").fetchone()
        stuck = int(row[0]) if row else 0
        health = stitch_health(lg.store)
    summary["instances"] = sum(sum(c.values()) for c in flows.values())
    summary["workflows"] = flows
    summary["stuck"] = stuck
    summary["now_ms"] = lg.now_ms
    summary["stitched"] = health.as_dict()
    summary["now_kind"] = lg.as_of.kind.value
    if lg.snapshot is not None:
        # Read beside a writer: whose snapshot, and when it was published.
        snap = lg.snapshot
        summary["snapshot"] = {
            "writer": snap.writer,
            "pid": snap.writer_pid,
            "published_ms": snap.published_ms,
        }
    if as_json:
        echo_json(summary)
        return
    echo(
        f"{summary['events']} events, {summary['poison']} poison, "
        f"{health.not_events} not events; {health.share:.0%} of the events stitched into instances"
    )
    for topic, n in summary["topics"].items():
        echo(f"  {t(topic):<30} {n:>10}")
    echo(f"{summary['instances']} instances, {stuck} stuck, {lg.as_of_text()}")
    for wf, counts in flows.items():
        parts = "  ".join(f"{s} {counts[s]}" for s in BY_URGENCY if s in counts)
        echo(f"  {t(wf):<30} {sum(counts.values()):>8}  {parts}")
    if stuck:
        echo("see `choreo stuck` for whose move it is")
    if health.warning:
        echo(health.warning, err=True)


def _log_summary(store: Store) -> dict[str, Any]:
    """Store.summary() over all the stores read (the log views)."""
    topics = dict(
        store.con.execute("SELECT topic, count(*) FROM log_events GROUP BY 1 ORDER BY 1").fetchall()
    )
    kinds = ", ".join(f"'{k}'" for k in POISON_KINDS)
    row = store.con.execute(f"SELECT count(*) FROM log_events WHERE payload_kind IN ({kinds})").fetchone()
    return {
        "events": int(sum(topics.values())),
        "topics": {str(k): int(v) for k, v in topics.items()},
        "poison": int(row[0]) if row else 0,
    }
