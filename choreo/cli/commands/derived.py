"""Shared plumbing of the commands that read reconstructed data.

``--db`` may be repeated: the stores are read as one event log and the
derived tables are written into the first one (or ``--out``). Every command
brings the derived tables up to date first: a full rebuild when the raw
events or the config changed since the last one, otherwise only the open
instances are re-judged at the current "now" (``reconstruct.query.asof``:
one notion for every command and the dashboard).

A store that another process is writing (``choreo collect``, ``tail``, the
dashboard) is read from that process's newest snapshot, in a private copy
(``core.snapshot``); the engine is imported only when there is work for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import click

from choreo.cli.commands.options import config_option, now_option
from choreo.core.config import ChoreoConfig, load_config
from choreo.core.event_log import open_log
from choreo.core.snapshot import Snapshot, SnapshotStore
from choreo.core.store import DEFAULT_DB, Store
from choreo.core.timefmt import parse_now
from choreo.reconstruct.query.asof import AsOf, is_stale, judged_as_of, record_as_of, resolve_now

if TYPE_CHECKING:
    from choreo.reconstruct.engine.pipeline import RebuildStats

F = TypeVar("F", bound=Callable[..., object])


def log_options(f: F) -> F:
    """--db (repeatable), --out, --config, --now."""
    f = now_option(f)
    f = config_option(f)
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


@dataclass
class Log:
    store: Store
    config: ChoreoConfig
    as_of: AsOf
    rebuilt: RebuildStats | None
    snapshot: Snapshot | None  # set when read from a writer's snapshot

    @property
    def now_ms(self) -> int:
        return self.as_of.ms

    def as_of_text(self) -> str:
        """``as of ..., live`` (and, from a snapshot, whose and how old)."""
        text = self.as_of.describe()
        return text if self.snapshot is None else f"{text}; {self.snapshot.describe()}"


def bring_up_to_date(
    store: Store, config: ChoreoConfig, given_ms: int | None, *, force: bool = False
) -> tuple[AsOf, RebuildStats | None]:
    """Rebuild when stale (or ``force``), else re-judge the open instances when
    "now" moved; record which "now" the statuses are as of."""
    as_of = resolve_now(store, given_ms)
    stats: RebuildStats | None = None
    if force or is_stale(store, config):
        from choreo.reconstruct.engine.pipeline import rebuild

        stats = rebuild(store, config, now_ms=as_of.ms)
    elif judged_as_of(store) != as_of:
        # Not the whole engine: a store collected live is re-judged at every command's start.
        from choreo.reconstruct.engine.judging import judge

        judge(store, config, as_of.ms)
    else:
        return as_of, None  # judged at this very "now" already: nothing to write
    record_as_of(store, as_of)
    return as_of, stats


@contextmanager
def reconstructed(
    dbs: tuple[str, ...],
    out: str | None,
    config_path: str | None,
    now_text: str | None,
    *,
    force: bool = False,
) -> Iterator[Log]:
    """Open the log, bring the derived tables up to date, yield it.

    ``force`` (``choreo reconstruct``) rebuilds into the store itself, so it
    never reads a writer's snapshot instead."""
    config = load_config(config_path)
    now_ms = parse_now(now_text)
    with open_log(list(dbs) or [DEFAULT_DB], out=out, snapshots=not force) as store:
        as_of, stats = bring_up_to_date(store, config, now_ms, force=force)
        snap = store.snapshot if isinstance(store, SnapshotStore) else None
        yield Log(store, config, as_of, stats, snap)
