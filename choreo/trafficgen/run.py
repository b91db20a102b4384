"""Files and the round trip: write a generated dump with its truth and spec,
hand it to ``choreo import`` exactly as a user would (a subprocess, no
config, in a directory without a choreo.toml), and score the store."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from choreo.core.errors import InputError
from choreo.trafficgen.kafka import write_jsonl, write_kcat
from choreo.trafficgen.knobs import Knobs
from choreo.trafficgen.score import Score, score
from choreo.trafficgen.spec import TrafficSpec, dump_spec
from choreo.trafficgen.traffic import Generated, generate
from choreo.trafficgen.truth import dump_truth

DUMP = "dump.kcat.jsonl"
JSONL = "dump.choreo.jsonl"
TRUTH = "truth.json"
SPEC = "spec.json"
DB = "s.duckdb"


@dataclass(frozen=True)
class Written:
    dir: Path
    dump: Path
    truth: Path
    spec: Path
    jsonl: Path | None


def write(g: Generated, out: Path, jsonl: bool = False) -> Written:
    try:
        out.mkdir(parents=True, exist_ok=True)
        with (out / DUMP).open("wb") as fh:
            write_kcat(g.records, fh, g.header_shapes)
        if jsonl:
            with (out / JSONL).open("wb") as fh:
                write_jsonl(g.records, fh)
        dump_truth(g.truth, out / TRUTH)
        (out / SPEC).write_bytes(dump_spec(g.spec))
    except OSError as exc:
        raise InputError(f"cannot write to {out}: {exc.strerror}") from None
    return Written(out, out / DUMP, out / TRUTH, out / SPEC, out / JSONL if jsonl else None)


def choreo_command() -> list[str]:
    """The installed ``choreo`` next to this interpreter (the venv's), else the one on PATH."""
    here = Path(sys.executable).parent / "choreo"
    found = str(here) if here.exists() else shutil.which("choreo")
    if found is None:
        raise InputError("the choreo command is not installed (run `make env`)")
    return [found]


def choreo_import(dump: Path, db: Path) -> None:
    """``choreo import DUMP --db DB``, run where no choreo.toml can be picked up by accident."""
    db.unlink(missing_ok=True)
    proc = subprocess.run(
        [*choreo_command(), "import", str(dump.resolve()), "--db", str(db.resolve())],
        cwd=dump.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise InputError(f"choreo import failed (exit {proc.returncode}): {last}")


def round_trip(knobs: Knobs, out: Path, spec: TrafficSpec | None = None) -> tuple[Written, Score]:
    g = generate(knobs, spec)
    w = write(g, out)
    choreo_import(w.dump, out / DB)
    return w, score(g.truth, out / DB)
