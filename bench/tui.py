"""Benchmark: the dashboard on a store of 10 thousand and of 10 million events.

    flock /tmp/choreo-bench.lock .venv/bin/python bench/tui.py [--sizes 10000,10000000] [--repeat 3]

For each size a store is synthesised in DuckDB SQL (``bench/synth.py``: three
choreographies, identifiers as the extractor names them, traps, duplicates,
clock skew) and reconstructed with ``reconstruct.pipeline.rebuild``, once,
into bench/results/ (reused by later runs). Then, driving the real app with
Textual's Pilot in a process of its own (so its peak RSS is the dashboard's),
each step is timed from the key press to the moment its data is on screen:

- overview: from building the app on the opened store to the workflows shown;
- instances: ``a`` until the first page of all instances is shown;
- search: a shipment id typed into ``/`` and Enter until its one instance is shown;
- detail: Enter until that instance's timeline and events are shown.

The median of ``--repeat`` runs is printed per step and size, with the ratio
of the largest size to the smallest (the reference measured in the same run).
Targets: every step <= 0.5 s at 10M events, 10M within 2x of 10k.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# This file is named like the package it measures: keep bench/ off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
RESULTS = ROOT / "bench" / "results"
STEPS = ("overview", "instances", "search", "detail")
TARGET_S = 0.5
TARGET_RATIO = 2.0
SIZE = (120, 40)


def prepare(path: Path, n_events: int) -> None:
    """Synthesise and reconstruct a store of about ``n_events`` events."""
    from bench.synth import synthesise
    from choreo.core.store import Store
    from choreo.reconstruct.engine.pipeline import rebuild

    tmp = path.with_suffix(".tmp.duckdb")
    tmp.unlink(missing_ok=True)
    t = time.perf_counter()
    with Store.open(tmp) as store:
        n = synthesise(store, n_events)
        t_synth = time.perf_counter() - t
        stats = rebuild(store)
        store.checkpoint()
    tmp.rename(path)
    print(
        f"# {path.name}: {n:,} events synthesised in {t_synth:.0f}s, "
        f"{stats.instances:,} instances reconstructed in {stats.seconds:.0f}s",
        file=sys.stderr,
    )


def search_value(path: Path) -> str:
    """A shipment id from the middle of the store."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute(
            "SELECT value FROM (SELECT DISTINCT value FROM identifiers WHERE name = 'shipmentId') "
            "ORDER BY value LIMIT 1 OFFSET (SELECT count(DISTINCT value) // 2 FROM identifiers "
            "WHERE name = 'shipmentId')"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return str(row[0])


async def _until(pilot: Any, condition: Callable[[], bool], timeout: float = 120.0) -> None:
    """Poll (every millisecond) until ``condition``, then render the screen:
    the step is done when its data is on screen, not when the process is idle."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the dashboard")
        await asyncio.sleep(0.001)
    pilot.app.screen._on_timer_update()  # the compositor draws the screen now


def _key(pilot: Any, key: str) -> None:
    """Send a key without waiting for the app to go idle (Pilot.press waits for
    every worker thread too, which is not what the user waits for)."""
    from textual import events

    char = {"slash": "/", "enter": "\r"}.get(key, key if len(key) == 1 else None)
    pilot.app.post_message(events.Key(key, char))


async def measure(path: Path, shipment: str) -> dict[str, float]:
    from choreo.core.store import Store
    from choreo.tui.app import make_app
    from choreo.tui.screens.detail import DetailScreen
    from choreo.tui.screens.instances import InstancesScreen
    from choreo.tui.screens.overview import OverviewScreen
    from choreo.tui.widgets.detail.events import EventsTable
    from choreo.tui.widgets.instances.table import InstancesTable
    from choreo.tui.widgets.overview.workflows import WorkflowTable

    out: dict[str, float] = {}
    with Store.open(path, read_only=True) as store:
        t = time.perf_counter()
        app = make_app(store)
        async with app.run_test(size=SIZE) as pilot:

            def overview() -> bool:
                s = app.screen
                return (
                    isinstance(s, OverviewScreen)
                    and s.overview is not None
                    and s.query_one(WorkflowTable).row_count > 0
                )

            await _until(pilot, overview)
            out["overview"] = time.perf_counter() - t

            t = time.perf_counter()
            _key(pilot, "a")

            def instances(search: str | None) -> bool:
                s = app.screen
                return (
                    isinstance(s, InstancesScreen)
                    and s.page is not None
                    and s.page.query.search == search
                    and s.query_one(InstancesTable).row_count == len(s.page.rows) > 0
                )

            await _until(pilot, lambda: instances(None))
            out["instances"] = time.perf_counter() - t

            await pilot.press("slash", *shipment)
            t = time.perf_counter()
            _key(pilot, "enter")
            await _until(pilot, lambda: instances(shipment))
            out["search"] = time.perf_counter() - t

            await pilot.pause()  # the search box gives the focus back to the table
            t = time.perf_counter()
            _key(pilot, "enter")

            def detail() -> bool:
                s = app.screen
                return (
                    isinstance(s, DetailScreen)
                    and s.view is not None
                    and s.query_one(EventsTable).row_count == len(s.view.detail.events)
                )

            await _until(pilot, detail)
            out["detail"] = time.perf_counter() - t
            await pilot.press("q")
    return out


def peak_rss_mb() -> float:
    """This process's own high-water mark (ru_maxrss would include the parent's
    from before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: Path, shipment: str, repeat: int) -> dict[str, Any]:
    runs = [asyncio.run(measure(path, shipment)) for _ in range(repeat)]
    result: dict[str, Any] = {step: statistics.median(r[step] for r in runs) for step in STEPS}
    result["rss_mb"] = peak_rss_mb()
    return result


def _run(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    sys.stderr.write(proc.stderr)
    return proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,10000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs=3, metavar=("STORE", "VALUE", "REPEAT"), help=argparse.SUPPRESS)
    ap.add_argument("--prepare", nargs=2, metavar=("STORE", "EVENTS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.prepare:
        prepare(Path(args.prepare[0]), int(args.prepare[1]))
        return
    if args.child:
        store, value, repeat = args.child
        print(json.dumps(child(Path(store), value, int(repeat))))
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    results: dict[int, dict[str, Any]] = {}
    for size in sizes:
        path = RESULTS / f"tui-{size}.duckdb"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            _run("--prepare", str(path), str(size))
        out = _run("--child", str(path), search_value(path), str(args.repeat))
        results[size] = json.loads(out.strip().splitlines()[-1])
    ref, big = sizes[0], sizes[-1]
    head = "  ".join(f"{s:>10,} ev" for s in sizes)
    print(f"{'step':<10}  {head}  {'ratio':>6}  target")
    ok_all = True
    for step in STEPS:
        cells = "  ".join(f"{results[s][step] * 1000:10.0f} ms" for s in sizes)
        ratio = results[big][step] / results[ref][step]
        ok = results[big][step] <= TARGET_S and ratio <= TARGET_RATIO
        ok_all &= ok
        print(f"{step:<10}  {cells}  {ratio:5.2f}x  {'OK' if ok else 'MISSED'}")
    rss = "  ".join(f"{results[s]['rss_mb']:10.0f} MB" for s in sizes)
    print(f"{'peak RSS':<10}  {rss}")
    print(
        f"targets: every step <= {TARGET_S} s at {big:,} events and within {TARGET_RATIO:g}x of {ref:,}: "
        f"{'met' if ok_all else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
