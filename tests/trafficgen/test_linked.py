"""Which records of an instance the dump ties together: the values a record
carries whole, and instances whose parts share none (``InstanceTruth.linked``)."""

from __future__ import annotations

from choreo.trafficgen.layout import PendingRecord, carried, linked


def _rec(*tokens: str) -> PendingRecord:
    return PendingRecord("t", 0, 0, 0, 1, None, [], None, "event", tokens=frozenset(tokens))


def test_values_are_carried_whole_wherever_they_are() -> None:
    got = carried(
        ["ord-1", "30000022", "ev-9", None, "abc"],
        b"ord-1",
        [("x-causation-id", b"ev-9"), ("empty", None)],
        b'{"n": 300000221, "ref": "xabc"}',
    )
    # (30000022 only inside a longer number, abc only inside a word: not carried)
    assert got == {"ord-1", "ev-9"}
    assert carried(["30000022"], None, [], b'{"parcel": 30000022}') == {"30000022"}


def test_an_instance_is_linked_when_shared_values_chain_all_its_records() -> None:
    assert linked([])
    assert linked([_rec()])
    assert linked([_rec("a"), _rec("a", "b"), _rec("b")])
    # The record that carried both ids is gone: two parts nothing joins.
    assert not linked([_rec("a"), _rec("b")])
    assert not linked([_rec("a"), _rec("a"), _rec()])
