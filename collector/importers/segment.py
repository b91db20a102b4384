"""Kafka log segment files (``<topic>-<partition>/<base offset>.log``): the
broker's own storage, record batches in message format v2.

A batch: baseOffset int64, batchLength int32, partitionLeaderEpoch int32,
magic int8 (2), crc uint32 (CRC-32C of everything after it), attributes
int16 (bits 0-2 codec: none, gzip, snappy, lz4, zstd; bit 3 log-append time;
bit 5 control batch), lastOffsetDelta int32, baseTimestamp int64,
maxTimestamp int64, producerId int64, producerEpoch int16, baseSequence
int32, record count int32, then the (possibly compressed) records. A record:
length, attributes int8, timestampDelta, offsetDelta, key, value and headers,
with zig-zag varints for lengths and deltas (-1 for null).

A batch whose CRC does not match is skipped (counted as bad); a file that
ends inside a batch is damage: what came before is kept. Transactional
records are imported once their commit marker is read and dropped on an
abort marker, as a read_committed consumer (the default) sees them; the
markers themselves are no events. Message formats v0/v1 (Kafka before
0.11) are not read.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import cramjam
import google_crc32c
import zstandard

from choreo.collector.extract import Header
from choreo.collector.importers.compression import DamagedInput
from choreo.collector.importers.record import TS_CREATE, TS_LOG_APPEND, TS_UNKNOWN, BadLine, Record

_PREFIX = struct.Struct(">qi")  # baseOffset, batchLength
_HEADER = struct.Struct(">ibIhiqqqhii")  # partitionLeaderEpoch ... record count
_HEADER_SIZE = _PREFIX.size + _HEADER.size  # 61
_CRC_FROM = 21  # the CRC covers attributes onwards
_TRANSACTIONAL = 0x10  # attribute bits
_CONTROL = 0x20
_MAX_BATCH = 1 << 30
_XERIAL = b"\x82SNAPPY\x00"
_DIR = re.compile(r"^(?P<topic>[A-Za-z0-9._-]+)-(?P<partition>\d+)$")
# Files next to segments in a partition directory that are not segments.
COMPANION_SUFFIXES = (".index", ".timeindex", ".txnindex", ".snapshot", ".deleted", ".cleaned", ".swap")


def looks_like_segment(head: bytes) -> bool:
    """The start of a v2 record batch (or of zero padding after one)."""
    if len(head) < 17:
        return False
    offset, length = _PREFIX.unpack_from(head)
    return head[16] == 2 and offset >= 0 and 49 <= length < _MAX_BATCH


def coordinates_from_path(label: str) -> tuple[str, int] | None:
    """(topic, partition) from a ``<topic>-<partition>`` directory, as Kafka lays them out."""
    m = _DIR.match(Path(label).resolve().parent.name)
    return (m["topic"], int(m["partition"])) if m else None


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """A zig-zag varint (Kafka's signed varint) at pos; returns (value, next pos)."""
    shift = 0
    raw = 0
    while True:
        if pos >= end:
            raise BadLine("record ends inside a varint")
        b = buf[pos]
        pos += 1
        raw |= (b & 0x7F) << shift
        if not b & 0x80:
            return (raw >> 1) ^ -(raw & 1), pos
        shift += 7
        if shift > 63:
            raise BadLine("varint longer than 10 bytes")


def _bytes(buf: bytes, pos: int, end: int) -> tuple[bytes | None, int]:
    n, pos = _varint(buf, pos, end)
    if n < 0:
        return None, pos
    stop = pos + n
    if stop > end:
        raise BadLine("record field runs past the end of its record")
    return buf[pos:stop], stop


def _decompress(codec: int, data: bytes) -> bytes:
    if codec == 0:
        return data
    if codec == 1:
        return zlib.decompress(data, wbits=47)  # gzip or zlib framing
    if codec == 2:
        if data.startswith(_XERIAL):  # Java clients: xerial framing, 4-byte-length blocks
            out, pos = bytearray(), 16
            while pos < len(data):
                (n,) = struct.unpack_from(">i", data, pos)
                out += bytes(cramjam.snappy.decompress_raw(data[pos + 4 : pos + 4 + n]))
                pos += 4 + n
            return bytes(out)
        return bytes(cramjam.snappy.decompress_raw(data))
    if codec == 3:
        return bytes(cramjam.lz4.decompress(data))
    if codec == 4:
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    raise BadLine(f"unknown compression codec {codec}")


class SegmentReader:
    """Yields the records of one segment file, in offset order."""

    name = "segment"

    def __init__(self, topic: str, partition: int) -> None:
        self.topic = topic
        self.partition = partition
        self.notes: Counter[str] = Counter()
        self._open: dict[int, list[Record]] = {}  # producer id -> records of its open transaction

    def batches(self, stream: BinaryIO) -> Iterator[tuple[int, bytes | BadLine]]:
        """(byte position, batch bytes) per batch, or (position, BadLine) for a
        batch that fails its CRC; raises DamagedInput where framing is lost."""
        pos = 0
        while True:
            prefix = stream.read(_PREFIX.size)
            if not prefix or not prefix.strip(b"\x00"):
                return  # end, or zero padding of a preallocated segment
            if len(prefix) < _PREFIX.size:
                raise DamagedInput(f"segment ends inside a batch header at byte {pos}")
            _offset, length = _PREFIX.unpack(prefix)
            if not 49 <= length < _MAX_BATCH:
                raise DamagedInput(f"batch at byte {pos} has an impossible length {length}")
            body = stream.read(length)
            if len(body) < length:
                raise DamagedInput(f"segment ends inside the batch at byte {pos} (truncated)")
            batch = prefix + body
            if batch[16] != 2:
                yield pos, BadLine(f"batch in message format v{batch[16]} (only v2, Kafka 0.11+, is read)")
            else:
                (crc,) = struct.unpack_from(">I", batch, 17)
                (attributes,) = struct.unpack_from(">h", batch, _CRC_FROM)
                # librdkafka's mock broker writes its transaction markers with CRC 0.
                unchecked = crc == 0 and attributes & _CONTROL
                if not unchecked and google_crc32c.value(batch[_CRC_FROM:]) != crc:
                    yield pos, BadLine("batch CRC-32C mismatch (corrupt)")
                else:
                    yield pos, batch
            pos += len(batch)

    def records(self, batch: bytes) -> list[Record]:
        """The records of one CRC-checked batch; BadLine if they do not parse."""
        (
            _epoch,
            _magic,
            _crc,
            attributes,
            _last_delta,
            base_ts,
            max_ts,
            pid,
            _pepoch,
            _seq,
            count,
        ) = _HEADER.unpack_from(batch, _PREFIX.size)
        base_offset = _PREFIX.unpack_from(batch)[0]
        log_append = bool(attributes & 0x08)
        try:
            data = _decompress(attributes & 0x07, batch[_HEADER_SIZE:])
        except (zlib.error, zstandard.ZstdError, cramjam.DecompressionError, struct.error) as exc:
            raise BadLine(f"batch does not decompress ({exc})") from None
        out: list[Record] = []
        pos = 0
        for _ in range(count):
            length, pos = _varint(data, pos, len(data))
            end = pos + length
            if length < 0 or end > len(data):
                raise BadLine("record length runs past the end of its batch")
            p = pos + 1  # record attributes: unused
            ts_delta, p = _varint(data, p, end)
            off_delta, p = _varint(data, p, end)
            key, p = _bytes(data, p, end)
            value, p = _bytes(data, p, end)
            n_headers, p = _varint(data, p, end)
            headers: list[Header] = []
            for _h in range(n_headers):
                name, p = _bytes(data, p, end)
                hval, p = _bytes(data, p, end)
                headers.append(((name or b"").decode("utf-8", "replace"), hval))
            if log_append:
                ts, ts_type = max_ts, TS_LOG_APPEND
            elif base_ts >= 0:
                ts, ts_type = base_ts + ts_delta, TS_CREATE
            else:
                ts, ts_type = None, TS_UNKNOWN
            out.append(
                (
                    self.topic,
                    self.partition,
                    base_offset + off_delta,
                    ts,
                    ts_type,
                    key,
                    headers or None,
                    value,
                )
            )
            pos = end
        if attributes & _CONTROL:
            return self._marker(pid, out)
        if attributes & _TRANSACTIONAL:
            # Transactional: visible once its commit marker comes (read_committed, as consumers read).
            self._open.setdefault(pid, []).extend(out)
            return []
        return out

    def _marker(self, pid: int, control: list[Record]) -> list[Record]:
        """A control batch: its record key says commit (1) or abort (0) for the producer."""
        self.notes["transaction markers skipped"] += 1
        released: list[Record] = []
        for rec in control:
            key = rec[5]
            if key is None or len(key) < 4:
                continue
            (kind,) = struct.unpack_from(">h", key, 2)
            held = self._open.pop(pid, [])
            if kind == 1:
                released += held
            elif held:
                self.notes["records of aborted transactions skipped"] += len(held)
        return released

    def finish(self) -> list[Record]:
        """Records of transactions whose marker is not in this file: kept
        (their outcome is unknown here; a later segment may hold it)."""
        held = [rec for recs in self._open.values() for rec in recs]
        if held:
            self.notes["records of transactions without a marker in this file (kept)"] += len(held)
        self._open.clear()
        return held
