"""After an import, reconstruction runs with "now" = the newest event time,
so the stuck list says what was stuck when the dump was taken."""

from __future__ import annotations

from pathlib import Path

import orjson

from choreo.core.store import Store
from tests.support.import_helpers import choreo, kcat_line, ok, write

T0 = 1_714_564_800_000  # 2024-05-01T12:00:00Z
STEPS = ("OrderPlaced", "PaymentDone", "OrderShipped")


def _dump(tmp_path: Path) -> Path:
    lines = []
    offset = 0

    def emit(order: str, step: str, ts: int) -> None:
        nonlocal offset
        payload = orjson.dumps({"type": step, "orderId": order}).decode()
        lines.append(kcat_line("orders", 0, offset, payload, key=order, ts=ts))
        offset += 1

    for i in range(30):  # completed sagas teach the model: each step within a second
        for j, step in enumerate(STEPS):
            emit(f"o-{i}", step, T0 + i * 60_000 + j * 1000)
    emit("o-stuck", "OrderPlaced", T0 + 5 * 60_000)  # paid never: silent for 25 minutes at dump time
    return write(tmp_path / "dump.json", lines)


def _stuck(db: Path) -> list[str]:
    with Store.open(db, read_only=True) as s:
        return [str(r[0]) for r in s.query("SELECT label FROM instances WHERE status = 'stuck'")]


def test_stuck_as_of_the_dump(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    run = ok("import", "--json", "--db", db, _dump(tmp_path))
    rec = orjson.loads(run.out)["reconstruct"]
    assert rec["now_ms"] == T0 + 29 * 60_000 + 2000  # the newest event, not the wall clock
    assert rec["stuck"] == 1
    assert len(_stuck(db)) == 1 and "o-stuck" in _stuck(db)[0]


def test_now_override_and_skip(tmp_path: Path) -> None:
    skipped = tmp_path / "skipped.duckdb"
    run = ok("import", "--no-reconstruct", "--db", skipped, _dump(tmp_path))
    assert "reconstructed" not in run.out
    with Store.open(skipped, read_only=True) as s:
        assert s.query("SELECT count(*) FROM instances") == [(0,)]
    # Re-importing the same dump (nothing new) still reconstructs a store that never was.
    run = ok("import", "--db", skipped, "--now", "2024-05-01T12:05:10Z", _dump(tmp_path))
    assert "0 stuck, as of 2024-05-01 12:05:10 UTC (--now)" in run.out
    assert _stuck(skipped) == []  # 10 s after o-stuck was placed: not overdue yet


def test_bad_now(tmp_path: Path) -> None:
    run = choreo("import", "--db", tmp_path / "s.duckdb", "--now", "yesterday", _dump(tmp_path))
    assert run.code == 2 and run.err.startswith("choreo: input: --now 'yesterday'")
