"""`choreo collect`: tap a live Kafka cluster into the store."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType

import click

from choreo.cli.commands.options import config_option, db_option, kafka_options
from choreo.cli.output import echo
from choreo.collector.extract import Extractor
from choreo.collector.kafka_tap import Collector, probe
from choreo.collector.settings import live_settings
from choreo.core.config import load_config
from choreo.core.gc_tuning import rare_gc
from choreo.core.progress import CollectProgress, CollectStats
from choreo.core.snapshot_publish import Publisher
from choreo.core.store import Store

_LOG_PROGRESS_EVERY = 10.0  # seconds between progress lines when stderr is not a terminal
_DUCKDB_MEMORY = 128 * 2**20  # bytes; raised as large values need (Store.limit_memory)


class _ProgressLine:
    """A progress line on stderr: rewritten in place on a terminal, logged periodically otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._last_logged = 0.0
        self._width = 0

    def __call__(self, p: CollectProgress) -> None:
        lag = "?" if p.lag is None else f"{p.lag:,}"
        state = "" if p.connected else "  [kafka unreachable, retrying]"
        text = (
            f"collect: {p.rate:,.0f} events/s  total {p.consumed:,}  new {p.stored:,}  "
            f"lag {lag}  partitions {p.partitions}{state}"
        )
        if self.tty:
            pad = max(0, self._width - len(text))
            self._width = len(text)
            echo(text + " " * pad, err=True, nl=False, rewrite=True)
        elif time.monotonic() - self._last_logged >= _LOG_PROGRESS_EVERY:
            self._last_logged = time.monotonic()
            echo(text, err=True)

    def end(self) -> None:
        if self.tty and self._width:
            echo("", err=True)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            echo("\ncollect: still finishing the current batch...", err=True)
        stop.set()

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _summary(stats: CollectStats, db: str) -> str:
    rate = stats.consumed / stats.active if stats.active > 0 else 0.0
    why = {"idle": "idle", "signal": "stopped"}.get(stats.stopped_by, stats.stopped_by)
    extra = f", {stats.poison} poison" if stats.poison else ""
    outages = f", {stats.outages} kafka outage(s) survived" if stats.outages else ""
    return (
        f"collect: {why}: {stats.consumed:,} records read, {stats.stored:,} new in {db}{extra}{outages}; "
        f"{rate:,.0f} events/s over {stats.active:.1f}s"
    )


@click.command()
@kafka_options
@click.option(
    "--until-idle",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Stop after this long without a new record (default: run until Ctrl-C).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=122_880,
    show_default=True,
    help="Store and commit after at most this many records.",
)
@click.option(
    "--batch-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Store and commit at least this often.",
)
@click.option(
    "--no-snapshots",
    is_flag=True,
    help="Publish no read-only snapshots for other commands to read beside it (they then wait for it "
    "to stop); saves their disk space and copying.",
)
@db_option
@config_option
def collect(
    bootstrap: str,
    topics: str,
    group: str | None,
    start: str,
    extra: tuple[str, ...],
    connect_timeout: float,
    until_idle: float | None,
    batch_size: int,
    batch_seconds: float,
    no_snapshots: bool,
    db: str,
    config_path: str | None,
) -> None:
    """Tap a live Kafka cluster into the store (read-only; commits only its own group).

    Records are stored, then their offsets committed: a restart after a crash
    continues without losing or doubling anything. Ctrl-C finishes the batch.

    \b
    Example:
      choreo collect -b localhost:9092 -t 'orders|payments|shipping.*' --until-idle 5
    """
    config = load_config(config_path)
    extractor = Extractor(config.extract)
    settings = live_settings(
        config,
        bootstrap=bootstrap,
        topics=topics,
        group=group,
        store=Path(db),
        start=start,
        extra=extra,
        connect_timeout=connect_timeout,
        until_idle=until_idle,
        batch_size=batch_size,
        batch_seconds=batch_seconds,
    )
    # Bad -X values and an unreachable cluster fail before the store is touched.
    probe(settings)
    stop = threading.Event()
    progress = _ProgressLine()
    with Store.open(db) as store, _stop_on_signals(stop), rare_gc(), ExitStack() as publishing:
        if not no_snapshots:
            # Other commands read beside it from the snapshots it publishes (core.snapshot).
            publishing.enter_context(Publisher(store, "choreo collect"))
        # A collector's memory must not grow with the store: DuckDB otherwise
        # keeps what it wrote cached, up to most of the machine's RAM.
        store.limit_memory(_DUCKDB_MEMORY)
        collector = Collector(settings, store, extractor, on_progress=progress)
        try:
            stats = collector.run(stop)
        finally:
            progress.end()
    echo(_summary(stats, db), err=True)
