"""``python -m choreo.trafficgen``: generate a dump with its truth, score a
store against it, or do both (and the README's baseline table)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
import orjson

from choreo.core.errors import ChoreoError, InputError
from choreo.trafficgen.knobs import CORNERS, Knobs, corner, parse_knobs
from choreo.trafficgen.report import markdown_table, text_report
from choreo.trafficgen.run import DB, choreo_import, round_trip, write
from choreo.trafficgen.score import Score, as_dict, read_store, score, score_store
from choreo.trafficgen.spec import load_spec
from choreo.trafficgen.traffic import generate
from choreo.trafficgen.truth import load_truth


def _value(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    if "," in text:
        return [_value(p) for p in text.split(",")]
    return text


def build_knobs(
    knobs_file: str | None, corner_name: str | None, sets: tuple[str, ...], seed: int | None, n: int | None
) -> Knobs:
    base = Knobs()
    if knobs_file is not None:
        try:
            base = parse_knobs(orjson.loads(Path(knobs_file).read_bytes()))
        except OSError as exc:
            raise InputError(f"cannot read {knobs_file}: {exc.strerror}") from None
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{knobs_file} is not JSON: {exc}") from None
    if corner_name is not None:
        base = corner(corner_name, base)
    changes: dict[str, Any] = {}
    for s in sets:
        name, eq, text = s.partition("=")
        if not eq or not name:
            raise InputError(f"--set {s!r}: want NAME=VALUE (see `python -m choreo.trafficgen knobs`)")
        changes[name.strip()] = _value(text.strip())
    if seed is not None:
        changes["seed"] = seed
    if n is not None:
        changes["instances"] = n
    return base.with_(**changes) if changes else base


def knob_options(f: Any) -> Any:
    for opt in reversed(
        [
            click.option("--seed", type=int, help="Random seed (default 23)."),
            click.option("--instances", "n", type=int, help="Instances to start (default 5000)."),
            click.option(
                "--corner", "corner_name", type=click.Choice(list(CORNERS)), help="An adversarial corner."
            ),
            click.option(
                "--set", "sets", multiple=True, metavar="KNOB=VALUE", help="Set a knob (repeatable)."
            ),
            click.option(
                "--knobs", "knobs_file", type=click.Path(dir_okay=False), help="Knobs from a JSON file."
            ),
            click.option(
                "--spec", "spec_file", type=click.Path(dir_okay=False), help="Declared workflows (JSON)."
            ),
        ]
    ):
        f = opt(f)
    return f


@click.group("trafficgen", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def cli() -> None:
    """Scenario generator with ground truth, and a scorer of choreo's reconstruction."""


@cli.command("generate")
@click.argument("out", type=click.Path(file_okay=False))
@knob_options
@click.option("--jsonl", is_flag=True, help="Also write the dump as choreo JSONL.")
def generate_cmd(out: str, jsonl: bool, spec_file: str | None, **kw: Any) -> None:
    """Write OUT/dump.kcat.jsonl, OUT/truth.json and OUT/spec.json."""
    knobs = build_knobs(**kw)
    g = generate(knobs, load_spec(spec_file) if spec_file else None)
    w = write(g, Path(out), jsonl)
    c = g.truth.counts()
    click.echo(
        f"{w.dump}: {c['records']:,} records, {c['instances']:,} instances in {c['workflows']} workflows"
    )
    click.echo(f"  kinds {c['kinds']}; status {c['status']}; {c['start_cut']} started before retention")


def _emit(s: Score, as_json: bool, failures: int) -> None:
    if as_json:
        click.echo(orjson.dumps(as_dict(s, failures), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(text_report(s, failures))


@cli.command("score")
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="Store written by choreo import.")
@click.option("--truth", "truth_file", required=True, type=click.Path(dir_okay=False))
@click.option("--failures", default=5, show_default=True, help="Failures listed per measure.")
@click.option("--json", "as_json", is_flag=True, help="Measures, counts and failures as JSON.")
def score_cmd(db: str, truth_file: str, failures: int, as_json: bool) -> None:
    """Score a reconstructed store against a truth file."""
    if not Path(db).exists():
        raise InputError(f"{db} does not exist")
    st = read_store(db)
    _emit(score_store(load_truth(truth_file), st), as_json, failures)


@cli.command("run")
@click.argument("out", type=click.Path(file_okay=False))
@knob_options
@click.option("--failures", default=5, show_default=True, help="Failures listed per measure.")
@click.option("--json", "as_json", is_flag=True)
def run_cmd(out: str, spec_file: str | None, failures: int, as_json: bool, **kw: Any) -> None:
    """Generate into OUT, run `choreo import` on it (OUT/s.duckdb) and score it."""
    _, s = round_trip(build_knobs(**kw), Path(out), load_spec(spec_file) if spec_file else None)
    _emit(s, as_json, failures)


@cli.command("rescore")
@click.argument("out", type=click.Path(file_okay=False, exists=True))
@click.option("--failures", default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def rescore_cmd(out: str, failures: int, as_json: bool) -> None:
    """Import OUT/dump.kcat.jsonl again with the current choreo and score it (after an engine change)."""
    d = Path(out)
    choreo_import(d / "dump.kcat.jsonl", d / DB)
    _emit(score(load_truth(d / "truth.json"), d / DB), as_json, failures)


@cli.command("knobs")
def knobs_cmd() -> None:
    """List the knobs with their defaults, and the corners."""
    for name, f in Knobs.model_fields.items():
        click.echo(f"{name:<28} {Knobs().model_dump()[name]!s:<22} {f.description or ''}")
    click.echo("\ncorners (each alone, on the defaults):")
    for name, changes in CORNERS.items():
        click.echo(f"  {name:<14} " + ", ".join(f"{k}={v}" for k, v in changes.items()))


@cli.command("baseline")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--instances", "n", default=5000, show_default=True)
@click.option("--seeds", default="23,5,41", show_default=True)
@click.option(
    "--corners", "corner_names", default="all", show_default=True, help="Comma-separated, or all/none."
)
def baseline_cmd(out: str, n: int, seeds: str, corner_names: str) -> None:
    """The README table: realistic settings at each seed, then each corner alone (seed 23)."""
    runs: list[tuple[str, Knobs]] = [
        (f"seed {s}", Knobs(seed=int(s), instances=n)) for s in seeds.split(",") if s
    ]
    names = (
        list(CORNERS)
        if corner_names == "all"
        else [c for c in corner_names.split(",") if c not in ("", "none")]
    )
    runs += [(c, corner(c, Knobs(seed=23, instances=n))) for c in names]
    scored: list[tuple[str, Score]] = []
    for label, knobs in runs:
        t = time.monotonic()
        _, s = round_trip(knobs, Path(out) / label.replace(" ", "-"))
        click.echo(f"{label}: done in {time.monotonic() - t:.1f}s", err=True)
        scored.append((label, s))
    click.echo(markdown_table(scored))


@cli.command("table")
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False, exists=True))
def table_cmd(runs: tuple[str, ...]) -> None:
    """The Markdown table of runs already imported (each RUN holds truth.json and s.duckdb), no re-import."""
    scored = [
        (Path(r).name.replace("seed-", "seed "), score(load_truth(Path(r) / "truth.json"), Path(r) / DB))
        for r in runs
    ]
    click.echo(markdown_table(scored))


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="python -m choreo.trafficgen", standalone_mode=False)
    except ChoreoError as exc:
        click.echo(f"trafficgen: {exc.one_line()}", err=True)
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        click.echo(f"trafficgen: usage: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(0)
