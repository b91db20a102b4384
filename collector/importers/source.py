"""Input files: glob expansion, ``-`` for stdin, opening with one-line
errors, decompression, and a count of raw bytes read for progress."""

from __future__ import annotations

import glob
import io
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from choreo.collector.importers.compression import NONE, DamagedInput, decompressing, sniff
from choreo.collector.importers.segment import COMPANION_SUFFIXES
from choreo.core.errors import InputError

STDIN = "-"
_GLOB_CHARS = frozenset("*?[")
_RAW_BUFFER = 1024 * 1024
BLOCK = 4 * 1024 * 1024  # decompressed bytes per read of whole lines


def expand(args: Sequence[str]) -> list[str]:
    """File arguments to paths: globs the shell left alone are expanded
    (sorted; Kafka index files beside segments left out); one that matches
    nothing is an error, as is stdin twice."""
    out: list[str] = []
    for arg in args:
        if arg != STDIN and _GLOB_CHARS & set(arg) and not Path(arg).exists():
            # glob.glob, not Path.glob: patterns may be absolute or contain '..'.
            found = glob.glob(arg, recursive=True)  # noqa: PTH207
            matches = sorted(p for p in found if not Path(p).is_dir() and not _kafka_companion(p))
            if not matches:
                raise InputError(f"no file matches {arg!r}")
            out.extend(matches)
        else:
            out.append(arg)
    if out.count(STDIN) > 1:
        raise InputError("'-' (stdin) given more than once")
    return out


def _kafka_companion(path: str) -> bool:
    """Index and checkpoint files beside segments in a Kafka partition directory."""
    name = Path(path).name
    return name.endswith(COMPANION_SUFFIXES) or name in ("leader-epoch-checkpoint", "partition.metadata")


class _Counting(io.RawIOBase):
    """Counts the raw (compressed) bytes read, for progress."""

    def __init__(self, src: BinaryIO) -> None:
        super().__init__()
        self._src = src
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        n = self._src.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self.count += n
        return int(n or 0)


@dataclass
class Input:
    """One opened input: ``lines`` yields its decompressed lines."""

    name: str  # as the user wrote it, '-' for stdin
    label: str  # for messages and the events.source column
    compression: str
    size: int | None  # raw bytes, when known (a regular file)
    stream: io.BufferedReader[Any]  # decompressed bytes
    _raw: _Counting
    _file: BinaryIO | None = None
    head: list[bytes] = field(default_factory=list)  # lines already read (format detection)
    _damage: DamagedInput | None = None  # met while reading the head

    @property
    def raw_read(self) -> int:
        return self._raw.count

    def read_head(self, max_lines: int, max_bytes: int) -> list[bytes]:
        """Read (and keep for ``lines``) up to max_lines non-empty lines.

        Damage met here is kept and raised by ``lines`` after the head, so
        that what came before it is imported like anywhere else in the file.
        """
        seen = 0
        nonempty = 0
        while nonempty < max_lines and seen < max_bytes:
            try:
                line = self.stream.readline()
            except DamagedInput as exc:
                self._damage = exc
                break
            if not line:
                break
            self.head.append(line)
            seen += len(line)
            if line.strip():
                nonempty += 1
        return self.head

    def peek(self, n: int) -> bytes:
        """The first n decompressed bytes, without consuming them ('' if damaged)."""
        try:
            return self.stream.peek(n)[:n]
        except DamagedInput:
            return b""

    def looks_binary(self) -> bool:
        """NUL bytes near the start: not a line-oriented text dump."""
        try:
            return b"\x00" in self.stream.peek(4096)[:4096]
        except DamagedInput:
            return False  # reported when the lines are read

    def lines(self) -> Iterator[bytes]:
        yield from self.head
        self.head = []
        if self._damage is not None:
            raise self._damage
        yield from self.stream

    def blocks(self, size: int = BLOCK) -> Iterator[tuple[bytes, int, int]]:
        """The rest of the input as runs of whole lines: (data, begin, end)
        with ``data[begin:end]`` whole lines (the last run may end without a
        newline). No copies of the data read, but for the line that spans
        two reads.

        Reads are ``read1``: one read of the underlying stream each, so that
        damage met in a compressed stream loses no more than the lines the
        codec's last output held (as reading line by line did)."""
        if self.head:
            head = b"".join(self.head)
            self.head = []
            yield head, 0, len(head)
        if self._damage is not None:
            raise self._damage
        tail: list[bytes] = []  # the start of a line that runs past the last read
        while chunk := self.stream.read1(size):
            cut = chunk.rfind(b"\n")
            if cut < 0:
                tail.append(chunk)
                continue
            begin = 0
            if tail:
                nl = chunk.find(b"\n") + 1
                line = b"".join([*tail, chunk[:nl]])
                tail = []
                yield line, 0, len(line)
                begin = nl
            if begin <= cut:
                yield chunk, begin, cut + 1
            if cut + 1 < len(chunk):
                tail.append(chunk[cut + 1 :])
        if tail:
            rest = b"".join(tail)
            yield rest, 0, len(rest)

    @property
    def rereadable(self) -> bool:
        """A regular file: can be opened again from the start."""
        return self.name != STDIN and Path(self.name).is_file()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def open_input(name: str, label: str | None = None) -> Input:
    """Open a file (or stdin for '-') and detect its compression; ``label``
    names it in messages instead of ``name``.

    Raises InputError with one line for a missing, unreadable or special file.
    """
    if name == STDIN:
        raw = _Counting(sys.stdin.buffer)
        size = None
        label = "stdin"
        handle: BinaryIO | None = None
    else:
        path = Path(name)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise InputError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{name} is a directory, not a dump file") from None
        except PermissionError:
            raise InputError(f"{name}: permission denied") from None
        except OSError as exc:
            raise InputError(f"{name}: cannot open ({exc.strerror or exc})") from None
        size = path.stat().st_size if path.is_file() else None
        raw = _Counting(handle)
        label = label or name
    return _decompressed(name, label, raw, size, handle)


def open_spool(spool: BinaryIO, label: str) -> Input:
    """Read a temporary file written on the way (stdin kept for --strict) from
    its start. It has no name to open again: it is deleted as it is created,
    so that nothing is left behind however the process ends."""
    spool.seek(0)
    return _decompressed(f"<spool of {label}>", label, _Counting(spool), None, spool)


def _decompressed(name: str, label: str, raw: _Counting, size: int | None, handle: BinaryIO | None) -> Input:
    buffered = io.BufferedReader(raw, buffer_size=_RAW_BUFFER)
    try:
        head = buffered.peek(4)[:4]
    except OSError as exc:
        if handle is not None:
            handle.close()
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    codec = sniff(head)
    stream = decompressing(buffered, codec)
    return Input(name, label, codec, size, stream, raw, handle)


def default_topic(label: str) -> str:
    """A topic name for plain lines: the file name without dump/compression extensions."""
    if label == "stdin":
        return "stdin"
    base = Path(label).name
    for ext in (".gz", ".gzip", ".zst", ".zstd", ".jsonl", ".ndjson", ".json", ".log", ".txt"):
        if base.lower().endswith(ext) and len(base) > len(ext):
            base = base[: -len(ext)]
    return base


__all__ = ["NONE", "STDIN", "Input", "default_topic", "expand", "open_input"]
