"""Helpers for the fault and bad-input catalogue: the one-line-error check,
choreo run under a file size limit (a full disk) or in a pseudo-terminal,
damaged copies of a store, and what is left behind by a process."""

from __future__ import annotations

import fcntl
import os
import resource
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import psutil

from choreo.core.store import Store
from tests.support.collect_helpers import choreo_cmd
from tests.support.paths import FIXTURES

FIXTURE_DUMP = FIXTURES / "mixed" / "dump.kcat.jsonl"
FIXTURE_EVENTS = 866  # records in FIXTURE_DUMP
BLOCK = 256 * 1024  # DuckDB's block size
HEADERS = 3 * 4096  # DuckDB's file headers, before the first block


def assert_one_line(code: int, err: str, *, exit_code: int = 2, says: str = "") -> str:
    """Exit ``exit_code`` with exactly one line on stderr, ``choreo: ...``, no traceback."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == exit_code, f"exit {code}, stderr: {err[-2000:]}"
    assert "Traceback" not in err, err[-2000:]
    assert len(lines) == 1, f"{len(lines)} lines on stderr: {err[-2000:]}"
    assert lines[0].startswith("choreo: "), lines[0]
    assert says.lower() in lines[0].lower(), lines[0]
    return lines[0]


def run_choreo(
    *args: str | Path, timeout: float = 120, file_size_limit: int | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    """`choreo ARGS` as a process; with ``file_size_limit`` it cannot write
    files beyond that many bytes (a full disk, without root or a small mount)."""

    def limit() -> None:
        if file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
            # Python ignores SIGXFSZ, so writes past the limit fail with EFBIG.
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return subprocess.run(
        choreo_cmd(*(str(a) for a in args)),
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


def run_in_pty(*args: str | Path, timeout: float = 60, size: tuple[int, int] = (100, 30)) -> tuple[int, str]:
    """Run `choreo ARGS` with a pseudo-terminal as stdin/stdout/stderr (what the
    dashboard needs); returns its exit code and everything it wrote."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    proc = subprocess.Popen(
        choreo_cmd(*(str(a) for a in args)),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
        start_new_session=True,
        env=dict(os.environ, TERM="xterm-256color", PYTHONUNBUFFERED="1"),
    )
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the other end closed: the process is gone
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
            raise AssertionError(f"choreo {' '.join(map(str, args))} still running after {timeout}s")
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, out.decode("utf-8", "replace")


def fixture_store(path: Path) -> Path:
    """A store holding the mixed fixture dump (reconstructed)."""
    proc = run_choreo("import", "--db", path, FIXTURE_DUMP)
    assert proc.returncode == 0, proc.stderr
    return path


def truncated_copy(src: Path, dst: Path, keep: float) -> Path:
    """``src`` cut to ``keep`` of its size, as a crash of the file system might leave it."""
    shutil.copyfile(src, dst)
    with dst.open("r+b") as f:
        f.truncate(int(src.stat().st_size * keep))
    return dst


def corrupt_copy(src: Path, dst: Path) -> Path:
    """``src`` with garbage at the start of every block's data (file headers
    and block checksums left intact): whatever a command reads fails its checksum."""
    shutil.copyfile(src, dst)
    size = dst.stat().st_size
    with dst.open("r+b") as f:
        for start in range(HEADERS, size - BLOCK + 1, BLOCK):
            f.seek(start + 64)
            f.write(b"\xff" * 512)
    return dst


def event_count(db: Path) -> int:
    with Store.open(db, read_only=True) as s:
        return s.count_events()


def children_of(pid: int) -> list[psutil.Process]:
    """Processes descended from ``pid`` that are still running."""
    try:
        return [c for c in psutil.Process(pid).children(recursive=True) if c.is_running()]
    except psutil.NoSuchProcess:
        return []
