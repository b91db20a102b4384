"""Helpers for the live-collector tests: real producers, collectors in a
thread or as a `choreo collect` subprocess, and store queries."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from choreo.collector.extract import Extractor
from choreo.collector.kafka_tap import Collector, CollectSettings
from choreo.core.progress import CollectProgress, CollectStats
from choreo.core.store import Store

# Fast group membership on the embedded cluster: its rebalances wait about
# session.timeout.ms - 1 s for members to rejoin.
FAST_GROUP = {"session.timeout.ms": "2000", "heartbeat.interval.ms": "200"}
FAST_GROUP_ARGS = [arg for k, v in FAST_GROUP.items() for arg in ("-X", f"{k}={v}")]

Record = tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]] | None]  # topic, key, value, headers


def produce(bootstrap: str, records: Iterable[Record], partition: int | None = None) -> int:
    """Produce records with a real producer and wait until all are acknowledged."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    errors: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    n = 0
    for topic, key, value, headers in records:
        kwargs: dict[str, Any] = {"key": key, "value": value, "headers": headers, "on_delivery": on_delivery}
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                p.produce(topic, **kwargs)
                break
            except BufferError:
                p.poll(0.1)
        n += 1
    remaining = p.flush(30)
    assert remaining == 0 and not errors, f"produce failed: {remaining} unsent, errors {errors[:3]}"
    return n


def settings(bootstrap: str, topics: str, group: str, **kw: Any) -> CollectSettings:
    extra = dict(FAST_GROUP)
    extra.update(kw.pop("extra", {}))
    kw.setdefault("batch_size", 500)
    kw.setdefault("batch_seconds", 0.2)
    kw.setdefault("progress_interval", 0.2)
    kw.setdefault("connect_timeout", 5.0)
    return CollectSettings(bootstrap=bootstrap, topics=topics, group=group, extra=extra, **kw)


@dataclass
class RunningCollector:
    """A Collector running in a thread with its own store; ``stop()`` returns its stats."""

    collector: Collector
    store: Store
    stop_event: threading.Event
    thread: threading.Thread
    progress: list[CollectProgress]
    result: list[CollectStats | BaseException]

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Read the store while the collector writes it (a connection of our own)."""
        cur = self.store.con.cursor()
        try:
            return cur.execute(sql).fetchall()
        finally:
            cur.close()

    def stop(self, timeout: float = 30.0) -> CollectStats:
        self.stop_event.set()
        return self.join(timeout)

    def join(self, timeout: float = 30.0) -> CollectStats:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "collector did not stop"
        self.store.close()
        out = self.result[0]
        if isinstance(out, BaseException):
            raise out
        return out


def start_collector(s: CollectSettings, db: Path, extractor: Extractor | None = None) -> RunningCollector:
    store = Store.open(db)
    progress: list[CollectProgress] = []
    result: list[CollectStats | BaseException] = []
    collector = Collector(s, store, extractor or Extractor(), on_progress=progress.append)
    stop = threading.Event()

    def target() -> None:
        try:
            result.append(collector.run(stop))
        except BaseException as exc:
            result.append(exc)

    thread = threading.Thread(target=target, name="test-collector", daemon=True)
    thread.start()
    return RunningCollector(collector, store, stop, thread, progress, result)


def collect_until_idle(s: CollectSettings, db: Path, extractor: Extractor | None = None) -> CollectStats:
    assert s.until_idle is not None
    return start_collector(s, db, extractor).join(timeout=60)


def choreo_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "choreo.cli", *args]


def run_choreo(*args: str, timeout: float = 60, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        choreo_cmd(*args), capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env
    )


def stored_keys(db: Path) -> list[tuple[str, int, int]]:
    with Store.open(db, read_only=True) as s:
        rows = s.query('SELECT topic, partition, "offset" FROM events ORDER BY 1, 2, 3')
    return [(str(t), int(p), int(o)) for t, p, o in rows]


def query(db: Path, sql: str, params: Sequence[object] | None = None) -> list[tuple[Any, ...]]:
    with Store.open(db, read_only=True) as s:
        return s.query(sql, params)


@dataclass
class CliResult:
    returncode: int
    stderr: str
    stdout: str


def run_main(capsys: Any, *args: str) -> CliResult:
    """Run the real CLI entry point in this process (cheaper than a subprocess)."""
    import logging

    from choreo.cli.main import main

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in handlers:
            root.addHandler(h)
        root.setLevel(level)
    out = capsys.readouterr()
    return CliResult(code, out.err, out.out)
