"""The demo's recorded mix exported as OCEL 2.0 opens in pm4py (installed by
`make bench`; skipped without it) with the right events, objects per type
and relations, and flattening on an instance type gives XES's cases and
variants."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from choreo.reconstruct.export.ocel import export_ocel
from choreo.reconstruct.export.selection import InstanceFilter
from choreo.reconstruct.export.xes import export_xes
from tests.support.ocel import parse_json
from tests.support.tui_fixtures import FixtureStore, build_fixture_store

pm4py: Any = pytest.importorskip("pm4py", reason="pm4py is in the bench extra (make bench)")
WORKFLOWS = ("order", "signup", "video")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[FixtureStore, Path]:
    tmp = tmp_path_factory.mktemp("ocel-pm4py")
    mixed = build_fixture_store("mixed", tmp)
    with mixed.open() as store:
        for name in ("mixed.jsonocel", "mixed.sqlite", "mixed.xmlocel"):
            export_ocel(store, tmp / name)
        for wf in WORKFLOWS:
            export_xes(store, tmp / f"{wf}.xes", InstanceFilter(workflow=wf))
    return mixed, tmp


def read(path: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pm4py's notes about optional accelerators
        if path.suffix == ".sqlite":
            # pm4py's own check of the standard's relational schema (keys included).
            from pm4py.objects.ocel.validation import ocel20_rel_validation

            _, unsatisfied = ocel20_rel_validation.apply(str(path))
            assert unsatisfied == []
            return pm4py.read_ocel2_sqlite(str(path))
        if path.suffix == ".xmlocel":
            return pm4py.read_ocel2_xml(str(path))
        return pm4py.read_ocel2_json(str(path))


@pytest.mark.parametrize("name", ["mixed.jsonocel", "mixed.sqlite", "mixed.xmlocel"])
def test_pm4py_reads_the_log(exported: tuple[FixtureStore, Path], name: str) -> None:
    mixed, tmp = exported
    ocel = read(tmp / name)
    counts = mixed.truth["counts"]
    # The oracle for everything but the count of events: the JSON file parsed whole.
    parsed = parse_json(tmp / "mixed.jsonocel")
    assert (
        len(ocel.events) == counts["records"] - counts["duplicates"] - counts["poison"] == len(parsed.events)
    )
    by_type = ocel.objects["ocel:type"].value_counts().to_dict()
    assert by_type == parsed.type_counts()
    assert {by_type[f"saga:{wf}"] for wf in WORKFLOWS} == {60}
    assert (by_type["order"], by_type["customer"], by_type["tenant"], by_type["shipment"]) == (60, 10, 7, 50)
    assert len(ocel.relations) == parsed.e2o and len(ocel.o2o) == parsed.o2o
    rel_types = Counter(zip(ocel.relations["ocel:type"], ocel.relations["ocel:qualifier"], strict=True))
    assert rel_types[("saga:order", "instance")] + rel_types[("saga:signup", "instance")] + rel_types[
        ("saga:video", "instance")
    ] == len(ocel.events)
    types = dict(zip(ocel.objects["ocel:oid"], ocel.objects["ocel:type"], strict=True))
    o2o = Counter(
        (types[a], types[b]) for a, b in zip(ocel.o2o["ocel:oid"], ocel.o2o["ocel:oid_2"], strict=True)
    )
    assert (o2o[("shipment", "order")], o2o[("payment", "order")], o2o[("document", "asset")]) == (50, 60, 55)


def variants(df: Any) -> dict[tuple[str, ...], int]:
    # pm4py reads a case's events where they lie contiguously: put them so.
    ordered = df.sort_values(["case:concept:name", "time:timestamp"], kind="stable")
    return {tuple(k): int(v) for k, v in pm4py.get_variants(ordered).items()}


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_flattening_on_the_instance_gives_the_xes_cases(
    exported: tuple[FixtureStore, Path], workflow: str
) -> None:
    _, tmp = exported
    ocel = read(tmp / "mixed.jsonocel")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flat = pm4py.ocel_flattening(ocel, f"saga:{workflow}")
        xes = pm4py.read_xes(str(tmp / f"{workflow}.xes"), show_progress_bar=False)
    assert set(flat["case:concept:name"]) == set(xes["case:concept:name"])
    assert len(flat) == len(xes)
    assert variants(flat) == variants(xes)
    assert len(variants(flat)) >= 2  # a real mix of paths, not one
