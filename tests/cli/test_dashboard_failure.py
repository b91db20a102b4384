"""When the dashboard fails, it leaves the terminal as it found it, writes
the traceback to the log file, says one line and exits non-zero — run on a
real pseudo-terminal, as a user runs it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from choreo.core.store import Store
from tests.conftest import KafkaTarget
from tests.support.collect_helpers import FAST_GROUP_ARGS, choreo_cmd, produce
from tests.support.terminal import Terminal, plain
from tests.support.tui_fixtures import FixtureStore
from tests.tui.test_tui_live import orders


def test_a_failing_dashboard_says_one_line_and_logs_the_traceback(
    mixed: FixtureStore, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.duckdb"
    shutil.copy(mixed.path, broken)
    import duckdb

    con = duckdb.connect(str(broken))
    # A bug's stand-in: the overview's stuck query fails on the first screen.
    con.execute("ALTER TABLE stuck DROP COLUMN explanation")
    con.close()
    term, state = _on_a_terminal(tmp_path, "tui", "--read-only", "--db", str(broken))
    _failed_in_one_line(term, "tui", "explanation", state)


@pytest.mark.kafka
def test_a_failing_tail_says_one_line_and_logs_the_traceback(kafka: KafkaTarget, tmp_path: Path) -> None:
    topic = kafka.create_topic("orders", partitions=1)
    produce(kafka.bootstrap, orders(topic, 0, 3))
    broken = tmp_path / "broken.duckdb"
    with Store.open(broken) as store:
        # A bug's stand-in: the raw events table lacks a column every reader and the writer use.
        store.con.execute("ALTER TABLE events DROP COLUMN ingested_ms")
    term, state = _on_a_terminal(
        tmp_path,
        "tail",
        "-b",
        kafka.bootstrap,
        "-t",
        topic,
        "-g",
        f"{kafka.prefix}t",
        *FAST_GROUP_ARGS,
        "--db",
        str(broken),
    )
    _failed_in_one_line(term, "tail", "ingested_ms", state)


def _on_a_terminal(tmp_path: Path, *args: str) -> tuple[Terminal, Path]:
    state = tmp_path / "state"
    env = dict(os.environ, TERM="xterm-256color", XDG_STATE_HOME=str(state), PYTHONUNBUFFERED="1")
    return Terminal(choreo_cmd(*args), env), state


def _failed_in_one_line(term: Terminal, command: str, cause: str, state: Path) -> None:
    code = term.wait_exit()
    raw = term.raw
    assert code == 1, raw[-2000:]
    # The terminal is given back: the alternate screen left, the cursor shown again.
    tail = raw[raw.rfind("\x1b[?1049l") :]
    assert "\x1b[?1049l" in raw and "\x1b[?25h" in raw[raw.rfind("\x1b[?1049h") :]
    after = [line.strip() for line in plain(tail).replace("\r", "\n").split("\n") if line.strip()]
    assert len(after) == 1, after
    (line,) = after
    assert line.startswith(f"choreo: {command}: failed: ") and cause in line
    log = state / "choreo" / "log" / "choreo.log"
    assert f"the traceback is in {log}" in line
    assert "Traceback" not in plain(raw)
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and cause in text
