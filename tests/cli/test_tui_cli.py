"""`choreo tail` refuses bad input before the dashboard or the store is touched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.collect_helpers import run_main

UNREACHABLE = "127.0.0.1:1"  # nothing listens on port 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-b", UNREACHABLE, "-t", "orders", "--connect-timeout", "1"], "cannot reach 127.0.0.1:1"),
        (["-b", UNREACHABLE, "-t", "orders("], "regular expression"),
        (["-b", UNREACHABLE, "-t", "orders", "-X", "no.such.setting=1"], "no.such.setting"),
        (["-b", UNREACHABLE, "-t", "orders", "--from", "yesterday"], "--from 'yesterday'"),
    ],
)
def test_tail_bad_input_is_one_line_and_exit_2(
    capsys: Any, db_path: Path, args: list[str], expected: str
) -> None:
    result = run_main(capsys, "tail", "--db", str(db_path), *args)
    err = result.stderr.strip()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(err.splitlines()) == 1 and err.startswith("choreo: ") and expected in err, err
    assert not db_path.exists()
