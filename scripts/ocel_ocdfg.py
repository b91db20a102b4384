"""Render the README's object-centric view: pm4py's object-centric
directly-follows graph (OC-DFG) of choreo's OCEL 2.0 export of the demo.

    make bench                                    # installs pm4py
    .venv/bin/choreo demo --no-tui                # writes demo.duckdb, demo.toml
    .venv/bin/python scripts/ocel_ocdfg.py demo.duckdb --config demo.toml -o docs/demo-ocdfg.svg

The log is exported with ``choreo export ocel`` (the order saga by default)
and read back by pm4py; the graph keeps the object types named by --types:
each type's own directly-follows flow in its colour, with how many objects
and events took each step.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

from choreo.cli.main import main as choreo

DEFAULT_TYPES = "order,payment,shipment,customer"
# Readable on white, one per drawn type, in --types order.
PALETTE = ("#1b6ca8", "#2e8b57", "#c0392b", "#8e44ad", "#d35400", "#7f8c8d")


def fixed_colours(types: list[str]) -> None:
    """pm4py colours an object type by Python's string hash, which changes
    with every process (and is often too pale to read): give each drawn type
    a fixed colour instead, so the picture is the same on every run."""
    from pm4py.visualization.ocel.ocdfg.variants import classic

    colours = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(types)}
    classic.ot_to_color = lambda ot: colours.get(ot, "#000000")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db", help="the store (e.g. demo.duckdb)")
    ap.add_argument("--config", help="its choreo.toml (e.g. demo.toml)")
    ap.add_argument("--workflow", default="order", help="the workflow to export (default order)")
    ap.add_argument("--types", default=DEFAULT_TYPES, help=f"object types drawn (default {DEFAULT_TYPES})")
    ap.add_argument("-o", "--output", default="docs/demo-ocdfg.svg", help="SVG (or PNG) to write")
    args = ap.parse_args()
    try:
        import pm4py
    except ImportError:
        print("pm4py is not installed: run `make bench` first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log.jsonocel"
        argv = ["export", "ocel", "--db", args.db, "--workflow", args.workflow, "-o", str(log)]
        if args.config:
            argv += ["--config", args.config]
        try:
            choreo(argv)
        except SystemExit as exc:
            if exc.code:
                return int(exc.code) if isinstance(exc.code, int) else 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pm4py's notes about optional accelerators
            ocel = pm4py.read_ocel2_json(str(log))
            types = args.types.split(",")
            ocel = pm4py.filter_ocel_object_types(ocel, types)
            ocdfg = pm4py.discover_ocdfg(ocel)
            fixed_colours(types)
            pm4py.save_vis_ocdfg(ocdfg, args.output, annotation="frequency", act_metric="events")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
