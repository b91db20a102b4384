"""The content pipeline with moderation rejections, as real services."""

from __future__ import annotations

from pathlib import Path

import pytest

from choreo.demo.faults import FaultPlan
from choreo.demo.scenario import Scenario
from tests.conftest import KafkaTarget
from tests.support.examples_support import assert_stored_once, instance_ids, run_and_collect

pytestmark = pytest.mark.kafka

SCENARIO = Scenario(seed=9, instances=25, workflows=("video",), faults=FaultPlan(reject_rate=0.25))
FULL = ["VideoUploaded", "VideoApproved", "VideoTranscoded", "VideoIndexed", "VideoPublished"]


def test_content_pipeline_with_rejections(kafka: KafkaTarget, db_path: Path) -> None:
    got = run_and_collect(kafka, SCENARIO, db_path)
    stored = assert_stored_once(got.truth, db_path)
    outcomes = [i["outcome"] for i in got.truth["instances"]]
    assert outcomes.count("failed") > 0 and outcomes.count("completed") > 0
    assert set(outcomes) == {"failed", "completed"}
    for inst in got.truth["instances"]:
        rows = {e["type"]: stored[(e["topic"], e["partition"], e["offset"])] for e in inst["events"]}
        if inst["outcome"] == "failed":
            assert inst["path"] == ["VideoUploaded", "VideoRejected"]
            assert rows["VideoRejected"]["service"] == "moderation-service"
            continue
        assert inst["path"] == FULL
        video_id, asset_id = inst["id"], inst["identifiers"]["assetId"]
        # The indexer knows only the asset; VideoTranscoded links asset and video.
        assert instance_ids(rows["VideoIndexed"]) == {asset_id, inst["identifiers"]["documentId"]}
        assert {video_id, asset_id} <= instance_ids(rows["VideoTranscoded"])
        assert rows["VideoTranscoded"]["ids"]["input.videoId"] == {video_id}
        assert rows["VideoPublished"]["ids"]["videoId"] == {video_id}
        assert rows["VideoTranscoded"]["trace_id"] == rows["VideoUploaded"]["trace_id"] is not None
        assert rows["VideoIndexed"]["trace_id"] is None
