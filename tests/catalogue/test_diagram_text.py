"""Promise: text from records never reaches DOT, SVG, XML or HTML unescaped
(issue 15, finding 10).

Event types, services and identifier values carrying NUL, ESC, BEL, C1 and
bidi controls: every diagram renders with ``dot`` (a NUL used to stop it),
every SVG and XML output is well-formed XML (ESC or BEL used to break it),
and the HTML report holds no raw control character.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from choreo.core.store import Store
from tests.support.hostile import STUCK_CONFIG, hostile_plain_lines, raw_controls
from tests.support.import_helpers import choreo

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    d = tmp_path_factory.mktemp("hostile-diagrams")
    cfg = d / "choreo.toml"
    cfg.write_text(STUCK_CONFIG)
    db = d / "h.duckdb"
    run = choreo("import", "--db", db, "--config", cfg, hostile_plain_lines(d / "app.jsonl"))
    assert run.code == 0, run.err
    yield db, cfg


def _export(hostile: tuple[Path, Path], out: Path, *args: str) -> Path:
    db, cfg = hostile
    run = choreo("export", *args, "--db", db, "--config", cfg, "-o", out)
    assert run.code == 0, run.err
    assert raw_controls(run.err) == []
    return out


def _stuck_instance(db: Path) -> str:
    with Store.open(db, read_only=True) as s:
        return str(s.query("SELECT instance_id FROM stuck ORDER BY 1 LIMIT 1")[0][0])


def _well_formed(path: Path) -> None:
    ET.parse(path)  # raises on text XML cannot carry
    assert raw_controls(path.read_text(encoding="utf-8")) == []


def test_workflow_dot_source_has_no_control_characters(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    out = _export(hostile, tmp_path / "w.dot", "workflow", "--format", "dot")
    assert raw_controls(out.read_text(encoding="utf-8")) == []


@needs_dot
def test_workflow_svg_is_well_formed(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    _well_formed(_export(hostile, tmp_path / "w.svg", "workflow", "--format", "svg"))


@needs_dot
def test_services_svg_is_well_formed(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    _well_formed(_export(hostile, tmp_path / "s.svg", "services", "--format", "svg"))


@needs_dot
def test_instance_svg_is_well_formed(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    iid = _stuck_instance(hostile[0])
    _well_formed(_export(hostile, tmp_path / "i.svg", "instance", iid, "--format", "svg"))


def test_xes_is_well_formed(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    # A file keeps what XML can carry (DEL, C1) as it was recorded.
    ET.parse(_export(hostile, tmp_path / "log.xes", "xes"))


def test_xes_on_stdout_is_the_same_log_made_safe(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    db, cfg = hostile
    run = choreo("export", "xes", "-o", "-", "--db", db, "--config", cfg)
    assert run.code == 0 and raw_controls(run.out) == []
    from_file = ET.parse(_export(hostile, tmp_path / "log.xes", "xes")).getroot()
    assert ET.tostring(ET.fromstring(run.out.encode())) == ET.tostring(from_file)


@needs_dot
def test_html_report_renders_and_holds_no_control_characters(
    hostile: tuple[Path, Path], tmp_path: Path
) -> None:
    db, cfg = hostile
    out = tmp_path / "r.html"
    run = choreo("report", "--format", "html", "-o", out, "--db", db, "--config", cfg)
    assert run.code == 0, run.err
    text = out.read_text(encoding="utf-8")
    assert "<svg" in text and raw_controls(text) == []
