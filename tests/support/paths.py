"""Where the tests find the repository's recorded fixtures and golden files."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
GOLDEN = REPO / "tests" / "reconstruct" / "golden"
