"""The notification fan-out: one UserSignedUp consumed independently by three
services, each in its own consumer group, each emitting its own event."""

from __future__ import annotations

from pathlib import Path

import pytest

from choreo.demo.faults import FaultPlan
from choreo.demo.scenario import Scenario
from tests.conftest import KafkaTarget
from tests.support.examples_support import assert_stored_once, committed, high_watermarks, run_and_collect

pytestmark = pytest.mark.kafka

SCENARIO = Scenario(seed=5, instances=25, workflows=("signup",), faults=FaultPlan())
BRANCHES = {
    "WelcomeEmailSent": "notification-service",
    "SignupTracked": "analytics-service",
    "RecommendationsSeeded": "recommendation-service",
}


def test_fan_out_reaches_every_branch_through_its_own_group(kafka: KafkaTarget, db_path: Path) -> None:
    got = run_and_collect(kafka, SCENARIO, db_path)
    stored = assert_stored_once(got.truth, db_path)
    tenants: dict[str, int] = {}
    for inst in got.truth["instances"]:
        assert inst["outcome"] == "completed"
        rows = {e["type"]: stored[(e["topic"], e["partition"], e["offset"])] for e in inst["events"]}
        assert set(rows) == {"UserSignedUp", *BRANCHES}
        for event_type, service in BRANCHES.items():
            assert rows[event_type]["service"] == service
        user_id = inst["id"]
        assert rows["UserSignedUp"]["ids"]["userId"] == {user_id}
        assert rows["WelcomeEmailSent"]["ids"]["ce_subject"] == {user_id}
        assert rows["SignupTracked"]["ids"]["user.id"] == {user_id}
        assert rows["RecommendationsSeeded"]["ids"]["profile.userId"] == {user_id}
        assert rows["RecommendationsSeeded"]["causation_id"] == rows["UserSignedUp"]["event_id"]
        assert rows["RecommendationsSeeded"]["trace_id"] == rows["UserSignedUp"]["trace_id"] is not None
        tenant = next(iter(rows["UserSignedUp"]["ids"]["tenantId"]))
        tenants[tenant] = tenants.get(tenant, 0) + 1
    assert max(tenants.values()) > 1  # a shared id, not an instance id

    # Each service read the whole users topic in its own group.
    users = got.prefix + "users"
    ends = high_watermarks(kafka.bootstrap, users)
    for service in BRANCHES.values():
        assert committed(kafka.bootstrap, got.prefix + service, users) == ends
