"""Bringing a copy of a DuckDB file up to date by copying only the blocks that
changed (for ``core.snapshot_publish``).

A DuckDB database file is three 4 KiB headers followed by blocks of one size
(256 KiB unless created otherwise), and every block begins with the checksum
of its contents, written with it. After a CHECKPOINT, the blocks that did not
change since the copy was last brought up to date are byte for byte the
copy's; a block whose first eight bytes differ from the copy's is copied,
and the headers always are. The copy then matches the file exactly (the
tests compare every byte), at the cost of reading two words per block and
writing what the checkpoint wrote.

The copy is locked the way DuckDB locks a database file (a POSIX record lock
on the whole file): it is refused while a reader has it open read-only, and
no reader can open it while it is being written. It runs in a child process
of the writer (``python -m choreo.core.block_copy``, one request per line on
stdin, one JSON answer per line on stdout): the writer's own lock on the
store is a POSIX record lock too, which it would lose the moment it closed a
descriptor of the store file it had opened to read it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

HEADERS = 3 * 4096  # DuckDB's main header and its two alternating database headers
CHECKSUM = 8


class Held(Exception):
    """A reader has the copy open: it cannot be written now."""


@dataclass(frozen=True)
class Copied:
    blocks: int  # blocks in the file
    copied: int  # ... of them written to the copy
    size: int  # bytes


@dataclass
class Locked:
    """A copy locked for writing; a new one is written beside it and put in place when copied."""

    dst: str
    fd: int
    new: str | None  # the file written instead of a missing ``dst``

    def close(self, *, copied: bool) -> None:
        if self.new is not None and copied:
            Path(self.new).replace(self.dst)  # before unlocking: no reader sees it half made
        os.close(self.fd)  # unlocks
        if self.new is not None and not copied:
            with contextlib.suppress(FileNotFoundError):
                Path(self.new).unlink()


def lock_copy(dst: str) -> Locked:
    """Open ``dst`` and lock it for writing (raises Held while another process
    has it open); a missing one is made as ``dst.new`` and renamed once copied."""
    new = None if Path(dst).exists() else dst + ".new"
    fd = os.open(new or dst, os.O_RDWR | os.O_CREAT | (os.O_TRUNC if new else 0), 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            raise Held(dst) from None
        raise
    return Locked(dst, fd, new)


def copy_changed(src: str, fd: int, block_size: int) -> Copied:
    """Make the locked copy ``fd`` byte for byte ``src``."""
    fs = os.open(src, os.O_RDONLY)
    try:
        return _copy_changed(fs, fd, block_size)
    finally:
        os.close(fs)


def sync_file(src: str, dst: str, block_size: int) -> Copied:
    """Make ``dst`` byte for byte ``src`` (raises Held while it is open elsewhere)."""
    locked = lock_copy(dst)
    copied = False
    try:
        done = copy_changed(src, locked.fd, block_size)
        copied = True
        return done
    finally:
        locked.close(copied=copied)


def _copy_changed(fs: int, fd: int, block_size: int) -> Copied:
    size = os.fstat(fs).st_size
    have = os.fstat(fd).st_size
    copied = 0
    blocks = 0
    offset = HEADERS
    while offset < size:
        blocks += 1
        n = min(block_size, size - offset)
        if offset + n > have or os.pread(fs, CHECKSUM, offset) != os.pread(fd, CHECKSUM, offset):
            _write_all(fd, os.pread(fs, n, offset), offset)
            copied += 1
        offset += block_size
    # The headers last: they say which blocks hold the database.
    _write_all(fd, os.pread(fs, min(HEADERS, size), 0), 0)
    if have > size:
        os.ftruncate(fd, size)
    return Copied(blocks, copied, size)


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def serve() -> None:
    """The child's loop, one JSON object per line each way:
    ``{"lock": dst}`` -> ``{"locked": true}`` or ``{"held": true}``;
    ``{"copy": src, "block_size": n}`` (into the locked copy, then unlocked) ->
    ``{"ok": true, "blocks", "copied"}``; ``{"release": true}`` unlocks it;
    ``{"error": text}`` when something failed (the copy is then unlocked)."""
    # Ctrl-C is the writer's to handle: it stops us by closing our stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    locked: Locked | None = None
    for line in sys.stdin:
        req = json.loads(line)
        answer: dict[str, object]
        copied = False
        try:
            if "lock" in req:
                if locked is not None:
                    locked.close(copied=False)
                    locked = None
                locked = lock_copy(str(req["lock"]))
                answer = {"locked": True}
            elif "copy" in req and locked is not None:
                done = copy_changed(str(req["copy"]), locked.fd, int(req["block_size"]))
                copied = True
                answer = {"ok": True, "blocks": done.blocks, "copied": done.copied}
            elif "release" in req:
                answer = {"released": True}
            else:
                answer = {"error": f"not understood: {line.strip()[:80]}"}
        except Held:
            answer = {"held": True}
        except OSError as exc:
            answer = {"error": f"{exc.strerror or exc}: {exc.filename or ''}"}
        if locked is not None and "locked" not in answer:
            try:
                locked.close(copied=copied)  # copied, released or failed: unlocked
            except OSError as exc:
                answer = {"error": f"{exc.strerror or exc}: {exc.filename or ''}"}
            locked = None
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
