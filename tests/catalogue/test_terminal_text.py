"""Promise: text from records never reaches a terminal raw (issue 15, finding 5).

A store whose event types, services and identifier values carry terminal
control sequences (clear screen, OSC 0 window title, OSC 8 link, NUL, BEL,
C1 CSI, bidi override) is read by every command that prints; none of the
output holds a raw control character, even though stdout is not a terminal
here (OSC must be neutralised regardless). JSON output stays valid and says
the same values.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from choreo.core.store import Store
from tests.support.hostile import EVIL, STUCK_CONFIG, hostile_plain_lines, raw_controls
from tests.support.import_helpers import Run, choreo
from tests.support.paths import REPO


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    d = tmp_path_factory.mktemp("hostile")
    cfg = d / "choreo.toml"
    cfg.write_text(STUCK_CONFIG)
    db = d / "h.duckdb"
    run = choreo("import", "--db", db, "--config", cfg, hostile_plain_lines(d / "app.jsonl"))
    assert run.code == 0, run.err
    yield db, cfg


def _run(hostile: tuple[Path, Path], *args: str) -> Run:
    db, cfg = hostile
    run = choreo(*args, "--db", db, "--config", cfg)
    assert run.code in (0, 1), run.err
    return run


def _safe(run: Run) -> None:
    assert raw_controls(run.out) == [], run.out[:300]
    assert raw_controls(run.err) == [], run.err[:300]


def _instance(db: Path) -> str:
    with Store.open(db, read_only=True) as s:
        rows = s.query("SELECT instance_id FROM stuck ORDER BY 1 LIMIT 1")
    return str(rows[0][0])


# -- every command that prints -------------------------------------------------
def test_stuck(hostile: tuple[Path, Path]) -> None:
    run = _run(hostile, "stuck")
    assert "\\x1b]0;pwned\\x07" in run.out  # shown, escaped
    _safe(run)


def test_stuck_json(hostile: tuple[Path, Path]) -> None:
    run = _run(hostile, "stuck", "--json")
    _safe(run)
    doc = orjson.loads(run.out)
    assert any(EVIL in s["explanation"] for s in doc["stuck"])  # the values are unchanged


def test_show(hostile: tuple[Path, Path]) -> None:
    run = _run(hostile, "show", _instance(hostile[0]))
    assert "OrderPlaced\\x1b[2J" in run.out
    _safe(run)


def test_show_json(hostile: tuple[Path, Path]) -> None:
    run = _run(hostile, "show", _instance(hostile[0]), "--json")
    _safe(run)
    assert orjson.loads(run.out)["instance"]["workflow"] == f"OrderPlaced{EVIL}"


def test_show_error_names_the_argument_safely(hostile: tuple[Path, Path]) -> None:
    db, cfg = hostile
    run = choreo("show", f"nothing{EVIL}", "--db", db, "--config", cfg)
    assert run.code == 2 and len(run.err.strip().splitlines()) == 1
    _safe(run)


def test_keys(hostile: tuple[Path, Path]) -> None:
    _safe(_run(hostile, "keys"))
    _safe(_run(hostile, "keys", "--json"))


def test_status(hostile: tuple[Path, Path]) -> None:
    _safe(_run(hostile, "status"))
    _safe(_run(hostile, "status", "--json"))


def test_report_markdown_on_stdout(hostile: tuple[Path, Path]) -> None:
    run = _run(hostile, "report")
    assert "OrderPlaced\\x1b[2J" in run.out
    _safe(run)


def test_report_markdown_file(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.md"
    _run(hostile, "report", "-o", str(out))
    assert raw_controls(out.read_text()) == []


def test_report_json_on_stdout(hostile: tuple[Path, Path]) -> None:
    run = _run(hostile, "report", "--format", "json")
    _safe(run)
    orjson.loads(run.out)


@pytest.mark.parametrize("what", ["events", "otel"])
def test_json_lines_exports_on_stdout(hostile: tuple[Path, Path], what: str) -> None:
    run = _run(hostile, "export", what, "-o", "-") if what == "otel" else _events_to_stdout(hostile[0])
    _safe(run)
    docs = [orjson.loads(line) for line in run.out.splitlines()]
    assert any("OrderPlaced" + EVIL in text for text in _strings(docs))  # the same values


def _strings(doc: object) -> Iterator[str]:
    """Every string in ``doc``, and in the JSON documents those strings hold (payloads)."""
    if isinstance(doc, str):
        yield doc
        if doc.startswith("{"):
            yield from _strings(orjson.loads(doc))
    elif isinstance(doc, dict):
        for v in doc.values():
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)


def _events_to_stdout(db: Path) -> Run:
    run = choreo("export", "events", "--db", db, "-o", "-")
    assert run.code == 0, run.err
    return run


def test_events_on_stdout_read_back_byte_exact(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    """Escaping for the terminal does not change what the JSON says."""
    dump = _events_to_stdout(hostile[0]).out.encode()
    copy = tmp_path / "copy.duckdb"
    assert choreo("import", "--db", copy, "--no-reconstruct", "-", stdin=dump).code == 0
    a = tmp_path / "a.jsonl"
    b = tmp_path / "b.jsonl"
    choreo("export", "events", "--db", hostile[0], "-o", a)
    choreo("export", "events", "--db", copy, "-o", b)
    assert a.read_bytes() == b.read_bytes()


def test_import_summary_names_hostile_files_and_lines(tmp_path: Path) -> None:
    no_nul = EVIL.replace("\x00", "")  # a NUL makes a file binary (and cannot be in a file name)
    bad = tmp_path / f"dump{no_nul.replace('/', '')}.jsonl"
    bad.write_bytes(b'{"type": "A", "time": 1}\n{"broken' + no_nul.encode() + b"\n")
    run = choreo("import", "--db", tmp_path / "s.duckdb", "--no-reconstruct", bad)
    assert run.code == 0 and "1 bad line(s)" in run.out
    _safe(run)


def test_cli_prints_only_through_its_output_module() -> None:
    """The one place: no command writes to the terminal any other way (binary
    exports write bytes to the output stream, which is data, not text)."""
    offenders = []
    for path in sorted((REPO / "choreo" / "cli").rglob("*.py")):
        if path.name == "output.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
                name = ast.unparse(node.func)
                if name in ("click.echo", "click.secho", "print", "sys.stdout.write", "sys.stderr.write"):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: {name}")
    assert offenders == []
