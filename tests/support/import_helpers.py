"""Helpers for the import tests: run the real CLI in-process, write dumps,
read back what a store holds."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard
from click.testing import CliRunner

from choreo.cli.main import main
from choreo.core.store import Store

# Columns that say what was stored, without who stored it and when.
RECORD_COLUMNS = (
    'topic, partition, "offset", ts_ms, ts_type, key, headers, payload, payload_kind, '
    "event_type, service, event_id, causation_id, trace_id, event_time_ms"
)


@dataclass
class Run:
    code: int
    out: str
    err: str


def choreo(*args: str | Path, stdin: bytes | None = None) -> Run:
    """Run `choreo ARGS` in this process, as the console script does."""
    runner = CliRunner()
    code = 0
    with runner.isolation(input=stdin) as (out, err, _):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out_text = out.getvalue().decode()
        err_text = err.getvalue().decode()
    return Run(code, out_text, err_text)


def ok(*args: str | Path, stdin: bytes | None = None) -> Run:
    run = choreo(*args, stdin=stdin)
    assert run.code == 0, f"exit {run.code}: {run.err}"
    return run


def records(db: Path) -> list[tuple[Any, ...]]:
    with Store.open(db, read_only=True) as s:
        return s.query(f'SELECT {RECORD_COLUMNS} FROM events ORDER BY topic, partition, "offset"')


def identifiers(db: Path) -> list[tuple[Any, ...]]:
    with Store.open(db, read_only=True) as s:
        return s.query("SELECT * FROM identifiers ORDER BY ALL")


def count(db: Path) -> int:
    with Store.open(db, read_only=True) as s:
        return s.count_events()


def kcat_line(
    topic: str,
    partition: int,
    offset: int,
    payload: str | None,
    key: str | None = None,
    headers: object = None,
    ts: int | None = 1_714_564_800_000,
) -> bytes:
    """One line as kcat -J writes it (headers in whatever shape is given)."""
    obj: dict[str, object] = {"topic": topic, "partition": partition, "offset": offset}
    if ts is not None:
        obj.update(tstype="create", ts=ts)
    obj["broker"] = 1
    if headers is not None:
        obj["headers"] = headers
    obj.update(key=key, payload=payload)
    return orjson.dumps(obj) + b"\n"


def write(path: Path, lines: list[bytes], codec: str = "none") -> Path:
    data = b"".join(lines)
    if codec == "gzip":
        data = gzip.compress(data)
    elif codec == "zstd":
        data = zstandard.ZstdCompressor(write_checksum=True).compress(data)
    path.write_bytes(data)
    return path


def require_kcat() -> str:
    kcat = shutil.which("kcat")
    if kcat is None:
        pytest.skip("kcat is not installed (Debian package kcat; scripts/install-tools.sh installs it)")
    return kcat


def kcat_dump(bootstrap: str, topics: list[str], out: Path) -> Path:
    """Dump topics with the real kcat binary: kcat -C -J from the beginning to the end."""
    kcat = require_kcat()
    with out.open("wb") as fh:
        for topic in topics:
            subprocess.run(
                [kcat, "-C", "-J", "-q", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e"],
                stdout=fh,
                check=True,
                timeout=60,
            )
    return out


def export_events(*args: str | Path) -> Run:
    """`choreo export events ARGS`."""
    return ok("export", "events", *args)
