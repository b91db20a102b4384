"""Write stored events as choreo JSONL (the inverse of ``ChoreoDecoder``),
streamed from the store in (topic, partition, offset) order."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import zstandard

from choreo.core.errors import InputError
from choreo.core.jsonl_format import encode_record
from choreo.core.store import Store

_FETCH_ROWS = 10_000


def write_events(store: Store, out: BinaryIO, topics: str | None = None) -> int:
    """Write every event (of topics fully matching ``topics``); return how many."""
    where, params = "", []
    if topics is not None:
        try:
            re.compile(topics)
        except re.error as exc:
            raise InputError(f"--topics {topics!r} is not a valid regular expression: {exc}") from None
        where, params = "WHERE regexp_full_match(topic, ?)", [topics]
    reader = store.con.sql(
        f'SELECT topic, partition, "offset", ts_ms, ts_type, key, headers, payload FROM events {where} '
        'ORDER BY topic, partition, "offset"',
        params=params,
    ).to_arrow_reader(_FETCH_ROWS)
    n = 0
    if reader is None:
        return n
    for batch in reader:
        cols = batch.to_pydict()
        rows = zip(
            cols["topic"],
            cols["partition"],
            cols["offset"],
            cols["ts_ms"],
            cols["ts_type"],
            cols["key"],
            cols["headers"],
            cols["payload"],
            strict=True,
        )
        for topic, partition, offset, ts_ms, ts_type, key, headers, payload in rows:
            pairs = [(h["name"], h["value"]) for h in headers] if headers else None
            out.write(encode_record(topic, partition, offset, ts_ms, ts_type, key, pairs, payload))
        n += batch.num_rows
    return n


@contextmanager
def open_output(path: str, stdout: BinaryIO) -> Iterator[BinaryIO]:
    """'-' is stdout; a .gz or .zst name is compressed accordingly."""
    if path == "-":
        yield stdout
        return
    p = Path(path)
    try:
        raw = p.open("wb")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    with raw:
        if p.suffix in (".gz", ".gzip"):
            with gzip.GzipFile(fileobj=raw, mode="wb") as gz:
                yield gz  # type: ignore[misc]
        elif p.suffix in (".zst", ".zstd"):
            with zstandard.ZstdCompressor(write_checksum=True).stream_writer(raw, closefd=False) as zw:
                yield zw
        else:
            yield raw
