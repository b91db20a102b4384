"""Promise: a producer's clock can say anything. A record stamped far outside
the calendar (year 160,000, or long before year 1) is stored like any other,
and every command that shows or exports times still works (the report and
the XES and OCEL exports crashed on one such record).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.import_helpers import choreo

LINES = (
    b'{"type": "A", "orderId": "o-1", "time": 5000000000000000000}\n'  # microseconds: year ~160,000
    b'{"type": "B", "orderId": "o-1", "time": 5000000000000001000}\n'
    b'{"type": "A", "orderId": "o-2", "time": -5000000000000000}\n'  # long before year 1
    b'{"type": "A", "orderId": "o-3", "time": 1700000000000}\n'
)


@pytest.fixture(scope="module")
def far(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("far")
    (d / "app.jsonl").write_bytes(LINES)
    run = choreo("import", "--db", d / "s.duckdb", d / "app.jsonl")
    assert run.code == 0, run.err
    assert "epoch+5000000000000001ms" in run.out  # "now" is that record's time, shown as it is
    yield d / "s.duckdb"


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["stuck"],
        ["keys"],
        ["show", "o-1"],
        ["report"],
        ["report", "--format", "html", "-o", "{out}/r.html"],
        ["export", "xes", "-o", "{out}/log.xes"],
        ["export", "ocel", "-o", "{out}/log.jsonocel"],
        ["export", "ocel", "-o", "{out}/log.xmlocel"],
        ["export", "ocel", "-o", "{out}/log.sqlite"],
        ["export", "otel", "-o", "{out}/t.otlp.jsonl"],
        ["export", "instance", "o-1", "-o", "{out}/i.dot"],
        ["export", "workflow", "-o", "{out}/w.dot"],
    ],
    ids=lambda a: "-".join(x for x in a if not x.startswith(("{", "-"))),
)
def test_every_command_on_far_times(far: Path, tmp_path: Path, args: list[str]) -> None:
    run = choreo(*(a.format(out=tmp_path) for a in args), "--db", far)
    assert run.code == 0 and "Traceback" not in run.err, run.err[-2000:]
