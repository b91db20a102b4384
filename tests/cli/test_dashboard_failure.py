"""When the dashboard fails, it leaves the terminal as it found it, writes
the traceback to the log file, says one line and exits non-zero — run on a
real pseudo-terminal, as a user runs it."""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import struct
import subprocess
import termios
import time
from pathlib import Path

from tests.support.collect_helpers import choreo_cmd
from tests.support.tui_fixtures import FixtureStore

_ANSI = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_]|P[^\x1b]*\x1b\\)")


def run_on_a_terminal(args: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    """Run a command with a pseudo-terminal of 80x24 as its terminal; (exit code, raw output)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the other side closed: the process is gone
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, out.decode("utf-8", "replace")


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
    code, raw = run_on_a_terminal(choreo_cmd("tui", "--read-only", "--db", str(broken)), env)
    assert code == 1, raw[-2000:]
    # The terminal is given back: the alternate screen left, the cursor shown again.
    tail = raw[raw.rfind("\x1b[?1049l") :]
    assert "\x1b[?1049l" in raw and "\x1b[?25h" in raw[raw.rfind("\x1b[?1049h") :]
    after = [line.strip() for line in _ANSI.sub("", tail).replace("\r", "\n").split("\n") if line.strip()]
    assert len(after) == 1, after
    (line,) = after
    assert line.startswith("choreo: tui: failed: ") and "explanation" in line
    log = state / "choreo" / "log" / "choreo.log"
    assert f"the traceback is in {log}" in line
    assert "Traceback" not in _ANSI.sub("", raw)
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "explanation" in text
