"""Every kind of bad input to `choreo collect`: one line on stderr, exit 2,
no traceback, nothing already stored lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor
from choreo.core.schema import SCHEMA_VERSION
from choreo.core.store import Store
from tests.conftest import KafkaTarget
from tests.support.collect_helpers import CliResult, run_choreo, run_main

UNREACHABLE = "127.0.0.1:1"  # nothing listens on port 1


def _fails(result: subprocess.CompletedProcess[str] | CliResult, *expected: str) -> str:
    err = result.stderr.strip()
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(err.splitlines()) == 1, err
    assert err.startswith("choreo: ")
    for text in expected:
        assert text in err
    return err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-t", "orders("], ["--topics 'orders('", "regular expression"]),
        (["-t", "x", "--from", "yesterday"], ["--from 'yesterday'", "ISO-8601"]),
        (["-t", "x", "--from", "2024-13-45T99:00"], ["--from"]),
        (["-t", "x", "-X", "fetch.wait.max.ms"], ["-X 'fetch.wait.max.ms'", "key=value"]),
        (["-t", "x", "-X", "no.such.setting=1"], ["no.such.setting"]),
        (["-t", "x", "-X", "session.timeout.ms=soon"], ["session.timeout.ms"]),
        (["-t", "x", "-X", "enable.auto.commit=true"], ["enable.auto.commit", "not allowed"]),
        (["-t", "x", "--until-idle", "-1"], ["--until-idle"]),
        (["-t", "x", "--batch-size", "0"], ["--batch-size"]),
        ([], ["--topics"]),
    ],
    ids=[
        "regex",
        "from-word",
        "from-date",
        "X-no-equals",
        "X-unknown",
        "X-bad-value",
        "X-reserved",
        "until-idle",
        "batch-size",
        "no-topics",
    ],
)
def test_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: list[str]
) -> None:
    db = tmp_path / "s.duckdb"
    _fails(run_main(capsys, "collect", "-b", UNREACHABLE, "--db", str(db), *args), *expected)
    assert not db.exists(), "a store was created for a command that could not run"


def test_unreachable_broker_gives_up_after_bounded_wait(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    result = run_choreo(
        "collect", "-b", UNREACHABLE, "-t", "x", "--connect-timeout", "1", "--db", str(db), timeout=30
    )
    _fails(result, "kafka: cannot reach 127.0.0.1:1 within 1s", "Connection refused")
    assert not db.exists()


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[extract]\nbogus = 1\n", "extract.bogus: unknown key"),
        ("[extract]\nmax_depth = 'deep'\n", "extract.max_depth"),
        ("[extract]\ntype_from = ['somewhere']\n", "extract.type_from"),
        ("[services.billing]\ngroup = 7\n", "services.billing.group"),
        ("[extract\n", "not valid TOML"),
    ],
    ids=["unknown-key", "wrong-type", "bad-source", "nested-key", "not-toml"],
)
def test_bad_config_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, expected: str
) -> None:
    cfg = tmp_path / "choreo.toml"
    cfg.write_text(toml)
    result = run_main(
        capsys,
        "collect",
        "-b",
        UNREACHABLE,
        "-t",
        "x",
        "--config",
        str(cfg),
        "--db",
        str(tmp_path / "s.duckdb"),
    )
    _fails(result, "config: ", expected)


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(
        capsys, "collect", "-b", UNREACHABLE, "-t", "x", "--config", str(tmp_path / "nope.toml")
    )
    _fails(result, "nope.toml does not exist")


def _store_with_one_event(db: Path) -> None:
    b = EventBatch(Extractor(), "test")
    b.add("orders", 0, 0, 1000, 1, b"k", None, b'{"type":"A"}')
    with Store.open(db) as s:
        s.append(*b.tables())


@pytest.mark.kafka
def test_locked_store(kafka: KafkaTarget, db_path: Path) -> None:
    _store_with_one_event(db_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,sys; c=duckdb.connect({str(db_path)!r}); "
            "print('ready', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = run_choreo("collect", "-b", kafka.bootstrap, "-t", "x", "--db", str(db_path))
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    _fails(result, "store: ", "in use by another process")
    with Store.open(db_path, read_only=True) as s:
        assert s.count_events() == 1


@pytest.mark.kafka
def test_not_a_store(kafka: KafkaTarget, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "notes.txt"
    db.write_bytes(b"my precious notes\n")
    _fails(
        run_main(capsys, "collect", "-b", kafka.bootstrap, "-t", "x", "--db", str(db)), "not a choreo store"
    )
    assert db.read_bytes() == b"my precious notes\n"


@pytest.mark.kafka
def test_store_from_a_newer_choreo(
    kafka: KafkaTarget, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _store_with_one_event(db_path)
    with Store.open(db_path) as s:
        s.set_meta("schema_version", str(SCHEMA_VERSION + 1))
    _fails(
        run_main(capsys, "collect", "-b", kafka.bootstrap, "-t", "x", "--db", str(db_path)), "newer choreo"
    )
