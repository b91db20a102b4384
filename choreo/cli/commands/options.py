"""Options shared by several subcommands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from choreo.core.store import DEFAULT_DB

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


def now_option(f: F) -> F:
    return click.option(
        "--now",
        "now_text",
        default=None,
        metavar="TIME",
        help="Judge stuck instances as of TIME (ISO-8601 or epoch ms). Default: the newest event "
        "time for imported data, the wall clock otherwise.",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(f)


def export_dir_option(f: F) -> F:
    return click.option(
        "--export-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(),
        show_default=True,
        help="Where the model view's Graphviz export writes.",
    )(f)


def kafka_options(f: F) -> F:
    """Where and how to read a live cluster: shared by `collect` and `tail`."""
    options = [
        click.option(
            "-b", "--bootstrap", required=True, metavar="HOST:PORT[,...]", help="Kafka bootstrap servers."
        ),
        click.option(
            "-t",
            "--topics",
            required=True,
            metavar="REGEX",
            help="Topics to tap: a regular expression matched against whole topic names; "
            "topics created later are picked up.",
        ),
        click.option(
            "-g",
            "--group",
            default=None,
            help="Consumer group of choreo [default: one per host and store, choreo-<host>-<store>-<hash>].",
        ),
        click.option(
            "--from",
            "start",
            default="earliest",
            show_default=True,
            metavar="earliest|latest|TIME",
            help="Where to start where the group has no committed offset; an ISO-8601 time "
            "seeks every partition to that time.",
        ),
        click.option(
            "-X",
            "extra",
            multiple=True,
            metavar="KEY=VALUE",
            help="librdkafka setting, e.g. -X security.protocol=SASL_SSL (repeatable).",
        ),
        click.option(
            "--connect-timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=10.0,
            show_default=True,
            help="Give up at start when the cluster cannot be reached for this long.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f
