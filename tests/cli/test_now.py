"""One notion of "now": every command and the dashboard judge a store the
same way (the newest event for a dump, the wall clock live, or --now), say
which, and never inherit another command's --now."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson

from choreo.cli.commands.tui import reconstruction
from choreo.core.config import load_config
from choreo.core.store import Store
from choreo.reconstruct.query.asof import NowKind, judged_as_of
from choreo.tui.app import make_app
from choreo.tui.screens.overview import OverviewScreen
from tests.support.collect_helpers import run_main
from tests.support.paths import FIXTURES
from tests.support.tui_fixtures import FixtureStore
from tests.support.tui_helpers import overview_ready, screen_text, wait_until

DUMP = FIXTURES / "mixed" / "dump.kcat.jsonl"
CONFIG = FIXTURES / "mixed" / "choreo.toml"


def _json(capsys: Any, *args: str) -> Any:
    r = run_main(capsys, *args)
    assert r.returncode == 0, r.stderr
    return orjson.loads(r.stdout)


def test_import_summary_and_status_agree(tmp_path: Path, capsys: Any) -> None:
    db = str(tmp_path / "dump.duckdb")
    imported = _json(capsys, "import", "--db", db, "--config", str(CONFIG), "--json", str(DUMP))[
        "reconstruct"
    ]
    status = _json(capsys, "status", "--db", db, "--config", str(CONFIG), "--json")
    assert imported["now_kind"] == status["now_kind"] == NowKind.POST_MORTEM
    assert imported["now_ms"] == status["now_ms"]
    assert imported["stuck"] == status["stuck"]
    r = run_main(capsys, "status", "--db", db, "--config", str(CONFIG))
    assert f"{status['stuck']} stuck, as of the newest event" in r.stdout and "(post-mortem)" in r.stdout

    # Another command's --now is its own: the next command judges at the default again.
    given = _json(capsys, "stuck", "--db", db, "--config", str(CONFIG), "--json", "--now", "2100-01-01")
    assert given["now_kind"] == NowKind.GIVEN and len(given["stuck"]) >= status["stuck"]
    again = _json(capsys, "status", "--db", db, "--config", str(CONFIG), "--json")
    assert again["now_ms"] == status["now_ms"] and again["stuck"] == status["stuck"]
    r = run_main(capsys, "stuck", "--db", db, "--config", str(CONFIG), "--now", "2100-01-01T00:00:00Z")
    assert "as of 2100-01-01 00:00:00 UTC (--now)" in r.stdout


def _shown_kind(app: object) -> NowKind | None:
    screen = app.screen  # type: ignore[attr-defined]
    if not isinstance(screen, OverviewScreen) or screen.overview is None or screen.overview.as_of is None:
        return None
    return screen.overview.as_of.kind


async def test_the_dashboard_judges_at_its_own_now(mixed: FixtureStore, tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "store.duckdb"
    shutil.copy(mixed.path, path)
    # The last command ran with a --now of its own.
    r = run_main(capsys, "stuck", "--db", str(path), "--config", str(CONFIG), "--now", "2100-01-01T00:00:00Z")
    assert r.returncode == 0, r.stderr
    config = load_config(CONFIG)
    with Store.open(path) as store:
        before = judged_as_of(store)
        assert before is not None and before.kind is NowKind.GIVEN
        app = make_app(store, reconstruction=reconstruction(config))
        async with app.run_test(size=(120, 40)) as pilot:
            await overview_ready(pilot)
            await wait_until(
                pilot, lambda: _shown_kind(app) is NowKind.POST_MORTEM, what="judged at the newest event"
            )
            assert "(post-mortem)" in screen_text(app) and "2100" not in screen_text(app)
        # --now on the dashboard too.
        app = make_app(store, reconstruction=reconstruction(config, now_ms=4_102_444_800_000))
        async with app.run_test(size=(120, 40)) as pilot:
            await overview_ready(pilot)
            await wait_until(pilot, lambda: _shown_kind(app) is NowKind.GIVEN, what="judged at --now")
            assert "as of 2100-01-01 00:00:00 UTC (--now)" in screen_text(app)
