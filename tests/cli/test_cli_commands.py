"""The command list: every subcommand reachable, listed with its own summary,
and none of them imported just to print `choreo --help`."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from choreo.cli.commands import REGISTRY, Entry, load
from choreo.cli.main import cli


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.name)
def test_listing_summary_is_the_commands_own(entry: Entry) -> None:
    command = load(entry)
    assert command.name == entry.name
    for limit in (45, 60, 90):
        listed = click.Command(entry.name, help=entry.summary).get_short_help_str(limit)
        assert listed == command.get_short_help_str(limit)


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for entry in REGISTRY:
        assert f"  {entry.name} " in result.output


def test_help_imports_no_command_module() -> None:
    code = (
        "import sys; from choreo.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('duckdb', 'pyarrow', 'textual', 'scipy') if m in sys.modules]\n"
        "print(','.join(heavy), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stderr.strip() == ""
