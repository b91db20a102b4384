"""Benchmark: how fast the commands an on-call engineer types, and the
dashboard, start on a small store.

    flock /tmp/choreo-bench.lock .venv/bin/python bench/startup.py [--repeat 7]

Two stores of the recorded fixture ``mixed`` (866 events, 180 sagas),
imported and reconstructed once into bench/results/:

- *post-mortem*: as imported; "now" is its newest event, so a command finds
  the statuses judged and only reads;
- *live*: the same events marked as collected live; "now" is the wall clock,
  so every command re-judges the open sagas first (``engine.judging``: the
  status SQL, none of the stitching and learning stages).

Each command runs in a fresh process, timed from spawn to exit, median of
``--repeat`` runs: ``choreo stuck``, ``choreo status``, ``choreo show ID``.
The dashboard is timed from spawning a process that runs ``choreo tui``'s
own start-up (the CLI module, the store opened and judged as the command
does it, the app built) to the first overview drawn (Textual's Pilot,
headless, 120x40). References measured in the same run, also fresh
processes: ``python -c pass``, and a bare DuckDB query (``import duckdb``,
open the store, ``SELECT ... FROM stuck``). Targets: each command <= 0.5 s,
the dashboard's first overview <= 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
RESULTS = ROOT / "bench" / "results"
FIXTURE = ROOT / "fixtures" / "mixed"
TARGET_COMMAND_S = 0.5
TARGET_DASHBOARD_S = 1.0


def prepare() -> tuple[Path, Path]:
    """The post-mortem and the live store (built once, reused)."""
    dead, live = RESULTS / "startup-postmortem.duckdb", RESULTS / "startup-live.duckdb"
    if not dead.exists():
        from choreo.collector.extract import Extractor
        from choreo.collector.importers.runner import import_files
        from choreo.core.config import load_config
        from choreo.core.store import Store
        from choreo.reconstruct.engine.pipeline import rebuild

        RESULTS.mkdir(parents=True, exist_ok=True)
        config = load_config(FIXTURE / "choreo.toml")
        tmp = dead.with_suffix(".tmp")
        with Store.open(tmp) as store:
            import_files(store, [str(FIXTURE / "dump.kcat.jsonl")], Extractor(config.extract))
            rebuild(store, config)
            store.checkpoint()
        tmp.rename(dead)
    if not live.exists():
        import duckdb

        shutil.copy(dead, live)
        con = duckdb.connect(str(live))
        con.execute("UPDATE events SET source = 'collect:bench'")  # collected live: judged at the wall clock
        con.close()
    return dead, live


# As an installed program runs: with its modules' bytecode cached (this
# machine's shells set PYTHONDONTWRITEBYTECODE, which makes every start
# compile every module again). A first, untimed run writes the caches.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPATH"] = str(ROOT)


def timed(args: list[str], repeat: int) -> float:
    """Median wall-clock seconds of ``args`` run in a fresh process (after one untimed run)."""
    subprocess.run(args, capture_output=True, check=False, cwd=RESULTS, env=ENV)
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        proc = subprocess.run(args, capture_output=True, text=True, check=False, cwd=RESULTS, env=ENV)
        runs.append(time.perf_counter() - t)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return statistics.median(runs)


def choreo(*args: str) -> list[str]:
    return [sys.executable, "-m", "choreo.cli", *args]


# -- the dashboard, in a process of its own --------------------------------------
def dashboard_child(db: Path) -> None:
    """What `choreo tui` does up to the first overview; prints when it is drawn."""
    from choreo.cli.commands import tui as command  # the command's own imports

    async def run() -> None:
        from choreo.core.config import load_config
        from choreo.tui.app import make_app
        from choreo.tui.screens.overview import OverviewScreen
        from choreo.tui.widgets.overview.workflows import WorkflowTable

        config = load_config(FIXTURE / "choreo.toml")
        store, problem = command.open_for_tui(db, read_only=False)
        assert store is not None and problem is None
        app = make_app(store, store_label=str(db), reconstruction=command.reconstruction(config))
        async with app.run_test(size=(120, 40)) as pilot:
            while True:
                s = app.screen
                if (
                    isinstance(s, OverviewScreen)
                    and s.overview is not None
                    and s.query_one(WorkflowTable).row_count > 0
                ):
                    break
                await asyncio.sleep(0.001)
            app.screen._on_timer_update()  # drawn now
            print("overview", flush=True)
            await pilot.press("q")
        store.close()

    asyncio.run(run())


def dashboard(db: Path, repeat: int) -> float:
    runs = []
    for _ in range(repeat + 1):
        t = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--dashboard-child", str(db)],
            stdout=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        runs.append(time.perf_counter() - t)
        proc.communicate()
        if line.strip() != "overview" or proc.returncode != 0:
            raise SystemExit("the dashboard child failed")
    return statistics.median(runs[1:])  # the first wrote the bytecode caches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--dashboard-child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dashboard_child is not None:
        dashboard_child(args.dashboard_child)
        return
    dead, live = prepare()
    n = args.repeat
    ident = "ord-9c490b5dc621"
    cfg = ["--config", str(FIXTURE / "choreo.toml")]
    load = os.getloadavg()
    pass_s = timed([sys.executable, "-c", "pass"], n)
    bare = "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
    bare += "c.execute('SELECT count(*), max(overdue_ms) FROM stuck').fetchall()"
    duck_s = timed([sys.executable, "-c", bare, str(dead)], n)
    print(f"# load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; median of {n} fresh processes")
    print(f"reference `python -c pass`: {pass_s * 1000:.0f} ms; bare DuckDB query: {duck_s * 1000:.0f} ms")
    print("| step | post-mortem store | x DuckDB query | live store (re-judged) | x DuckDB query | target |")
    print("|---|---:|---:|---:|---:|---|")
    for name, extra in (
        ("choreo stuck", ["stuck"]),
        ("choreo status", ["status"]),
        ("choreo show ID", ["show", ident]),
    ):
        a = timed(choreo(*extra, "--db", str(dead), *cfg), n)
        b = timed(choreo(*extra, "--db", str(live), *cfg), n)
        met = "met" if max(a, b) <= TARGET_COMMAND_S else "NOT met"
        print(
            f"| `{name}` | {a * 1000:.0f} ms | {a / duck_s:.1f}x | {b * 1000:.0f} ms | {b / duck_s:.1f}x "
            f"| <= 0.5 s: {met} |"
        )
    a, b = dashboard(dead, n), dashboard(live, n)
    met = "met" if max(a, b) <= TARGET_DASHBOARD_S else "NOT met"
    print(
        f"| dashboard, first overview | {a * 1000:.0f} ms | {a / duck_s:.1f}x | {b * 1000:.0f} ms | "
        f"{b / duck_s:.1f}x | <= 1 s: {met} |"
    )


if __name__ == "__main__":
    main()
