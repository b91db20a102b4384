"""The ``choreo`` command line. Each subcommand lives in choreo/cli/commands/.

User mistakes (ChoreoError) print one line on stderr and exit 2; click's own
usage errors exit 2 as well. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
import traceback

import click

from choreo.cli.commands import LazyGroup
from choreo.cli.output import echo
from choreo.core.errors import ChoreoError
from choreo.core.logsetup import setup_logging


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.option("-v", "--verbose", count=True, help="More log detail on stderr (-vv for debug).")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Write logs here instead of stderr.")
@click.version_option(package_name="choreo")
def cli(verbose: int, log_file: str | None) -> None:
    """choreo: see what a Kafka choreography actually did."""
    setup_logging(verbose, log_file)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="choreo", standalone_mode=False)
    except ChoreoError as exc:
        echo(f"choreo: {exc.one_line()}", err=True)
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        # One line, like every other input error (click's default is three).
        where = exc.ctx.command_path if exc.ctx is not None else "choreo"
        text = " ".join(exc.format_message().split())
        echo(f"choreo: usage: {text} (see '{where} --help')", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        echo("choreo: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        echo(f"choreo: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error.
        sys.exit(0)
    except Exception as exc:
        # A store that failed under a command (damaged, full, ...) is one line
        # and exit 2; anything else is a bug and keeps its traceback (made safe).
        from choreo.core.store_errors import store_failure

        typed = store_failure(exc)
        if typed is not None:
            echo(f"choreo: {typed.one_line()}", err=True)
            sys.exit(typed.exit_code)
        echo(traceback.format_exc(), err=True, nl=False)
        sys.exit(1)
    sys.exit(0)
