"""Regenerate fixtures/ deterministically: each fixture is a simulated run of
the example choreographies, dumped by the real kcat binary (kcat -C -J) from
the embedded cluster, with its ground truth and a choreo.toml.

    .venv/bin/python scripts/make_fixtures.py            # all fixtures
    .venv/bin/python scripts/make_fixtures.py mixed      # just one

Running it again gives byte-identical files (tests check this).
"""

from __future__ import annotations

import sys
from pathlib import Path

from choreo.demo.fixtures import FIXTURES, fixture_dir
from choreo.demo.record import record_fixture


def main(argv: list[str]) -> int:
    names = argv or list(FIXTURES)
    unknown = [n for n in names if n not in FIXTURES]
    if unknown:
        print(f"unknown fixture {unknown[0]!r}; known: {', '.join(FIXTURES)}", file=sys.stderr)
        return 2
    root = Path(__file__).resolve().parent.parent / "fixtures"
    for name in names:
        rec = record_fixture(FIXTURES[name], fixture_dir(root, name))
        size = rec.dump.stat().st_size + rec.truth.stat().st_size
        print(f"{name}: {rec.records} records, {size / 1e6:.2f} MB -> {rec.dump.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
