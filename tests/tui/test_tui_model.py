"""Model view: variants with counts and share, edges with latencies, export."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.message import Message

from choreo.tui.app import make_app
from choreo.tui.data.export import export_workflow_diagram
from choreo.tui.messages import ExportFinished, OpenModel
from tests.support.tui_fixtures import FixtureStore
from tests.support.tui_helpers import overview_ready, wait_shown


async def test_model_view_lists_variants_and_edges(mixed: FixtureStore) -> None:
    with mixed.open() as store:
        top = store.query("SELECT path, count FROM variants WHERE workflow = 'order' ORDER BY rank LIMIT 1")[
            0
        ]
        n_edges = store.query("SELECT count(*) FROM model_edges WHERE workflow = 'order'")[0][0]
        app = make_app(store)
        async with app.run_test(size=(200, 40)) as pilot:
            await overview_ready(pilot)
            app.post_message(OpenModel("order"))
            text = await wait_shown(pilot, "Directly-follows edges:")
            assert f"Directly-follows edges: {n_edges} between" in text
            assert " → ".join(top[0]) in text
            assert "p95" in text and "share" in text


async def test_export_writes_the_diagram_and_shows_where(mixed: FixtureStore, tmp_path: Path) -> None:
    posted: list[Message] = []
    with mixed.open() as store:
        app = make_app(store, export_workflow=export_workflow_diagram, export_dir=tmp_path)
        async with app.run_test(size=(200, 40), message_hook=posted.append) as pilot:
            await overview_ready(pilot)
            app.post_message(OpenModel("order"))
            await wait_shown(pilot, "Directly-follows edges:")
            await pilot.press("e")
            text = await wait_shown(pilot, "Exported order to")
    done = [m for m in posted if isinstance(m, ExportFinished)]
    assert done and done[-1].path is not None and done[-1].error is None
    written = Path(done[-1].path)
    assert written.parent == tmp_path and written.exists()
    assert str(written) in " ".join(text.split()) or written.name in text
    assert written.suffix == (".svg" if shutil.which("dot") else ".dot")
