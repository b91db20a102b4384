"""Options shared by several subcommands."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from choreo.store import DEFAULT_DB

F = TypeVar("F", bound=Callable[..., object])


def db_option(f: F) -> F:
    return click.option(
        "--db",
        "db",
        default=DEFAULT_DB,
        show_default=True,
        type=click.Path(dir_okay=False),
        help="The DuckDB store file.",
    )(f)


def config_option(f: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="choreo.toml to use (default: ./choreo.toml if present).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(f)
