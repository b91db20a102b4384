"""A minimal Kafka Fetch (v4) client for tests: the record batches a broker
holds for a partition, byte for byte. Concatenated, they are what the
broker's log segment file for that partition contains."""

from __future__ import annotations

import socket
import struct

_FETCH = 1
_VERSION = 4
_MAX_BYTES = 64 * 1024 * 1024


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def _request(topic: str, partition: int, offset: int, correlation: int) -> bytes:
    header = struct.pack(">hhi", _FETCH, _VERSION, correlation) + _string("choreo-test-fetch")
    body = struct.pack(">iiiib", -1, 100, 1, _MAX_BYTES, 0)
    body += struct.pack(">i", 1) + _string(topic)
    body += struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, _MAX_BYTES)
    msg = header + body
    return struct.pack(">i", len(msg)) + msg


def _recv(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buf += chunk
    return bytes(buf)


def _records(resp: bytes) -> bytes:
    """The record set of the one partition in a Fetch v4 response."""
    pos = 4 + 4  # correlation id, throttle time
    (n_topics,) = struct.unpack_from(">i", resp, pos)
    pos += 4
    assert n_topics == 1
    (tlen,) = struct.unpack_from(">h", resp, pos)
    pos += 2 + tlen + 4  # topic name, partition count
    _partition, error, _hw, _lso = struct.unpack_from(">ihqq", resp, pos)
    assert error == 0, f"fetch error {error}"
    pos += 4 + 2 + 8 + 8
    (n_aborted,) = struct.unpack_from(">i", resp, pos)
    pos += 4 + max(n_aborted, 0) * 16
    (size,) = struct.unpack_from(">i", resp, pos)
    pos += 4
    return resp[pos : pos + max(size, 0)]


def _whole_batches(records: bytes) -> tuple[bytes, int | None]:
    """Complete batches only (a response may end with a partial one), and the next offset."""
    pos, next_offset = 0, None
    while pos + 61 <= len(records):
        base, length = struct.unpack_from(">qi", records, pos)
        if pos + 12 + length > len(records):
            break
        (last_delta,) = struct.unpack_from(">i", records, pos + 23)
        next_offset = base + last_delta + 1
        pos += 12 + length
    return records[:pos], next_offset


def fetch_log(bootstrap: str, topic: str, partition: int) -> bytes:
    """Every record batch of the partition, as the broker stores them."""
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    out = bytearray()
    offset = 0
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for correlation in range(1, 10_000):
            sock.sendall(_request(topic, partition, offset, correlation))
            (size,) = struct.unpack(">i", _recv(sock, 4))
            batches, next_offset = _whole_batches(_records(_recv(sock, size)))
            if next_offset is None:
                return bytes(out)
            out += batches
            offset = next_offset
    raise AssertionError("too many fetches")
