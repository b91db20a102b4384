"""Running a command on a real pseudo-terminal, as a user runs the dashboard:
what it draws, keys sent to it, and how it exits."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

_ANSI = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_]|P[^\x1b]*\x1b\\)")


def plain(raw: str) -> str:
    """Terminal output without its escape sequences."""
    return _ANSI.sub("", raw)


class Terminal:
    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        *,
        cwd: Path | None = None,
        size: tuple[int, int] = (80, 24),
    ) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, start_new_session=True
        )
        os.close(slave)
        self.raw = ""
        self._open = True

    def _read(self, wait: float) -> bool:
        """Read what is there within ``wait`` s; False once the other side is gone."""
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            return False
        self.raw += chunk.decode("utf-8", "replace")
        return bool(chunk)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in plain(self.raw):
            if time.monotonic() > deadline or not self._read(0.2):
                raise AssertionError(f"{text!r} never shown; the terminal showed:\n{plain(self.raw)[-3000:]}")

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait_exit(self, timeout: float = 120) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.2):
            if self.proc.poll() is not None and not select.select([self.master], [], [], 0)[0]:
                break
        try:
            return self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._open:
            os.close(self.master)
            self._open = False
