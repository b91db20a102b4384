"""Promise: kill -9 at any moment loses and doubles nothing, and leaves no
process or temporary file behind (issue 15, finding 8).

Twenty kills of `choreo import` (a file big enough for the import's worker
processes, and --strict from stdin, which keeps the input in a temporary
file) and twenty of `choreo collect`, each at a point chosen at random
(after a random share of the input was read or committed), then one run to
the end: every record stored exactly once, and every process the killed
ones started gone, and their temporary directory empty.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.conftest import KafkaTarget
from tests.support.collect_helpers import FAST_GROUP, FAST_GROUP_ARGS, choreo_cmd, produce, query
from tests.support.waiting import wait_for

# Twenty runs each; on a loaded machine they take minutes, not the default 300 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

KILLS = 20
LINES = 40_000  # about 38 MB: over the size from which import decodes in worker processes
TOPIC_RECORDS = 30_000


@pytest.fixture(scope="module")
def big_dump(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("kill") / "app.jsonl"
    pad = "x" * 900  # few, big lines: the size that brings worker processes in, cheaply decoded
    with path.open("w") as f:
        for i in range(LINES):
            row = {"type": "OrderPlaced", "orderId": f"o-{i}", "time": 1_700_000_000_000 + i, "pad": pad}
            f.write(json.dumps(row) + "\n")
    yield path


def _env(tmp: Path) -> dict[str, str]:
    return dict(os.environ, TMPDIR=str(tmp), PYTHONUNBUFFERED="1")


def _family(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    try:
        return list(psutil.Process(proc.pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return []


def _kill_when(proc: subprocess.Popen[bytes], ready: Callable[[], bool], seen: list[psutil.Process]) -> None:
    """SIGKILL ``proc`` once ``ready()`` (or once it ended by itself), noting
    the processes it started by then."""

    def due() -> bool:
        seen.extend(c for c in _family(proc) if c not in seen)
        return proc.poll() is not None or ready()

    wait_for(due, timeout=300, interval=0.05, what="the kill point")
    seen.extend(c for c in _family(proc) if c not in seen)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _read_share(proc: subprocess.Popen[bytes], path: Path) -> float:
    """How much of ``path`` the process has read (0 while it is not open yet)."""
    try:
        files = psutil.Process(proc.pid).open_files()
    except psutil.Error:
        return 0.0
    size = path.stat().st_size
    return max((f.position / size for f in files if f.path == str(path) and f.position), default=0.0)


def _reading(proc: subprocess.Popen[bytes], path: Path, share: float) -> Callable[[], bool]:
    return lambda: _read_share(proc, path) >= share


def _gone(seen: list[psutil.Process]) -> bool:
    return not [p for p in seen if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_import_killed_20_times_then_exactly_once(big_dump: Path, tmp_path: Path) -> None:
    rng = random.Random(15)
    db = tmp_path / "s.duckdb"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    seen: list[psutil.Process] = []
    for kill in range(KILLS):
        share = rng.uniform(0.02, 0.3)
        if kill % 4 == 3:  # --strict from stdin: the input is spooled to a temporary file first
            proc = subprocess.Popen(
                choreo_cmd("import", "--db", str(db), "--strict", "--no-reconstruct", "-"),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=_env(tmp),
            )
            assert proc.stdin is not None
            data = big_dump.read_bytes()
            cut = int(len(data) * share)
            proc.stdin.write(data[:cut])
            proc.stdin.flush()
            _kill_when(proc, lambda: True, seen)
            proc.stdin.close()
        else:
            proc = subprocess.Popen(
                choreo_cmd("import", "--db", str(db), "--no-reconstruct", str(big_dump)),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=_env(tmp),
            )
            _kill_when(proc, _reading(proc, big_dump, share), seen)
    wait_for(lambda: _gone(seen), timeout=60, what="every process the killed imports started gone")
    done = subprocess.run(
        choreo_cmd("import", "--db", str(db), "--no-reconstruct", str(big_dump)),
        capture_output=True,
        text=True,
        env=_env(tmp),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert query(db, 'SELECT count(*), count(DISTINCT "offset"), count(DISTINCT partition) FROM events') == [
        (LINES, LINES, 1)
    ]
    assert list(tmp.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.duckdb", "tmp"]


@pytest.mark.parametrize("strict", [False, True])
def test_import_stopped_by_sigterm_cleans_up(big_dump: Path, tmp_path: Path, strict: bool) -> None:
    """SIGTERM (what a supervisor sends) stops an import like Ctrl-C: its
    worker processes stop with it and its temporary file goes."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    args = ["import", "--db", str(tmp_path / "s.duckdb"), "--no-reconstruct"]
    with big_dump.open("rb") as stdin:
        proc = subprocess.Popen(
            choreo_cmd(*args, *(["--strict", "-"] if strict else [str(big_dump)])),
            stdin=stdin if strict else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_env(tmp),
        )
        seen: list[psutil.Process] = []

        def started() -> bool:
            seen.extend(c for c in _family(proc) if c not in seen)
            return proc.poll() is not None or _read_share(proc, big_dump) >= 0.2

        wait_for(started, timeout=300, what="the import under way")
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 130), err
    assert b"Traceback" not in err
    wait_for(lambda: _gone(seen), timeout=60, what="the import's processes gone")
    assert list(tmp.iterdir()) == []


