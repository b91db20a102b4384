"""`python -m choreo.trafficgen`: the commands, and bad input as one line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from choreo.trafficgen.cli import main
from choreo.trafficgen.knobs import Knobs
from tests.support.import_helpers import Run, ok, records

SMALL_ARGS = ["--instances", "40", "--set", "duration_ms=1800000", "--set", "outage_ms=300000,600000"]


def tg(*args: str | Path) -> Run:
    runner = CliRunner()
    code = 0
    with runner.isolation() as (out, err, _):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return Run(code, out.getvalue().decode(), err.getvalue().decode())


def test_generate_writes_dump_truth_spec_and_jsonl(tmp_path: Path) -> None:
    run = tg("generate", tmp_path / "g", *SMALL_ARGS, "--seed", "3", "--jsonl")
    assert run.code == 0, run.err
    assert "instances in" in run.out
    names = {p.name for p in (tmp_path / "g").iterdir()}
    assert names == {"dump.kcat.jsonl", "dump.choreo.jsonl", "truth.json", "spec.json"}
    # Both dump formats import to the same records.
    ok("import", tmp_path / "g" / "dump.kcat.jsonl", "--db", tmp_path / "a.duckdb", "--no-reconstruct")
    ok("import", tmp_path / "g" / "dump.choreo.jsonl", "--db", tmp_path / "b.duckdb", "--no-reconstruct")
    assert records(tmp_path / "a.duckdb") == records(tmp_path / "b.duckdb")
    # The written spec generates the same traffic when declared.
    again = tg("generate", tmp_path / "h", *SMALL_ARGS, "--seed", "3", "--spec", tmp_path / "g" / "spec.json")
    assert again.code == 0, again.err
    assert (tmp_path / "h" / "truth.json").read_bytes() == (tmp_path / "g" / "truth.json").read_bytes()


def test_knobs_lists_every_knob_and_corner() -> None:
    run = tg("knobs")
    assert run.code == 0
    listed = {line.split()[0] for line in run.out.splitlines() if line and not line.startswith(" ")}
    assert set(Knobs.model_fields) <= listed
    assert "fanout-outage" in run.out


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    (d / "spec.json").write_text('{"version": 1, "topics": []}')
    (d / "truth.json").write_text("{}")
    (d / "not.duckdb").write_text("hello")
    ok("import", "--db", d / "s.duckdb", "-", stdin=b"")
    raw = b'{"topic":"t","partition":0,"offset":0,"payload":"{}"}\n'
    ok("import", "--db", d / "raw.duckdb", "--no-reconstruct", "-", stdin=raw)
    return {
        "OUT": d / "o",
        "SPEC": d / "spec.json",
        "TRUTH": d / "truth.json",
        "MISSING": d / "missing",
        "NOTASTORE": d / "not.duckdb",
        "STORE": d / "s.duckdb",
        "RAW": d / "raw.duckdb",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "OUT", "--set", "nope=1"], "trafficgen: input: knob nope: unknown knob"),
        (["generate", "OUT", "--set", "skew_ms=5,1"], "range 5..1 is empty"),
        (["generate", "OUT", "--set", "stall_rate"], "want NAME=VALUE"),
        (
            ["generate", "OUT", "--set", "stall_rate=2"],
            "knob stall_rate: Input should be less than or equal to 1",
        ),
        (["generate", "OUT", "--corner", "nowhere"], "trafficgen: usage:"),
        (["generate", "OUT", "--spec", "SPEC"], "spec"),
        (["generate", "OUT", "--knobs", "MISSING"], "cannot read"),
        (["score", "--db", "MISSING", "--truth", "TRUTH"], "does not exist"),
        (["score", "--db", "NOTASTORE", "--truth", "TRUTH"], "trafficgen: store:"),
        (["score", "--db", "STORE", "--truth", "SPEC"], "is not a trafficgen truth file"),
        (["score", "--db", "RAW", "--truth", "TRUTH"], "was never reconstructed"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, bad_inputs: dict[str, Path]) -> None:
    run = tg(*[str(bad_inputs.get(a, a)) for a in args])
    assert run.code == 2, run
    assert len(run.err.strip().splitlines()) == 1 and message in run.err, run.err
    assert "Traceback" not in run.err


def test_run_round_trips_through_the_choreo_command(tmp_path: Path) -> None:
    """The real `choreo import` subprocess, then the score as JSON; rescore re-imports the same dump."""
    out = tmp_path / "r"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "choreo.trafficgen",
            "run",
            str(out),
            *SMALL_ARGS,
            "--json",
            "--failures",
            "2",
        ],
        capture_output=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    first = orjson.loads(proc.stdout)
    assert first["measures"]["workflows_true"] >= 1 and first["counts"]["true_instances"] > 0
    assert all(len(v) <= 2 for v in first["failures"].values())
    again = tg("rescore", out, "--json")
    assert again.code == 0, again.err
    assert orjson.loads(again.out)["measures"] == first["measures"]
