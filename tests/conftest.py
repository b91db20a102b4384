"""Shared fixtures: a real Kafka-protocol cluster on loopback and store files."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from choreo.demo.embedded_cluster import EmbeddedCluster
from tests.support.tui_fixtures import FixtureStore, build_fixture_store


@dataclass
class KafkaTarget:
    """The cluster a test talks to: the embedded one, or CHOREO_TEST_BOOTSTRAP's.

    ``cluster`` is None against a real cluster; tests that inject faults
    call ``require_embedded()`` so they skip there.
    """

    bootstrap: str
    cluster: EmbeddedCluster | None
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}-")

    def topic(self, name: str) -> str:
        """A topic name private to this test (matters on a shared real cluster)."""
        return f"{self.prefix}{name}"

    def create_topic(self, name: str, partitions: int = 3) -> str:
        full = self.topic(name)
        if self.cluster is not None:
            self.cluster.create_topic(full, partitions)
        else:
            from confluent_kafka.admin import AdminClient
            from confluent_kafka.cimpl import NewTopic

            admin = AdminClient({"bootstrap.servers": self.bootstrap})
            futures = admin.create_topics([NewTopic(full, partitions, 1)])
            for f in futures.values():
                f.result(timeout=30)
        return full

    def require_embedded(self) -> EmbeddedCluster:
        if self.cluster is None:
            pytest.skip("fault injection needs the embedded cluster")
        return self.cluster


@pytest.fixture
def kafka() -> Iterator[KafkaTarget]:
    bootstrap = os.environ.get("CHOREO_TEST_BOOTSTRAP")
    if bootstrap:
        yield KafkaTarget(bootstrap, None)
        return
    with EmbeddedCluster(brokers=1) as cluster:
        yield KafkaTarget(cluster.bootstrap, cluster)


@pytest.fixture
def kafka3() -> Iterator[KafkaTarget]:
    """Three brokers, for fault tests that take one down."""
    bootstrap = os.environ.get("CHOREO_TEST_BOOTSTRAP")
    if bootstrap:
        yield KafkaTarget(bootstrap, None)
        return
    with EmbeddedCluster(brokers=3) as cluster:
        yield KafkaTarget(cluster.bootstrap, cluster)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


@pytest.fixture(scope="session")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> FixtureStore:
    """All three example choreographies with the demo's default faults, imported
    and reconstructed once per session (the dashboard and CLI tests open it read-only)."""
    return build_fixture_store("mixed", tmp_path_factory.mktemp("tui-mixed"))
