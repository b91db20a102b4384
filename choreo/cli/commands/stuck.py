"""`choreo stuck`: stuck instances, whose move it is, most overdue first."""

from __future__ import annotations

import sys

import click
import orjson

from choreo.cli.commands.derived import log_options, reconstructed
from choreo.cli.commands.options import json_option
from choreo.reconstruct.query.read import stuck_list


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
        now = lg.now_ms
    if as_json:
        doc = {"now_ms": now, "stuck": [x.as_dict() for x in items]}
        click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    elif not items:
        click.echo("no stuck instances")
    else:
        for x in items:
            click.echo(f"{x.label or x.instance_id}  [{x.workflow}, {x.reason}]  id {x.instance_id}")
            click.echo(f"  {x.explanation}")
    if fail_on_stuck and items:
        sys.exit(1)
