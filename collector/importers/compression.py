"""Transparent decompression of gzip and zstd dumps, recognised by their
magic bytes (not the file name), streamed in bounded chunks.

Damage (a truncated or corrupt stream) raises ``DamagedInput`` from the
read that meets it, so everything decoded before it can be kept.
Concatenated members/frames (``cat a.gz b.gz``) are read as one stream.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from typing import Any, BinaryIO, Protocol

import zstandard

NONE = "none"
GZIP = "gzip"
ZSTD = "zstd"

_MAGIC = {GZIP: b"\x1f\x8b", ZSTD: b"\x28\xb5\x2f\xfd"}
# Compressed bytes per read: bounds the output per call, and what is lost
# with a corrupt chunk (the codec drops the whole call's output).
_CHUNK = 16 * 1024
_MAX_OUT = 4 * 1024 * 1024  # gzip: most bytes inflated per call


class DamagedInput(Exception):
    """A compressed stream that is truncated or corrupt."""


class _Member(Protocol):
    """Decompresses one gzip member or zstd frame."""

    eof: bool

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        """Return (output, input to feed again: unconsumed or after the end)."""
        ...


class _GzipMember:
    def __init__(self) -> None:
        self._d = zlib.decompressobj(wbits=31)
        self.eof = False

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        out = self._d.decompress(data, _MAX_OUT)
        self.eof = self._d.eof
        return out, self._d.unused_data if self.eof else self._d.unconsumed_tail


class _ZstdFrame:
    def __init__(self) -> None:
        self._d = zstandard.ZstdDecompressor().decompressobj()
        self.eof = False

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        out = self._d.decompress(data)
        self.eof = self._d.eof
        return out, self._d.unused_data if self.eof else b""


def sniff(head: bytes) -> str:
    for name, magic in _MAGIC.items():
        if head.startswith(magic):
            return name
    return NONE


class _Inflating(io.RawIOBase):
    """A readable raw stream of the decompressed bytes of ``src``."""

    def __init__(self, src: BinaryIO, codec: str) -> None:
        super().__init__()
        self._src = src
        self._codec = codec
        self._new: Callable[[], _Member] = _GzipMember if codec == GZIP else _ZstdFrame
        self._d: _Member = self._new()
        self._started = False  # bytes of the current member/frame were fed
        self._pending = b""  # compressed bytes not yet fed (gzip tail / next member)
        self._out = b""
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        while self._pos >= len(self._out):
            if not self._fill():
                return 0
        n = min(len(buffer), len(self._out) - self._pos)
        buffer[:n] = self._out[self._pos : self._pos + n]
        self._pos += n
        return n

    def _fill(self) -> bool:
        """Decompress more; False at a clean end of input."""
        while True:
            data = self._pending or self._src.read(_CHUNK)
            self._pending = b""
            if not data:
                if self._started:
                    raise DamagedInput(f"{self._codec} stream is truncated (it ends mid-block)")
                return False
            if self._started or self._is_member_start(data):
                break
        self._started = True
        try:
            out, self._pending = self._d.feed(data)
        except (zlib.error, zstandard.ZstdError) as exc:
            raise DamagedInput(f"{self._codec} data is corrupt ({exc})") from None
        if self._d.eof:
            self._d = self._new()
            self._started = False
        self._out = out
        self._pos = 0
        return True

    def _is_member_start(self, data: bytes) -> bool:
        stripped = data.lstrip(b"\x00")
        if not stripped:
            return False  # zero padding (tape/block devices) is not damage
        if not stripped.startswith(_MAGIC[self._codec][: len(stripped)]):
            raise DamagedInput(f"{self._codec} stream is followed by data that is not {self._codec}")
        if len(stripped) != len(data):
            self._pending = stripped
            return False
        return True


def decompressing(src: io.BufferedReader[Any], codec: str) -> io.BufferedReader[Any]:
    """``src`` itself when ``codec`` is NONE, else a buffered decompressing reader."""
    if codec == NONE:
        return src
    return io.BufferedReader(_Inflating(src, codec), buffer_size=1024 * 1024)
