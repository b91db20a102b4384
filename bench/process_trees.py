"""Process logs choreo did not write: random process trees played out by
pm4py (sequences, choices, parallel blocks, loops, silent steps), carried as
Kafka records exactly as ``bench/process_logs.py`` carries a real log, and
read back with ``choreo import``.

    .venv/bin/python bench/process_trees.py [--trees 12] [--cases 2000] [--seed 1]

Needs pm4py (``make bench``). Each tree gets human step times (log-normal,
median about 30 minutes), a case every 10 minutes on average, and every
third tree timestamps cut to the minute (ties in a case then follow the
Kafka position). Every played-out case ran to its end and the log is read
a week after its last event, so the truth is simple: each case held
exactly by one instance, in the log's order, completed. ``failed`` is
counted apart (a generic log names no failure: a structural minority path
may be called one). Prints one line per tree and the totals.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
MINUTE_MS = 60_000


def _process_logs() -> ModuleType:
    """bench/process_logs.py (a script, not a package module), loaded once."""
    if "process_logs" in sys.modules:
        return sys.modules["process_logs"]
    spec = importlib.util.spec_from_file_location("process_logs", HERE / "process_logs.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["process_logs"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def play(seed: int, cases: int, round_ms: int) -> tuple[str, list[Any]]:
    """A random tree's playout as process_logs Events (tree text, events)."""
    from pm4py.algo.simulation.playout.process_tree import algorithm as playout
    from pm4py.algo.simulation.tree_generator import algorithm as tree_gen

    pl = _process_logs()
    random.seed(seed)  # pm4py's generator and playout draw from the global generators
    import numpy as np

    np.random.seed(seed)
    tree = tree_gen.apply(
        parameters={
            "mode": 12,
            "min": 8,
            "max": 16,
            "sequence": 0.45,
            "choice": 0.2,
            "parallel": 0.2,
            "loop": 0.15,
            "silent": 0.1,
        }
    )
    log = playout.apply(tree, parameters={"num_traces": cases})
    rng = random.Random(seed)
    events = []
    start = 1_700_000_000_000.0
    position = 0
    for i, trace in enumerate(log):
        start += rng.expovariate(1 / 600_000)
        t = start
        for ev in trace:
            t += rng.lognormvariate(14.4, 1.2)  # ms: median 30 min
            ms = int(t) // round_ms * round_ms if round_ms else int(t)
            events.append(pl.Event(f"case-{i}", str(ev["concept:name"]), ms, position, {}))
            position += 1
    return str(tree), events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trees", type=int, default=12)
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--partitions", type=int, default=3)
    args = ap.parse_args()
    try:
        import pm4py  # noqa: F401
    except ImportError:
        sys.exit("process trees need pm4py: make bench")
    pl = _process_logs()
    total: Counter[str] = Counter()
    cols = ["tree", "cases", "events", "per case+activity", "ties", "exact", "in order"]
    print("| " + " | ".join([*cols, "completed", "failed", "stuck", "running"]) + " |")
    print("|---" + "|---:" * 10 + "|")
    for k in range(args.trees):
        seed = args.seed + k
        round_ms = MINUTE_MS if k % 3 == 2 else 0
        tree, events = play(seed, args.cases, round_ms)
        with tempfile.TemporaryDirectory(prefix="choreo-trees-") as d:
            m = pl.measure(f"tree {seed}", events, Path(d), args.partitions)
        st = Counter(m["status"])
        n = m["cases"]
        total.update(
            {
                "cases": n,
                "exact": round(m["exact"] * n),
                "in order": round(m["in order (of exact)"] * m["exact"] * n),
                **st,
            }
        )
        print(
            f"| {seed}{' (minutes)' if round_ms else ''} | {n} | {m['events']} | "
            f"{m['events per case and activity']} | {m['equal-time neighbours in a case']} | "
            f"{m['exact']:.1%} | {m['in order (of exact)']:.1%} | {st['completed'] / n:.1%} | "
            f"{st['failed'] / n:.1%} | {st['stuck'] / n:.1%} | {st['running'] / n:.1%} |",
            flush=True,
        )
        print(f"  {tree}", file=sys.stderr)
    n = total["cases"]
    print(
        f"| all | {n} | | | | {total['exact'] / n:.1%} | {total['in order'] / max(1, total['exact']):.1%} | "
        f"{total['completed'] / n:.1%} | {total['failed'] / n:.1%} | {total['stuck'] / n:.1%} | "
        f"{total['running'] / n:.1%} |"
    )


if __name__ == "__main__":
    main()
