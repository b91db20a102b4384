"""`choreo report`: Markdown, JSON and HTML post-mortem summaries."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest

from tests.support.export_data import Recorded, build_store, run_choreo

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    path = tmp_path_factory.mktemp("report") / "store.duckdb"
    return build_store(path)


def test_json_report(built: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    rec = built
    code, out, _ = run_choreo(["report", *rec.args, "--format", "json"], capsys)
    assert code == 0
    data = orjson.loads(out)
    assert data["events"] == rec.records
    assert sum(data["status_counts"].values()) == len(rec.orders)
    assert data["status_counts"]["stuck"] == 1
    (wf,) = data["workflows"]
    assert wf["instances"] == len(rec.orders)
    assert wf["variants"][0]["path"] == rec.orders["o-1"] and wf["variants"][0]["rank"] == 1
    p95 = [s["p95_ms"] for s in wf["slowest_steps"]]
    assert p95 == sorted(p95, reverse=True)
    assert wf["stuck_by_step"] == [
        {
            "last_type": "PaymentAuthorized",
            "responsible_service": "inventory-service",
            "reason": wf["stuck"][0]["reason"],
            "expected_types": ["InventoryReserved"],
            "count": 1,
        }
    ]
    (stuck,) = wf["stuck"]
    assert stuck["last_type"] == "PaymentAuthorized"
    assert "InventoryReserved" in stuck["expected_types"]
    assert stuck["explanation"]


def test_markdown_report_with_linked_diagram(
    built: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = built
    code, out, _ = run_choreo(["report", *rec.args], capsys)
    assert code == 0
    assert out.startswith("# choreo report")
    assert "### Variants" in out and "### Slowest steps (by p95)" in out
    assert "### Stuck instances (1 of 1 shown)" in out
    assert "| PaymentAuthorized | inventory-service |" in out
    assert "OrderPlaced → PaymentAuthorized → InventoryReserved" in out
    if shutil.which("dot") is None:
        return
    target = tmp_path / "post-mortem.md"
    code, _, _ = run_choreo(["report", *rec.args, "-o", str(target)], capsys)
    assert code == 0
    assert "![order workflow](post-mortem-order.svg)" in target.read_text()
    assert (tmp_path / "post-mortem-order.svg").read_text().lstrip().startswith("<?xml")


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


@needs_dot
def test_html_report_embeds_svg(built: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_choreo(["report", *built.args, "--format", "html"], capsys)
    assert code == 0
    parser = _Collect()
    parser.feed(out)
    assert parser.tags.count("svg") == 1
    assert "<?xml" not in out  # the SVG is inlined without its prolog
    assert "ShipmentDelivered" in out and 'class="stuck"' in out


def test_html_report_without_dot(
    built: Recorded, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    code, out, _ = run_choreo(["report", *built.args, "--format", "html"], capsys)
    assert code == 0
    assert "<svg" not in out and "is not installed" in out
