"""`choreo demo`: from nothing to a reconstructed store in one command."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from choreo.cli.main import main
from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor
from choreo.core.store import Store
from choreo.demo.truth import load_truth
from tests.support.waiting import wait_for

pytestmark = pytest.mark.kafka


def _choreo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "choreo.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_demo_no_tui_exits_0_prints_the_summary_and_leaves_the_store(tmp_path: Path) -> None:
    proc = _choreo("demo", "--no-tui", "--instances", "30", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "90 sagas in 3 choreographies" in out
    for wf in ("order", "signup", "video"):
        assert re.search(rf"^  {wf}\s+30\s", out, re.M), out
    assert "stuck sagas" in out
    # The closing line: what choreo found against the ground truth.
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(
        r"stuck: choreo found (\d+), (\d+) truly stuck and (\d+) false; missed (\d+) of the (\d+) the "
        r"simulator knows \(ground truth: demo\.truth\.json\)",
        last,
    ), last
    assert "Traceback" not in proc.stderr

    truth = load_truth(tmp_path / "demo.truth.json")
    assert truth["driver"] == "live" and truth["counts"]["instances"] == 90
    with Store.open(tmp_path / "demo.duckdb", read_only=True) as store:
        assert store.count_events() == truth["counts"]["records"]
        assert store.query("SELECT count(*) FROM instances")[0][0] > 0
    assert '[services."carrier-service"]' in (tmp_path / "demo.toml").read_text()

    status = _choreo("status", "--db", "demo.duckdb", "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert orjson.loads(status.stdout)["events"] == truth["counts"]["records"]


@pytest.mark.parametrize(
    "faults",
    [
        ["--seed", "3", "--stall", "recommendation-service:0.5"],
        ["--seed", "6", "--stall", "notification-service:0.4", "--stall", "analytics-service:0.6"],
        # Down after 10 of 200 sign-ups and never back: a small share of
        # history, still what normal looks like.
        [
            *("--seed", "4", "--workflow", "signup", "--instances", "200"),
            *("--stall", "recommendation-service:0.05"),
        ],
        # Two clocks off in opposite directions, by more than the steps take.
        ["--seed", "5", "--skew", "order-service:9000", "--skew", "shipping-service:-5000"],
    ],
)
def test_demo_finds_every_stuck_saga_and_flags_no_completed_one(tmp_path: Path, faults: list[str]) -> None:
    """A fan-out branch's service stops (half the run; two of them, from
    different points; almost from the start): its branch stays expected,
    every saga that lost it is stuck, no saga whose branches all arrived is;
    skewed clocks change nothing of that. The closing line says so."""
    proc = _choreo("demo", "--no-tui", *faults, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    m = re.fullmatch(
        r"stuck: choreo found (\d+), (\d+) truly stuck and (\d+) false; missed (\d+) of the (\d+) .*", last
    )
    assert m, last
    found, true, false, missed, known = (int(g) for g in m.groups())
    assert false == 0 and missed == 0 and found == true == known > 0, last


def test_demo_replaces_its_own_store_but_no_other(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "demo.duckdb"
    args = ["demo", "--no-tui", "--instances", "5", "--workflow", "signup", "--no-faults", "--db", str(db)]
    for _ in range(2):  # the second run replaces the first run's store
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        assert exit_info.value.code == 0
    assert "5 sagas in 1 choreographies" in capsys.readouterr().out
    with Store.open(db, read_only=True) as store:
        assert store.count_events() == load_truth(tmp_path / "demo.truth.json")["counts"]["records"]

    other = tmp_path / "mine.duckdb"
    with Store.open(other) as store:
        batch = EventBatch(Extractor(), "test")
        batch.add("orders", 0, 0, 1, 1, b"k", None, b'{"orderId":"o-1"}')
        store.append(*batch.tables())
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--no-tui", "--instances", "5", "--db", str(other)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("choreo: ") and "did not make" in err and "\n" not in err
    with Store.open(other, read_only=True) as store:
        assert store.count_events() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stall", "nosuch-service"], "no example service named 'nosuch-service'"),
        (["--skew", "carrier-service"], "want SERVICE:MILLISECONDS"),
        (["--stall", "carrier-service:soon"], "is not a number"),
        (["--slow", "transcoder:-5"], "must be positive"),
        (["--decline-rate", "2"], "--decline-rate"),
        (["--workflow", "billing"], "--workflow"),
    ],
)
def test_demo_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--no-tui", "--db", str(tmp_path / "demo.duckdb"), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "demo.duckdb").exists()


def test_demo_db_that_is_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--no-tui", "--db", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "is a directory" in capsys.readouterr().err


def test_demo_keep_running_keeps_starting_sagas_until_ctrl_c(tmp_path: Path) -> None:
    from confluent_kafka import Consumer, TopicPartition

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "choreo.cli",
            "demo",
            "--no-tui",
            "--keep-running",
            "--instances",
            "5",
            "--workflow",
            "signup",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        bootstrap = ""
        for line in proc.stdout:
            m = re.search(r"keep running on (\S+),", line)
            if m:
                bootstrap = m.group(1)
                break
        assert bootstrap, proc.stderr.read() if proc.stderr else ""
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-watch"})

        def sign_ups() -> int:
            return sum(
                consumer.get_watermark_offsets(TopicPartition("users", p), timeout=5)[1] for p in range(3)
            )

        wait_for(lambda: sign_ups() > 5, timeout=30, what="new sagas after the first five")
        consumer.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
