"""A process log whose case id repeats per activity (loops, lifecycle
start/complete) stitches; an employee id crossing the cases is ruled out
with its evidence; a log where nothing links is said out loud by import,
status and keys."""

from __future__ import annotations

import random
from pathlib import Path

import orjson

from tests.support.import_helpers import kcat_line, ok, write

T0 = 1_714_564_800_000


def _process_log(path: Path, cases: int, *, resource_id: bool) -> tuple[Path, int]:
    """One topic, one partition, BPIC-like: each case submits, is handled in
    a loop of calls (start and complete of one activity type), and ends
    approved or declined; the case id (numeric) is the only identifier."""
    rng = random.Random(7)
    lines: list[bytes] = []
    t, offset = T0, 0
    for c in range(cases):
        case = str(173_000 + c)
        steps = ["A_SUBMITTED", "A_PARTLYSUBMITTED"]
        for _ in range(rng.randint(1, 4)):
            steps += ["W_Call", "W_Call", "W_Handle", "W_Handle"]  # lifecycle: start, complete
        steps.append(rng.choice(["A_APPROVED", "A_DECLINED"]))
        for step in steps:
            t += rng.randint(1_000, 60_000)
            body: dict[str, object] = {"type": step, "caseId": case, "resource": f"emp-{rng.randint(1, 5)}"}
            if resource_id:
                body["employeeId"] = f"emp-{rng.randint(1, 5)}"
            lines.append(kcat_line("process-log", 0, offset, orjson.dumps(body).decode(), ts=t))
            offset += 1
    return write(path, lines), offset


def test_loops_and_lifecycle_events_do_not_make_the_case_id_a_trap(tmp_path: Path) -> None:
    dump, n = _process_log(tmp_path / "bpic.json", 60, resource_id=True)
    db = tmp_path / "s.duckdb"
    run = ok("import", dump, "--db", db)
    assert "WARNING" not in run.err
    status = orjson.loads(ok("status", "--db", db, "--json").out)
    assert status["instances"] == 60
    assert status["stitched"]["share"] == 1.0 and status["stitched"]["warning"] is None
    keys = {k["name"]: k for k in orjson.loads(ok("keys", "--db", db, "--json").out)}
    assert keys["caseId"]["used_for_stitching"] and keys["caseId"]["merging"] == 0
    # The employee handling many cases is ruled out, with how many instances its values would merge.
    emp = keys["employeeId"]
    assert not emp["used_for_stitching"] and emp["merging"] >= 2 and emp["instances_per_value"] > 2
    text = ok("keys", "--db", db).out
    assert "employeeId" in text and "would merge several instances" in text
    assert n > 60 * 2.45  # events per case and activity as in BPIC 2012 and 2013


def test_nothing_stitched_is_said_out_loud(tmp_path: Path) -> None:
    lines = [
        kcat_line(
            "requests", 0, i, orjson.dumps({"type": "Served", "requestId": f"r-{i}"}).decode(), ts=T0 + i
        )
        for i in range(40)
    ]
    db = tmp_path / "s.duckdb"
    run = ok("import", write(tmp_path / "d.json", lines), "--db", db)
    assert "WARNING: none of 40 events were stitched into instances" in run.err
    assert "choreo keys" in run.err
    status = ok("status", "--db", db)
    assert "WARNING: none of 40 events" in status.err and "0% of the events stitched" in status.out
    doc = orjson.loads(ok("status", "--db", db, "--json").out)
    assert doc["stitched"]["linked"] == 0 and doc["stitched"]["warning"].startswith("WARNING")
    assert "WARNING" in ok("keys", "--db", db).err
