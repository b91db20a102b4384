"""The demo's recorded mix (fixtures/mixed) as OCEL 2.0, checked against the
simulator's ground truth: which business ids each instance carries, which
are shared by many (traps), and how they hang together."""

from __future__ import annotations

from typing import Any

import pytest

from choreo.reconstruct.export.ocel import export_ocel
from choreo.reconstruct.export.ocel_model import object_type
from tests.support.ocel import Parsed, parse_json
from tests.support.tui_fixtures import FixtureStore, build_fixture_store

# The instance's root object per workflow: what the others belong to.
ROOTS = {"order": "orderId", "signup": "userId", "video": "videoId"}
TRAPS = {"customerId", "tenantId", "channelId"}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> FixtureStore:
    return build_fixture_store("mixed", tmp_path_factory.mktemp("ocel-mixed"))


def truth_ids(truth: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for inst in truth["instances"]:
        for name, value in inst["identifiers"].items():
            out.setdefault(object_type(name), set()).add(f"{object_type(name)}={value}")
    return out


@pytest.fixture(scope="module")
def ocel(mixed: FixtureStore, tmp_path_factory: pytest.TempPathFactory) -> Parsed:
    out = tmp_path_factory.mktemp("ocel-json") / "mixed.jsonocel"
    with mixed.open() as store:
        export_ocel(store, out)
    return parse_json(out)


def test_events_and_objects_match_the_ground_truth(mixed: FixtureStore, ocel: Parsed) -> None:
    truth = mixed.truth
    counts = truth["counts"]
    assert len(ocel.events) == counts["records"] - counts["duplicates"] - counts["poison"]
    for otype, ids in truth_ids(truth).items():
        assert set(ocel.of_type(otype)) == ids, otype
    for wf, outcomes in counts["outcomes"].items():
        assert len(ocel.of_type(f"saga:{wf}")) == sum(outcomes.values())
    shared = {object_type(n) for n in TRAPS}
    for oid, obj in ocel.objects.items():
        if obj.type in shared:
            assert obj.attributes["role"] == "shared attribute" and obj.attributes["reason"].startswith(
                "trap:"
            )
        elif not obj.type.startswith("saga:"):
            assert obj.attributes["role"] == "identifier", oid


def test_identifier_objects_belong_to_their_instance_root(mixed: FixtureStore, ocel: Parsed) -> None:
    """Following "belongs to" from any business id of an instance reaches the
    instance's order, user or video (a shipment through nothing else, a
    document through its asset)."""
    truth = mixed.truth
    for inst in truth["instances"]:
        ids = inst["identifiers"]
        root = f"{object_type(ROOTS[inst['workflow']])}={ids[ROOTS[inst['workflow']]]}"
        assert not ocel.objects[root].relations
        for name, value in ids.items():
            oid, seen = f"{object_type(name)}={value}", set()
            if name in TRAPS:
                continue
            while oid != root:
                assert oid not in seen, f"cycle at {oid}"
                seen.add(oid)
                ((oid, qualifier),) = ocel.objects[oid].relations.items()
                assert qualifier == "belongs to"


def test_relations_match_the_store(mixed: FixtureStore, ocel: Parsed) -> None:
    """Every event relates to its instance and to each distinct identifier
    value it carries (all text here, so one object per value)."""
    with mixed.open() as store:
        ((numeric, pairs),) = store.query(
            """
            SELECT count(*) FILTER (WHERE regexp_full_match(i.value, '[0-9]+')),
                   count(DISTINCT (i.topic, i.partition, i."offset", i.value))
            FROM identifiers i JOIN instance_events ie USING (topic, partition, "offset")
            WHERE ie.duplicate_of_seq IS NULL
            """
        )
    assert numeric == 0
    assert ocel.e2o == pairs + len(ocel.events)
    assert all(list(e.relations.values()).count("instance") == 1 for e in ocel.events.values())
