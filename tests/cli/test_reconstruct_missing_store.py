"""Reading commands refuse a store file that does not exist instead of creating it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "args",
    [["status"], ["stuck"], ["keys"], ["show", "o-1"], ["export", "workflow"], ["report"]],
)
def test_missing_store_is_one_line_exit_2(tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "typo.duckdb"
    proc = subprocess.run(
        [sys.executable, "-m", "choreo.cli", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert "does not exist" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr
    assert not db.exists()
