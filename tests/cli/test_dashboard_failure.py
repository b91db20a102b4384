"""When the dashboard fails, it leaves the terminal as it found it, writes
the traceback to the log file, says one line and exits non-zero — run on a
real pseudo-terminal, as a user runs it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.support.collect_helpers import choreo_cmd
from tests.support.terminal import Terminal, plain
from tests.support.tui_fixtures import FixtureStore


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
    state = tmp_path / "state"
    env = dict(os.environ, TERM="xterm-256color", XDG_STATE_HOME=str(state), PYTHONUNBUFFERED="1")
    term = Terminal(choreo_cmd("tui", "--read-only", "--db", str(broken)), env)
    code = term.wait_exit()
    raw = term.raw
    assert code == 1, raw[-2000:]
    # The terminal is given back: the alternate screen left, the cursor shown again.
    tail = raw[raw.rfind("\x1b[?1049l") :]
    assert "\x1b[?1049l" in raw and "\x1b[?25h" in raw[raw.rfind("\x1b[?1049h") :]
    after = [line.strip() for line in plain(tail).replace("\r", "\n").split("\n") if line.strip()]
    assert len(after) == 1, after
    (line,) = after
    assert line.startswith("choreo: tui: failed: ") and "explanation" in line
    log = state / "choreo" / "log" / "choreo.log"
    assert f"the traceback is in {log}" in line
    assert "Traceback" not in plain(raw)
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "explanation" in text
