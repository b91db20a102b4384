"""Shared plumbing of the commands that read reconstructed data.

``--db`` may be repeated: the stores are read as one event log and the
derived tables are written into the first one (or ``--out``). Every command
brings the derived tables up to date first: a full rebuild when the raw
events or the config changed since the last one, otherwise only the open
instances are re-judged at the current "now".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import click

from choreo.collector.extract import parse_time_ms
from choreo.core.config import ChoreoConfig, load_config
from choreo.core.errors import InputError
from choreo.core.event_log import open_log
from choreo.core.schema import META_NOW
from choreo.core.store import DEFAULT_DB, Store
from choreo.reconstruct.engine.pipeline import RebuildStats, default_now, is_stale, judge, rebuild

F = TypeVar("F", bound=Callable[..., object])


def log_options(f: F) -> F:
    """--db (repeatable), --out, --config, --now."""
    f = click.option(
        "--now",
        "now_text",
        default=None,
        metavar="TIME",
        help="Judge stuck instances as of TIME (ISO-8601 or epoch ms). Default: the newest event "
        "time for imported data, the wall clock otherwise.",
    )(f)
    f = click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="choreo.toml to use (default: ./choreo.toml if present).",
    )(f)
    f = click.option(
        "--out",
        "out",
        type=click.Path(dir_okay=False),
        default=None,
        help="Write the derived tables into this store instead of the first --db.",
    )(f)
    return click.option(
        "--db",
        "dbs",
        multiple=True,
        type=click.Path(dir_okay=False),
        help=f"A store file; repeat to read several as one log. Default: {DEFAULT_DB}.",
    )(f)


def parse_now(text: str | None) -> int | None:
    if text is None:
        return None
    value: object = int(text) if text.strip().isdigit() else text.strip()
    ms = parse_time_ms(value)
    if ms is None:
        raise InputError(f"--now {text!r} is not a time (use ISO-8601 with a zone, or epoch ms)")
    return ms


@dataclass
class Log:
    store: Store
    config: ChoreoConfig
    now_ms: int
    rebuilt: RebuildStats | None


@contextmanager
def reconstructed(
    dbs: tuple[str, ...],
    out: str | None,
    config_path: str | None,
    now_text: str | None,
    *,
    force: bool = False,
) -> Iterator[Log]:
    """Open the log, bring the derived tables up to date, yield it."""
    config = load_config(config_path)
    now_ms = parse_now(now_text)
    with open_log(list(dbs) or [DEFAULT_DB], out=out) as store:
        stats: RebuildStats | None = None
        if force or is_stale(store, config):
            stats = rebuild(store, config, now_ms=now_ms)
            now = stats.now_ms
        else:
            now = default_now(store.con) if now_ms is None else now_ms
            if store.get_meta(META_NOW) != str(now):
                judge(store, config, now)
        yield Log(store, config, now, stats)
