"""`choreo tail`: collect, reconstruct and watch in the dashboard, live."""

from __future__ import annotations

from pathlib import Path

import click

from choreo.cli.commands.options import config_option, db_option, export_dir_option, kafka_options
from choreo.cli.output import echo
from choreo.collector.extract import Extractor
from choreo.collector.kafka_tap import Collector, probe
from choreo.collector.settings import live_settings
from choreo.core.config import load_config
from choreo.core.errors import ChoreoError
from choreo.core.logsetup import default_log_file, logs_to_file
from choreo.core.snapshot_publish import Publisher
from choreo.core.store import Store

# Live, events should reach the screen within about a second.
_BATCH_SECONDS = 0.25
_PROGRESS_SECONDS = 0.5
_FINISH_TIMEOUT = 60.0  # seconds to wait for the collector's last batch at exit
_DUCKDB_MEMORY = "256MB"


@click.command()
@kafka_options
@export_dir_option
@db_option
@config_option
def tail(
    bootstrap: str,
    topics: str,
    group: str | None,
    start: str,
    extra: tuple[str, ...],
    connect_timeout: float,
    export_dir: Path,
    db: str,
    config_path: str | None,
) -> None:
    """Collect, reconstruct and watch live in the dashboard, in one process.

    Events stream into the store (exactly like `choreo collect`), instances
    are reconstructed as they arrive and judged against the wall clock, and
    the dashboard updates a few times a second. q finishes the batch in hand,
    commits its offsets and quits.

    \b
    Example:
      choreo tail -b localhost:9092 -t 'orders|payments|inventory|shipping'
    """
    from choreo.cli.dashboard import failures_logged, raise_if_crashed
    from choreo.cli.live_feed import LiveFeed, live_updater
    from choreo.tui.app import make_app
    from choreo.tui.data.export import export_workflow_diagram

    config = load_config(config_path)
    settings = live_settings(
        config,
        bootstrap=bootstrap,
        topics=topics,
        group=group,
        store=Path(db),
        start=start,
        extra=extra,
        connect_timeout=connect_timeout,
        batch_seconds=_BATCH_SECONDS,
        progress_interval=_PROGRESS_SECONDS,
    )
    # Bad -X values and an unreachable cluster fail before the store is touched.
    probe(settings)
    result: ChoreoError | None = None
    with (
        Store.open(db) as store,
        logs_to_file(default_log_file()) as log_path,
        failures_logged("tail", log_path),
        # Other commands read beside it from the snapshots it publishes.
        Publisher(store, "choreo tail"),
    ):
        # Hours of live data must not grow DuckDB's cache without end (it would
        # take most of the machine's memory); what does not fit spills to disk.
        store.con.execute(f"SET memory_limit = '{_DUCKDB_MEMORY}'")
        feed = LiveFeed(
            Collector(settings, store, Extractor(config.extract)),
            live_updater(config),
            bootstrap,
        )
        app = make_app(
            store,
            store_label=db,
            live=feed,
            export_workflow=export_workflow_diagram,
            export_dir=export_dir,
            log_path=log_path,
        )
        try:
            result = app.run()
        finally:
            # The dashboard is gone (or failed); the collector still stores its last batch.
            if feed.started.is_set() and not feed.stopped.wait(_FINISH_TIMEOUT):
                raise ChoreoError(f"the collector did not finish within {_FINISH_TIMEOUT:g}s")
            feed.close()  # a reconstruction still running in a worker ends first; none starts after
        raise_if_crashed(app, "tail", log_path)
    if feed.stats is not None:
        echo(f"tail: {feed.stats.consumed:,} records read, {feed.stats.stored:,} new in {db}", err=True)
    if result is not None:
        raise result
    if app.return_code:
        # The dashboard ended on an error (printed above, e.g. a failed live
        # reconstruction): scripts and supervisors must see it failed.
        raise click.exceptions.Exit(app.return_code)
