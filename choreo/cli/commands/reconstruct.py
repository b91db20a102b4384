"""`choreo reconstruct`: rebuild instances, model and stuck list from the events."""

from __future__ import annotations

import click

from choreo.cli.commands.derived import log_options, reconstructed
from choreo.cli.commands.options import json_option
from choreo.cli.output import echo, echo_json


@click.command("reconstruct")
@log_options
@json_option
def reconstruct_cmd(
    dbs: tuple[str, ...], out: str | None, config_path: str | None, now_text: str | None, as_json: bool
) -> None:
    """Rebuild the derived tables (instances, workflow model, stuck list) now."""
    with reconstructed(dbs, out, config_path, now_text, force=True) as lg:
        stats = lg.rebuilt
    assert stats is not None
    if as_json:
        echo_json(stats.__dict__)
        return
    echo(
        f"{stats.events:,} events -> {stats.instances:,} instances in {stats.workflows} workflow(s) "
        f"in {stats.seconds:.2f}s; {stats.stuck:,} stuck, {stats.duplicates:,} duplicates, "
        f"{stats.skewed:,} skew-adjusted, {stats.unlinked:,} unlinked"
    )
    if stats.traps:
        echo(f"not stitched through (shared by many instances): {', '.join(stats.traps)}")
