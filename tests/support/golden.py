"""Golden files: compare a produced text with its file in tests/reconstruct/golden/.

Regenerate after an intended change with
    CHOREO_UPDATE_GOLDEN=1 .venv/bin/pytest tests/reconstruct -k golden
and review the diff of tests/reconstruct/golden/ before committing.
"""

from __future__ import annotations

import os

from tests.support.paths import GOLDEN


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("CHOREO_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with CHOREO_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"