def _committed(kafka: KafkaTarget, group: str, topic: str) -> int:
    c = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": group, **FAST_GROUP})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    finally:
        c.close()
    return sum(tp.offset for tp in tps if tp.offset >= 0)


def _committing(kafka: KafkaTarget, group: str, topic: str, target: int) -> Callable[[], bool]:
    return lambda: _committed(kafka, group, topic) >= target


@pytest.mark.kafka
def test_collect_killed_20_times_then_exactly_once(kafka: KafkaTarget, tmp_path: Path) -> None:
    topic = kafka.create_topic("kills", 3)
    rng = random.Random(15)
    group = f"{kafka.prefix}kills"
    db = tmp_path / "s.duckdb"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    args = ["collect", "-b", kafka.bootstrap, "-t", topic, "-g", group, "--db", str(db), *FAST_GROUP_ARGS]
    seen: list[psutil.Process] = []
    per_kill = TOPIC_RECORDS // KILLS
    mid_backlog = 0
    for k in range(KILLS):
        # Each run finds a backlog and is killed somewhere inside it (small
        # batches: many store-then-commit steps to be caught between).
        produce(kafka.bootstrap, _orders(topic, k * per_kill, per_kill))
        target = _committed(kafka, group, topic) + rng.randint(0, per_kill)
        proc = subprocess.Popen(
            choreo_cmd(*args, "--batch-size", "100"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_env(tmp),
        )
        _kill_when(proc, _committing(kafka, group, topic, target), seen)
        mid_backlog += _committed(kafka, group, topic) < (k + 1) * per_kill
    assert mid_backlog, "every kill came after its backlog was read: nothing tested"
    done = subprocess.run(
        choreo_cmd(*args, "--until-idle", "1"), capture_output=True, text=True, env=_env(tmp), timeout=300
    )
    assert done.returncode == 0, done.stderr
    n = per_kill * KILLS
    assert query(db, "SELECT count(*), count(DISTINCT key) FROM events") == [(n, n)]
    assert _committed(kafka, group, topic) == n
    wait_for(lambda: _gone(seen), timeout=60, what="every process the killed collectors started gone")
    assert list(tmp.iterdir()) == []


def _orders(topic: str, first: int, n: int) -> list[tuple[str, bytes, bytes, None]]:
    return [
        (topic, f"o-{i}".encode(), json.dumps({"type": "OrderPlaced", "orderId": f"o-{i}"}).encode(), None)
        for i in range(first, first + n)
    ]
