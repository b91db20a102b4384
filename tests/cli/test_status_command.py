"""`choreo status --json` after a real collection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import KafkaTarget
from tests.support.collect_helpers import FAST_GROUP_ARGS, produce, run_choreo, run_main


@pytest.mark.kafka
def test_status_json_counts_events_topics_and_poison(
    kafka: KafkaTarget, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = kafka.create_topic("orders", 2)
    payments = kafka.create_topic("payments", 1)
    records = [(orders, None, b'{"type":"OrderPlaced"}', None)] * 7 + [(payments, None, b"\x00bin", None)] * 2
    produce(kafka.bootstrap, records)
    done = run_choreo(
        "collect", "-b", kafka.bootstrap, "-t", f"{kafka.prefix}.*", "--until-idle", "1",
        "--db", str(db_path), *FAST_GROUP_ARGS,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "9 records read, 9 new" in done.stderr
    result = run_main(capsys, "status", "--db", str(db_path), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["events"] == 9
    assert summary["topics"] == {orders: 7, payments: 2}
    assert summary["poison"] == 2
