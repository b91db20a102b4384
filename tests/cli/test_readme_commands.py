"""Every command of README's CLI sections, run as written (in a directory
with the files it names), exits as the README says; and `choreo demo`
prints what README's sample output shows.

What cannot be as written here is substituted, and only that: the brokers
the examples name (``broker:9092``, ``localhost:9092``, ``127.0.0.1:PORT``)
are the sandbox the section itself starts, ``4711`` is an order id of the
store, the OTLP endpoint is a receiver on loopback. The dashboard commands run
on a pseudo-terminal and are quit with ``q``. A README command this test does
not know fails it: add it to ``EXPECTED``.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from tests.support.collect_helpers import choreo_cmd, produce
from tests.support.import_helpers import require_kcat
from tests.support.kafka_fetch import fetch_log
from tests.support.otlp_receiver import otlp_receiver
from tests.support.paths import FIXTURES, REPO
from tests.support.terminal import Terminal
from tests.support.tui_fixtures import FixtureStore
from tests.support.waiting import wait_for

pytestmark = pytest.mark.kafka

SECTIONS = (
    "Collecting from a live cluster",
    "Importing dumps (post-mortem)",
    "Reconstruction: `status`, `stuck`, `show`, `keys`",
    "Exports",
    "The dashboard: `choreo tui` and `choreo tail`",
)

# How each command exits, as the README says (0 unless it says otherwise), and how it is run:
# "run" to its end, "interrupt" (Ctrl-C once it runs), "background" (stays up for the
# section), "terminal" (the dashboard: q quits).
EXPECTED: dict[str, tuple[str, int]] = {
    "choreo sandbox --topic orders:3 --topic payments:3 &": ("background", 0),
    "choreo collect -b 127.0.0.1:PORT -t 'orders|payments'": ("interrupt", 0),  # "Ctrl-C ... exits 0"
    "choreo collect -b broker:9092 -t 'orders.*|payments.*' --from 2024-05-01T10:00:00Z --until-idle 5": (
        "run",
        0,
    ),
    # No SASL listener here: "an unreachable cluster at start is a one-line error and exit 2".
    "choreo collect -b broker:9093 -t orders -X security.protocol=SASL_SSL "
    "-X sasl.mechanism=PLAIN -X sasl.username=tap -X sasl.password=...": ("run", 2),
    "choreo status --json": ("run", 0),
    "choreo import dumps/*.json.gz": ("run", 0),
    "kcat -C -J -b broker:9092 -t orders -e | choreo import -": ("run", 0),
    "choreo export events -o all.jsonl.zst": ("run", 0),
    "choreo import --db other.duckdb all.jsonl.zst": ("run", 0),
    "choreo import --time-field meta.occurredAt --topic app app-log.jsonl": ("run", 0),
    "choreo import 'kafka-data/orders-*/*.log'": ("run", 0),
    "choreo status": ("run", 0),
    "choreo stuck": ("run", 0),
    "choreo stuck --fail-on-stuck": ("run", 1),  # "exit 1 when anything is stuck"
    "choreo show 4711": ("run", 0),
    "choreo keys": ("run", 0),
    "choreo stuck --db a.duckdb --db b.duckdb": ("run", 0),
    "choreo demo --no-tui": ("run", 0),
    "choreo export workflow order --db demo.duckdb --config demo.toml -o docs/demo-order-workflow.svg": (
        "run",
        0,
    ),
    "choreo export services --db demo.duckdb --config demo.toml -o docs/demo-services.svg": ("run", 0),
    "choreo export workflow order --min-share 0.05": ("run", 0),
    "choreo export instance 4711": ("run", 0),
    "choreo export services": ("run", 0),
    "choreo export otel --status stuck --workflow order": ("run", 0),
    "choreo export otel --endpoint http://localhost:4318": ("run", 0),
    "choreo export xes -o orders.xes": ("run", 0),
    "choreo export ocel -o log.jsonocel": ("run", 0),
    "choreo report --format html -o report.html": ("run", 0),
    "choreo export events -o all.jsonl": ("run", 0),
    "choreo tui --db demo.duckdb --config demo.toml": ("terminal", 0),
    "choreo tail -b localhost:9092 -t 'orders|payments|inventory|shipping' --db live.duckdb": ("terminal", 0),
}


@dataclass(frozen=True)
class Command:
    section: str
    text: str


def readme_commands() -> list[Command]:
    """The command lines of the CLI sections' code blocks, comments cut, continuations joined."""
    out: list[Command] = []
    section = ""
    pending = ""
    for line in (REPO / "README.md").read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        if section not in SECTIONS or not line.startswith("    "):
            continue
        text = pending + line.strip()
        if text.endswith("\\"):
            pending = text[:-1]
            continue
        pending = ""
        text = re.sub(r"\s+#\s.*$", "", text).strip()
        text = " ".join(text.split())
        if text.startswith(("choreo ", "kcat ")):
            out.append(Command(section, text))
    return out


