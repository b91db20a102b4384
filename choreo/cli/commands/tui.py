"""`choreo tui`: the dashboard on a store."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import click

from choreo.cli.commands.options import config_option, db_option, export_dir_option, now_option
from choreo.core.config import ChoreoConfig, load_config
from choreo.core.errors import ChoreoError, StoreDamagedError, StoreError
from choreo.core.logsetup import default_log_file, logs_to_file
from choreo.core.snapshot import SnapshotStore, open_for_reading
from choreo.core.snapshot_publish import Publisher
from choreo.core.store import Store
from choreo.core.timefmt import parse_now

if TYPE_CHECKING:
    from choreo.tui.context import LiveSource, Reconstruction


def open_for_tui(db: str | Path, *, read_only: bool) -> tuple[Store | None, ChoreoError | None]:
    """Open the store (or, while another process writes it, a copy of its
    newest snapshot), or say on screen why not: the dashboard shows the
    problem instead of a traceback, and never creates a store by accident."""
    path = Path(db)
    if not path.exists():
        return None, StoreError(
            f"{path} does not exist; fill a store with `choreo collect`, `choreo import` or `choreo demo`, "
            "or name one with --db"
        )
    try:
        return open_for_reading(path, writable=not read_only), None
    except StoreDamagedError:
        raise  # nothing to show: one line and exit 2, as every command says it
    except StoreError as exc:
        return None, exc


def reconstruction(config: ChoreoConfig, now_ms: int | None = None) -> Reconstruction:
    """Rebuild the derived tables when the events or the config changed since;
    judge them at the dashboard's "now" (``now_ms``, else the default)."""
    from choreo.cli.commands.derived import bring_up_to_date
    from choreo.reconstruct.query.asof import AsOf, is_stale
    from choreo.tui.context import Reconstruction

    def up_to_date(store: Store) -> AsOf:
        # Not beside the snapshot publisher's CHECKPOINT (see LiveFeed.update).
        with store.checkpoint_lock:
            return bring_up_to_date(store, config, now_ms)[0]

    return Reconstruction(is_stale=lambda s: is_stale(s, config), bring_up_to_date=up_to_date)


@click.command("tui")
@db_option
@config_option
@now_option
@click.option(
    "--read-only",
    is_flag=True,
    help="Never write the store: show it as last reconstructed and judged.",
)
@export_dir_option
def tui(db: str, config_path: str | None, now_text: str | None, read_only: bool, export_dir: Path) -> None:
    """Browse workflows, instances and stuck sagas in a terminal dashboard.

    Keys are shown at the bottom; ? lists them all. A store whose events are
    not reconstructed yet is reconstructed first, and stuck instances are
    judged as of "now" (the wall clock for collected data, the newest event for
    imported dumps, or --now) when it opens and, live, every few seconds.
    While `choreo collect` or `choreo tail` writes the store, the dashboard
    follows it live from the snapshots they publish.

    \b
    Example:
      choreo tui --db demo.duckdb
    """
    from choreo.cli.dashboard import failures_logged, raise_if_crashed
    from choreo.cli.follow import SnapshotFollower, follows
    from choreo.cli.live_feed import live_updater
    from choreo.tui.app import make_app
    from choreo.tui.data.export import export_workflow_diagram

    config = load_config(config_path)
    now_ms = parse_now(now_text)
    store, problem = open_for_tui(db, read_only=read_only)
    with ExitStack() as stack:
        if store is not None:
            stack.callback(store.close)
        log_path = stack.enter_context(logs_to_file(default_log_file()))
        stack.enter_context(failures_logged("tui", log_path))
        live: LiveSource | None = None
        if store is not None and follows(store) and now_ms is None:
            assert isinstance(store, SnapshotStore)
            live = SnapshotFollower(store, db, live_updater(config))
        elif store is not None and not store.read_only and not isinstance(store, SnapshotStore):
            # It holds the store while it runs: other readers use its snapshots.
            stack.enter_context(Publisher(store, "choreo tui"))
        app = make_app(
            store,
            store_label=db,
            problem=problem,
            live=live,
            reconstruction=None if read_only else reconstruction(config, now_ms),
            export_workflow=export_workflow_diagram,
            export_dir=export_dir,
            log_path=log_path,
        )
        failed = app.run()
        raise_if_crashed(app, "tui", log_path)
    if problem is not None:
        raise problem
    if failed is not None:
        raise failed  # a store failure that stopped the dashboard
