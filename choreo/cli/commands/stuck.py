"""`choreo stuck`: stuck instances, whose move it is, most overdue first."""

from __future__ import annotations

import sys

import click

from choreo.cli.commands.derived import log_options, reconstructed
from choreo.cli.commands.options import json_option
from choreo.cli.output import echo, echo_json
from choreo.core.safe_text import for_terminal as t
from choreo.reconstruct.query.read import stuck_count, stuck_list


@click.command()
@log_options
@json_option
@click.option("--workflow", default=None, help="Only this workflow.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@click.option("--fail-on-stuck", is_flag=True, help="Exit 1 when any instance is stuck (for CI and cron).")
def stuck(
    dbs: tuple[str, ...],
    out: str | None,
    config_path: str | None,
    now_text: str | None,
    as_json: bool,
    workflow: str | None,
    limit: int | None,
    fail_on_stuck: bool,
) -> None:
    """List stuck instances with the expected next step and the responsible service."""
    with reconstructed(dbs, out, config_path, now_text) as lg:
        items = stuck_list(lg.store, workflow=workflow, limit=limit)
        total = stuck_count(lg.store, workflow=workflow)
    if as_json:
        doc = {"now_ms": lg.now_ms, "now_kind": lg.as_of.kind.value, "stuck": [x.as_dict() for x in items]}
        echo_json(doc)
    elif not items:
        echo(f"no stuck instances, {lg.as_of_text()}")
    else:
        shown = f"the {len(items)} most overdue of {total}" if len(items) < total else f"{total}"
        echo(f"{shown} stuck, {lg.as_of_text()}; most overdue first:")
        for x in items:
            echo(f"{t(x.label or x.instance_id)}  [{t(x.workflow)}, {x.reason}]  id {t(x.instance_id)}")
            echo(f"  {t(x.explanation)}")
    if fail_on_stuck and items:
        sys.exit(1)