def test_every_readme_command_is_known() -> None:
    texts = [c.text for c in readme_commands()]
    assert sorted(set(texts)) == sorted(EXPECTED)


@dataclass
class Env:
    cwd: Path
    env: dict[str, str]
    subst: dict[str, str]


def _shell(cmd: Command, where: Env, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    text = cmd.text
    for old, new in where.subst.items():
        text = text.replace(old, new)
    # `choreo` is this checkout's, run by this interpreter.
    choreo = " ".join(choreo_cmd())
    text = re.sub(r"(^|\| )choreo ", rf"\1{choreo} ", text)
    return subprocess.run(
        ["bash", "-c", text], cwd=where.cwd, env=where.env, capture_output=True, text=True, timeout=timeout
    )


def _run(cmd: Command, where: Env) -> None:
    how, code = EXPECTED[cmd.text]
    if how == "run":
        done = _shell(cmd, where)
        assert done.returncode == code, f"{cmd.text}: exit {done.returncode}\n{done.stderr[-2000:]}"
        if code == 2:
            assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    elif how == "interrupt":
        args = cmd.text
        for old, new in where.subst.items():
            args = args.replace(old, new)
        proc = subprocess.Popen(
            [*choreo_cmd(), *_split(args)[1:]],
            cwd=where.cwd,
            env=where.env,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        wait_for(lambda: "partitions" in proc.stderr.readline(), what=f"{cmd.text} running")  # type: ignore[union-attr]
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == code, err
    elif how == "terminal":
        args = cmd.text
        for old, new in where.subst.items():
            args = args.replace(old, new)
        term = Terminal([*choreo_cmd(), *_split(args)[1:]], where.env, cwd=where.cwd, size=(120, 40))
        term.wait_for("? Help", timeout=120)
        term.wait_for("as of", timeout=120)
        term.send("q")
        assert term.wait_exit() == code, term.raw[-2000:]
    else:
        raise AssertionError(f"unknown way to run {cmd.text}: {how}")


def _split(text: str) -> list[str]:
    import shlex

    return shlex.split(text)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The README's own `choreo sandbox --topic orders:3 --topic payments:3 &`."""
    (cmd,) = [c for c in readme_commands() if c.text.startswith("choreo sandbox")]
    proc = subprocess.Popen(
        [*choreo_cmd(), *_split(cmd.text.rstrip("&"))[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        assert proc.stdout is not None
        bootstrap = proc.stdout.readline().strip()
        assert ":" in bootstrap, proc.stderr.read() if proc.stderr else ""
        yield bootstrap, proc
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


def _orders(n: int) -> list[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]] | None]]:
    return [
        ("orders", f"ord-{i}".encode(), orjson.dumps({"type": "OrderCreated", "orderId": f"ord-{i}"}), None)
        for i in range(n)
    ] + [
        ("payments", None, orjson.dumps({"type": "PaymentCompleted", "order": {"id": f"ord-{i}"}}), None)
        for i in range(n)
    ]


def _env(tmp_path: Path) -> dict[str, str]:
    return dict(
        os.environ, PYTHONUNBUFFERED="1", XDG_STATE_HOME=str(tmp_path / "state"), TERM="xterm-256color"
    )


def _section(name: str) -> list[Command]:
    return [c for c in readme_commands() if c.section == name]


def test_collecting_commands(tmp_path: Path, sandbox: tuple[str, subprocess.Popen[str]]) -> None:
    bootstrap, _proc = sandbox
    produce(bootstrap, _orders(20))
    where = Env(
        tmp_path,
        _env(tmp_path),
        {"127.0.0.1:PORT": bootstrap, "broker:9092": bootstrap, "broker:9093": bootstrap},
    )
    for cmd in _section(SECTIONS[0]):
        if not cmd.text.startswith("choreo sandbox"):
            _run(cmd, where)
    status = orjson.loads(_shell(Command("", "choreo status --json"), where).stdout)
    assert status["events"] == 40


def test_importing_commands(tmp_path: Path, sandbox: tuple[str, subprocess.Popen[str]]) -> None:
    bootstrap, _proc = sandbox
    produce(bootstrap, _orders(10))
    (tmp_path / "dumps").mkdir()
    dump = (FIXTURES / "mixed" / "dump.kcat.jsonl").read_bytes()
    (tmp_path / "dumps" / "mixed.json.gz").write_bytes(gzip.compress(dump))
    lines = [
        orjson.dumps({"type": "Login", "user": f"u{i}", "meta": {"occurredAt": f"2024-05-01T10:00:{i:02d}Z"}})
        for i in range(5)
    ]
    (tmp_path / "app-log.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    for partition in range(3):
        d = tmp_path / "kafka-data" / f"orders-{partition}"
        d.mkdir(parents=True)
        (d / "00000000000000000000.log").write_bytes(fetch_log(bootstrap, "orders", partition))
    where = Env(tmp_path, _env(tmp_path), {"broker:9092": bootstrap})
    for cmd in _section(SECTIONS[1]):
        if cmd.text.startswith("kcat"):
            require_kcat()
        _run(cmd, where)
    assert (tmp_path / "other.duckdb").exists() and (tmp_path / "all.jsonl.zst").exists()


def test_reconstruction_commands(tmp_path: Path, mixed: FixtureStore) -> None:
    for name in ("choreo.duckdb", "a.duckdb", "b.duckdb"):
        shutil.copy(mixed.path, tmp_path / name)
    shutil.copy(FIXTURES / "mixed" / "choreo.toml", tmp_path / "choreo.toml")
    with mixed.open() as store:
        order = str(
            store.query("SELECT value FROM identifiers WHERE name = 'orderId' ORDER BY value LIMIT 1")[0][0]
        )
    where = Env(tmp_path, _env(tmp_path), {"4711": order})
    for cmd in _section(SECTIONS[2]):
        _run(cmd, where)


def test_demo_exports_and_dashboard_commands(
    tmp_path: Path, sandbox: tuple[str, subprocess.Popen[str]]
) -> None:
    bootstrap, _proc = sandbox
    (tmp_path / "docs").mkdir()
    where = Env(tmp_path, _env(tmp_path), {"localhost:9092": bootstrap})
    exports = _section(SECTIONS[3])
    demo = exports[0]
    # The README repeats `choreo demo --no-tui` where another file is regenerated: run once.
    rest = [
        c
        for i, c in enumerate(exports)
        if c.text != demo.text and c.text not in (x.text for x in exports[:i])
    ]
    assert demo.text == "choreo demo --no-tui"
    done = _shell(demo, where)
    assert done.returncode == 0, done.stderr
    _matches_readme_sample(done.stdout)
    # The store the other examples work on (they name no --db): the demo's.
    shutil.copy(tmp_path / "demo.duckdb", tmp_path / "choreo.duckdb")
    shutil.copy(tmp_path / "demo.toml", tmp_path / "choreo.toml")
    import duckdb

    con = duckdb.connect(str(tmp_path / "demo.duckdb"), read_only=True)
    order = str(con.execute("SELECT value FROM identifiers WHERE name = 'orderId' LIMIT 1").fetchall()[0][0])
    con.close()
    with otlp_receiver() as otlp:
        where.subst.update({"4711": order, "http://localhost:4318": otlp.endpoint})
        for cmd in rest:
            _run(cmd, where)
        assert otlp.spans()
    assert (tmp_path / "docs" / "demo-order-workflow.svg").exists() or (
        tmp_path / "docs" / "demo-order-workflow.dot"
    ).exists()
    for cmd in _section(SECTIONS[4]):
        _run(cmd, where)


def _masked(line: str) -> str:
    """The demo runs in real time: durations, and on a busy machine a few
    verdicts (counts, offsets), vary from run to run. What it says and its
    deterministic first line (the seed's sagas, events and topics) must not."""
    line = re.sub(r"\b\d+(\.\d+)?(ms|s)\b|\b\d+m\d+s\b", "T", line)
    if not line.startswith("choreo demo:"):
        line = re.sub(r"\d+", "N", line)
    return re.sub(r"\s+", " ", line).strip()


def _matches_readme_sample(out: str) -> None:
    """README's `choreo demo` sample: every line it shows, in order (``...`` elides)."""
    text = (REPO / "README.md").read_text()
    block = text.split("### What `make demo` shows", 1)[1].split("\n\n    choreo demo:", 1)[1]
    sample = ("    choreo demo:" + block).split("\n\nIt leaves", 1)[0]
    shown: list[str] = []
    for line in (x[4:] for x in sample.splitlines() if x.startswith("    ")):
        indent = len(line) - len(line.lstrip())
        before = len(shown[-1]) - len(shown[-1].lstrip()) if shown else -1
        if shown and before == 2 and indent == 4:
            shown[-1] += " " + line.strip()  # wrapped in the README, one line in the output
        else:
            shown.append(line)
    actual = out.splitlines()
    # Stuck sagas are listed most overdue first: sagas that stopped within
    # moments of each other may swap places from run to run (it runs in real
    # time), so a sample saga must be among the listed ones, in any order.
    listed = [x for x in actual if re.match(r"^  \S+=\S+: ", x)]
    i = 0
    for want in shown:
        if want.strip() in ("...", ""):
            continue
        parts = [_masked(p) for p in want.split("...") if p.strip()]
        if re.match(r"^  \S+=\S+: ", want):
            hit = any(all(p in _masked(x) for p in parts) for x in listed)
            assert hit, f"README's demo sample saga not listed by `choreo demo`:\n{want}\n\n{out}"
            continue
        while i < len(actual) and not all(p in _masked(actual[i]) for p in parts):
            i += 1
        assert i < len(actual), f"README's demo sample line not printed by `choreo demo`:\n{want}\n\n{out}"
        i += 1
