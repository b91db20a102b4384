"""`choreo tui`: the dashboard on a store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from choreo.cli.commands.options import config_option, db_option, export_dir_option
from choreo.core.config import ChoreoConfig, load_config
from choreo.core.errors import ChoreoError, StoreError
from choreo.core.logsetup import default_log_file, logs_to_file
from choreo.core.store import Store

if TYPE_CHECKING:
    from choreo.tui.context import Reconstruction


def open_for_tui(db: str | Path, *, read_only: bool) -> tuple[Store | None, ChoreoError | None]:
    """Open the store, or say on screen why not: the dashboard shows the
    problem instead of a traceback, and never creates a store by accident."""
    path = Path(db)
    if not path.exists():
        return None, StoreError(
            f"{path} does not exist; fill a store with `choreo collect`, `choreo import` or `choreo demo`, "
            "or name one with --db"
        )
    try:
        return Store.open(path, read_only=read_only), None
    except StoreError as exc:
        return None, exc


def reconstruction(config: ChoreoConfig) -> Reconstruction:
    """Rebuild the derived tables when the events or the config changed since."""
    from choreo.reconstruct.engine.pipeline import is_stale, rebuild
    from choreo.tui.context import Reconstruction

    return Reconstruction(is_stale=lambda s: is_stale(s, config), rebuild=lambda s: rebuild(s, config))


@click.command("tui")
@db_option
@config_option
@click.option(
    "--read-only",
    is_flag=True,
    help="Open the store read-only (other readers may share it; nothing is reconstructed).",
)
@export_dir_option
def tui(db: str, config_path: str | None, read_only: bool, export_dir: Path) -> None:
    """Browse workflows, instances and stuck sagas in a terminal dashboard.

    Keys are shown at the bottom; ? lists them all. A store whose events are
    not reconstructed yet is reconstructed first (unless --read-only).

    \b
    Example:
      choreo tui --db demo.duckdb
    """
    from choreo.tui.app import make_app
    from choreo.tui.data.export import export_workflow_diagram

    config = load_config(config_path)
    store, problem = open_for_tui(db, read_only=read_only)
    try:
        with logs_to_file(default_log_file()) as log_path:
            app = make_app(
                store,
                store_label=db,
                problem=problem,
                reconstruction=None if read_only else reconstruction(config),
                export_workflow=export_workflow_diagram,
                export_dir=export_dir,
                log_path=log_path,
            )
            app.run()
    finally:
        if store is not None:
            store.close()
    if problem is not None:
        raise problem
