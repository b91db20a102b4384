"""`choreo export workflow|instance|services` from the command line: files,
formats, SVG rendering where Graphviz is installed, the fallback without it,
and bad input."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from choreo.core.store import Store
from tests.support.export_data import Recorded, build_store, run_choreo

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    path = tmp_path_factory.mktemp("dotcli") / "store.duckdb"
    return build_store(path)


def _svg_texts(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG_NS}svg"
    return [t.text or "" for t in root.iter(f"{SVG_NS}text")]


@needs_dot
def test_workflow_svg(built: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "wf.svg"
    code, _, err = run_choreo(["export", "workflow", *built.args, "-o", str(out)], capsys)
    assert code == 0, err
    assert f"wrote {out}" in err
    texts = _svg_texts(out)
    for etype in ("OrderPlaced", "PaymentAuthorized", "ShipmentDelivered", "OrderCancelled"):
        assert etype in texts
    assert "1 stuck after this" in texts


@needs_dot
def test_instance_and_services_render(
    built: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = tmp_path / "i.svg"
    code, _, err = run_choreo(["export", "instance", "o-10", *built.args, "-o", str(inst)], capsys)
    assert code == 0, err
    texts = _svg_texts(inst)
    assert "expected: InventoryReserved" in texts
    assert "inventory-service" in texts
    svc = tmp_path / "s.png"
    code, _, err = run_choreo(["export", "services", *built.args, "-o", str(svc)], capsys)
    assert code == 0, err
    assert svc.read_bytes().startswith(b"\x89PNG")


def test_without_dot_writes_dot_and_says_so(
    built: Recorded,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `dot` reachable
    out = tmp_path / "wf.svg"
    code, _, err = run_choreo(["export", "workflow", *built.args, "-o", str(out)], capsys)
    assert code == 0
    assert not out.exists()
    dot = tmp_path / "wf.dot"
    assert dot.read_text().startswith("digraph order {")
    assert "Graphviz 'dot' is not installed" in err and str(dot) in err


def test_dot_to_stdout_and_default_name(
    built: Recorded,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, _ = run_choreo(["export", "workflow", "order", *built.args, "-o", "-"], capsys)
    assert code == 0 and out.startswith("digraph order {")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_choreo(["export", "workflow", "order", *built.args, "--format", "dot"], capsys)
    assert code == 0, err
    assert (tmp_path / "workflow-order.dot").exists()


def test_min_share_hides_rare_edges(built: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    rec = built
    _, full, _ = run_choreo(["export", "workflow", *rec.args, "-o", "-"], capsys)
    _, pruned, _ = run_choreo(["export", "workflow", *rec.args, "--min-share", "0.5", "-o", "-"], capsys)
    assert "PaymentFailed" in full and "PaymentFailed" not in pruned
    assert "OrderCancelled" not in pruned
    assert "edges under 50% hidden" in pruned
    assert pruned.count(" -> ") < full.count(" -> ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "workflow", "nope"], "no workflow 'nope'"),
        (["export", "instance", "no-such-order"], "no instance matches 'no-such-order'"),
        (["export", "workflow", "--min-share", "2"], "--min-share"),
        (["export", "workflow", "-o", "-", "--format", "svg"], "only DOT can be written to stdout"),
        (["export", "workflow", "-o", "/nonexistent-dir/wf.svg"], "cannot write /nonexistent-dir/wf.svg"),
        (["export", "services", "-o", "/nonexistent-dir/s.dot"], "cannot write /nonexistent-dir/s.dot"),
        (["export", "xes", "-o", "/nonexistent-dir/log.xes"], "cannot write /nonexistent-dir/log.xes"),
        (["export", "otel", "-o", "/nonexistent-dir/t.jsonl"], "cannot write /nonexistent-dir/t.jsonl"),
        (["export", "otel", "-o", "t.jsonl", "--endpoint", "http://x:4318"], "either --endpoint or --output"),
        (["export", "otel", "--endpoint", "http://x:4318", "-H", "novalue"], "is not NAME=VALUE"),
        (["export", "otel", "--status", "lost"], "--status"),
        (["report", "-o", "/nonexistent-dir/r.md", "--format", "json"], "cannot write /nonexistent-dir/r.md"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    built: Recorded, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run_choreo([*argv, *built.args], capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_empty_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.duckdb"
    Store.open(empty).close()
    code, _, err = run_choreo(["export", "workflow", "--db", str(empty)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert code == 2 and "no reconstructed workflows" in err
    code, _, err = run_choreo(["export", "services", "--db", str(empty)], capsys)
    assert code == 2 and "holds no events" in err


def test_a_store_never_reconstructed_is_reconstructed_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = build_store(tmp_path / "raw.duckdb", reconstruct=False)
    code, out, err = run_choreo(["export", "workflow", *rec.args, "-o", "-"], capsys)
    assert code == 0, err
    assert out.startswith("digraph order {") and "1 stuck after this" in out
