"""Each fault knob produces its known outcome: in the ground truth and in
what choreo's collector stored. One run of all three choreographies with
every knob turned up, shared by the tests of this module."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from choreo.demo.embedded_cluster import EmbeddedCluster
from choreo.demo.faults import FaultPlan, Stall
from choreo.demo.scenario import PARTITIONS, Scenario
from tests.conftest import KafkaTarget
from tests.support.examples_support import (
    Collected,
    assert_stored_once,
    committed,
    run_and_collect,
    stored_rows,
)

pytestmark = pytest.mark.kafka

FAULTS = FaultPlan(
    decline_rate=0.2,
    stockout_rate=0.25,
    reject_rate=0.2,
    stalls=(Stall("carrier-service", 0.6), Stall("recommendation-service", 0.7)),
    refund_stall_rate=0.5,
    slow={"transcoder": 15_000},
    dup_rate=0.1,
    skew={"inventory-service": -60_000},
    poison=8,
)
SCENARIO = Scenario(seed=21, instances=30, faults=FAULTS)


class _LagWatch(threading.Thread):
    """Samples how far a group's committed offsets trail the topic's end while the run goes on."""

    def __init__(self, bootstrap: str, groups: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.bootstrap = bootstrap
        self.groups = groups  # group -> topic
        self.max_lag = dict.fromkeys(groups, 0)
        self.stop = threading.Event()

    def run(self) -> None:
        consumers = {
            g: Consumer({"bootstrap.servers": self.bootstrap, "group.id": g, "enable.auto.commit": False})
            for g in self.groups
        }
        try:
            while not self.stop.wait(0.05):
                for group, topic in self.groups.items():
                    c = consumers[group]
                    parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
                    try:
                        done = c.committed(parts, timeout=5)
                        ends = [c.get_watermark_offsets(tp, timeout=5)[1] for tp in parts]
                    except Exception:  # the topics may not exist yet at the very start
                        continue
                    lag = sum(end - max(tp.offset, 0) for tp, end in zip(done, ends, strict=True))
                    self.max_lag[group] = max(self.max_lag[group], lag)
        finally:
            for c in consumers.values():
                c.close()


@dataclass
class Run:
    kafka: KafkaTarget
    got: Collected
    db: Path
    max_lag: dict[str, int]
    rows: dict[tuple[str, int, int], dict[str, Any]]

    @property
    def truth(self) -> dict[str, Any]:
        return self.got.truth

    def instances(self, workflow: str, outcome: str) -> list[dict[str, Any]]:
        return [i for i in self.truth["instances"] if i["workflow"] == workflow and i["outcome"] == outcome]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    db = tmp_path_factory.mktemp("faults") / "store.duckdb"
    bootstrap = os.environ.get("CHOREO_TEST_BOOTSTRAP")
    cluster = None if bootstrap else EmbeddedCluster(1)
    kafka = KafkaTarget(cluster.bootstrap, cluster) if cluster else KafkaTarget(bootstrap or "", None)
    prefix = "" if cluster is not None else kafka.prefix
    watch = _LagWatch(
        kafka.bootstrap,
        {prefix + "transcoder": prefix + "moderation", prefix + "indexer": prefix + "transcoding"},
    )
    watch.start()
    try:
        got = run_and_collect(kafka, SCENARIO, db)
        watch.stop.set()
        watch.join()
        lags = {g.removeprefix(prefix): v for g, v in watch.max_lag.items()}
        yield Run(kafka, got, db, lags, stored_rows(db))
    finally:
        watch.stop.set()
        if cluster is not None:
            cluster.close()


def _stored(run: Run, e: dict[str, Any]) -> tuple[Any, ...]:
    """(event_type, ts_ms, payload, event_id, payload_kind) of a stored record."""
    row = run.rows[(e["topic"], e["partition"], e["offset"])]
    return row["type"], row["ts"], row["payload"], row["event_id"], row["kind"]


def test_every_record_is_stored_once(run: Run) -> None:
    assert_stored_once(run.truth, run.db)


def test_decline_rate_fails_orders(run: Run) -> None:
    failed = run.instances("order", "failed")
    assert failed
    for inst in failed:
        assert inst["path"] == ["OrderCreated", "PaymentDeclined", "OrderRejected"]
        assert [_stored(run, e)[0] for e in inst["events"] if e["duplicate_of"] is None] == inst["path"]


def test_stockout_rate_compensates_orders(run: Run) -> None:
    compensated = run.instances("order", "compensated")
    assert compensated
    for inst in compensated:
        assert inst["path"][-3:] == ["InventoryUnavailable", "PaymentRefunded", "OrderCancelled"]
        assert {_stored(run, e)[0] for e in inst["events"]} >= {"PaymentRefunded", "OrderCancelled"}


def test_reject_rate_fails_videos(run: Run) -> None:
    rejected = run.instances("video", "failed")
    assert rejected and all(i["path"] == ["VideoUploaded", "VideoRejected"] for i in rejected)


def test_stalled_services_leave_stuck_sagas_consumed_without_reaction(run: Run) -> None:
    stuck = [
        i for i in run.truth["instances"] if i["stuck"] and i["stuck"]["reason"] != "compensation-unfinished"
    ]
    assert {i["stuck"]["service"] for i in stuck} == {"carrier-service", "recommendation-service"}
    for inst in stuck:
        s = inst["stuck"]
        stall_at = {"carrier-service": 0.6, "recommendation-service": 0.7}[s["service"]]
        assert inst["index"] >= int(stall_at * SCENARIO.instances)
        if s["service"] == "carrier-service":
            assert (s["reason"], s["expected"], s["after"]["type"]) == (
                "service-stopped",
                ["ShipmentDelivered"],
                "ShipmentScheduled",
            )
            assert inst["path"][-1] == "ShipmentScheduled"
        else:
            assert (s["reason"], s["expected"]) == ("branch-missing", ["RecommendationsSeeded"])
            assert "RecommendationsSeeded" not in inst["path"] and len(inst["path"]) == 3
        # The service's group read the record and committed past it: consumed, no reaction.
        group = run.got.prefix + s["service"]
        offsets = committed(run.kafka.bootstrap, group, s["after"]["topic"])
        assert offsets[s["after"]["partition"]] > s["after"]["offset"]
        assert _stored(run, s["after"])[0] == s["after"]["type"]
    # Before the stall point every order reached a terminal event.
    early = [i for i in run.truth["instances"] if i["workflow"] == "order" and i["index"] < 18]
    assert all(i["outcome"] != "stuck" or i["stuck"]["reason"] == "compensation-unfinished" for i in early)


def test_refund_stall_leaves_an_unfinished_compensation(run: Run) -> None:
    unfinished = [
        i for i in run.truth["instances"] if i["stuck"] and i["stuck"]["reason"] == "compensation-unfinished"
    ]
    assert unfinished
    for inst in unfinished:
        assert inst["path"][-1] == "InventoryUnavailable"
        assert (inst["stuck"]["expected"], inst["stuck"]["service"]) == (
            ["PaymentRefunded"],
            "payment-service",
        )
        assert _stored(run, inst["events"][-1])[0] == "InventoryUnavailable"


def test_slow_consumer_lags(run: Run) -> None:
    assert run.truth["faults"]["slow"] == {"transcoder": 15_000}
    assert run.max_lag["transcoder"] >= 5
    assert run.max_lag["transcoder"] > run.max_lag["indexer"]
    assert all(
        i["outcome"] in ("completed", "failed") for i in run.truth["instances"] if i["workflow"] == "video"
    )


def test_duplicates_are_stored_twice_byte_for_byte(run: Run) -> None:
    dups = [r for r in run.truth["records"] if r["duplicate_of"] is not None]
    assert len(dups) == run.truth["counts"]["duplicates"] > 0
    for r in dups:
        t, p, o = r["duplicate_of"]
        original = _stored(run, {"topic": t, "partition": p, "offset": o})
        copy = _stored(run, r)
        assert (t, p) == (r["topic"], r["partition"]) and o < r["offset"]
        assert copy[2] == original[2] and copy[3] == original[3] and copy[0] == original[0]


def test_clock_skew_stamps_effects_before_their_causes(run: Run) -> None:
    skewed = 0
    for inst in run.truth["instances"]:
        events = [e for e in inst["events"] if e["duplicate_of"] is None]
        for cause, effect in itertools.pairwise(events):
            if effect["service"] == "inventory-service":
                assert effect["skew_ms"] == int(-60_000 * run.truth["time_scale"])
                assert _stored(run, effect)[1] < _stored(run, cause)[1]
                skewed += 1
    assert skewed > 0 and run.truth["counts"]["skewed"] >= skewed


def test_poison_records_are_stored_raw_and_flagged(run: Run) -> None:
    poison = [r for r in run.truth["records"] if r["poison"] is not None]
    assert len(poison) == 8
    assert {r["poison"] for r in poison} == {"text", "binary", "empty", "invalid-utf8"}
    for r in poison:
        assert _stored(run, r)[4] == r["poison"]
    # The services skipped them and carried on.
    assert orjson.loads(orjson.dumps(run.truth["counts"]["outcomes"]))["order"]["completed"] > 0
