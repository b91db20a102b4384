"""Subcommands. Each module defines one click command (or group); keep them
thin: parse options, call into collector/ or reconstruct/, print.

Commands are imported only when run: `choreo --help` and a mistyped command
answer at once instead of importing DuckDB, Arrow, SciPy and Textual first.
The listing's one-line summaries are kept here for that reason
(tests/test_cli_commands.py checks them against the commands' own help).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import click


@dataclass(frozen=True)
class Entry:
    name: str
    module: str  # in choreo.cli.commands
    attr: str  # the click command in that module
    summary: str  # the first sentence of its help


REGISTRY: tuple[Entry, ...] = (
    Entry(
        "collect",
        "collect",
        "collect",
        "Tap a live Kafka cluster into the store (read-only; commits only its own group).",
    ),
    Entry(
        "demo",
        "demo",
        "demo",
        "Run the example choreographies on an embedded cluster and show what choreo makes of them.",
    ),
    Entry("export", "export", "export", "Export diagrams, traces and event logs from the store."),
    Entry(
        "import",
        "import_",
        "import_",
        "Load dumps into the store: kcat -C -J output (any header shape), choreo JSONL (from `choreo export "
        "events`), plain JSON lines or Kafka log segment files, optionally gzip or zstd compressed.",
    ),
    Entry(
        "keys",
        "keys",
        "keys",
        "Per identifier: events, values, linked types, stitching or not and the evidence.",
    ),
    Entry(
        "reconstruct",
        "reconstruct",
        "reconstruct_cmd",
        "Rebuild the derived tables (instances, workflow model, stuck list) now.",
    ),
    Entry(
        "report", "report", "report", "Workflows, status counts, variants, slowest steps and stuck instances."
    ),
    Entry(
        "sandbox", "sandbox", "sandbox", "Start only the embedded cluster and print its bootstrap address."
    ),
    Entry(
        "show",
        "show",
        "show",
        "Show the instance IDENT names: an instance id, an identifier value (4711) or name=value.",
    ),
    Entry(
        "status",
        "status",
        "status",
        "Summarise the store: events per topic, poison records, instances by workflow and status.",
    ),
    Entry(
        "stuck",
        "stuck",
        "stuck",
        "List stuck instances with the expected next step and the responsible service.",
    ),
    Entry(
        "trafficgen",
        "trafficgen",
        "trafficgen",
        "Scenario generator with ground truth, and a scorer of choreo's reconstruction.",
    ),
    Entry("tail", "tail", "tail", "Collect, reconstruct and watch live in the dashboard, in one process."),
    Entry("tui", "tui", "tui", "Browse workflows, instances and stuck sagas in a terminal dashboard."),
)
_BY_NAME = {e.name: e for e in REGISTRY}


def load(entry: Entry) -> click.Command:
    command = getattr(importlib.import_module(f"choreo.cli.commands.{entry.module}"), entry.attr)
    assert isinstance(command, click.Command)
    return command


class LazyGroup(click.Group):
    """A group whose subcommands are imported when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_BY_NAME)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _BY_NAME.get(cmd_name)
        return None if entry is None else load(entry)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = [(n, click.Command(n, help=_BY_NAME[n].summary).get_short_help_str(limit)) for n in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
