"""A command on a store collected live re-judges its open sagas first; that
must not import the engine's stitching and learning stages (SciPy, numpy,
pyarrow: most of a start's time). Checked in a fresh process, on what it
imported, not on a timing; and the judging is checked to have happened."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from choreo.core.store import Store
from choreo.reconstruct.query.asof import NowKind, judged_as_of
from tests.support.paths import FIXTURES, REPO
from tests.support.tui_fixtures import FixtureStore

CONFIG = FIXTURES / "mixed" / "choreo.toml"
HEAVY = ("scipy", "numpy", "pyarrow", "choreo.reconstruct.engine.pipeline", "choreo.reconstruct.engine.steps")

# Runs a command (or the dashboard's start-up) in this process, then prints what it imported.
CHILD = """
import json, sys
what, db, config = sys.argv[1:4]
if what == "dashboard":
    from choreo.cli.commands import tui
    from choreo.core.config import load_config

    store, problem = tui.open_for_tui(db, read_only=False)
    assert store is not None and problem is None
    tui.reconstruction(load_config(config)).bring_up_to_date(store)
    store.close()
else:
    from choreo.cli.main import main

    try:
        main([what, "--db", db, "--config", config])
    except SystemExit as exc:
        assert exc.code in (None, 0, 1), exc.code
heavy = json.loads(sys.argv[4])
print(json.dumps(sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))))
"""


def _live_copy(mixed: FixtureStore, tmp_path: Path) -> Path:
    db = tmp_path / "live.duckdb"
    shutil.copy(mixed.path, db)
    con = duckdb.connect(str(db))
    con.execute("UPDATE events SET source = 'collect:test'")  # collected live: judged at the wall clock
    con.close()
    return db


@pytest.mark.parametrize("what", ["stuck", "status", "dashboard"])
def test_re_judging_a_live_store_imports_no_engine_stages(
    mixed: FixtureStore, tmp_path: Path, what: str
) -> None:
    db = _live_copy(mixed, tmp_path)
    with Store.open(db, read_only=True) as store:
        before = judged_as_of(store)
    assert before is not None  # as of the fixture's recorded "now", in 2024
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, what, str(db), str(CONFIG), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported = json.loads(proc.stdout.strip().splitlines()[-1])
    assert imported == []
    with Store.open(db, read_only=True) as store:
        after = judged_as_of(store)
    # It did re-judge: the statuses are now as of the wall clock.
    assert after is not None and after.kind is NowKind.LIVE and after.ms > before.ms
