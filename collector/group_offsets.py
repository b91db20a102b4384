"""Read-only sampling of the services' consumer groups.

For each service group named in choreo.toml (``[services.NAME] group = ...``)
we fetch its committed offsets for explicit partitions (the embedded cluster
serves OffsetFetch for a named group but cannot list or describe groups) and
the partitions' high watermarks. Reconstruction compares them with a stuck
event's offset: "the service has not read it yet" vs "read it and did nothing".

The sampler runs in its own thread so that a slow or absent broker never
stalls consumption; the collector's thread writes its samples to the store
(one DuckDB connection, one writer thread).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from choreo.collector.settings import ServiceGroup
from choreo.core.logsetup import kv
from choreo.core.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupOffsetRow:
    group_id: str
    topic: str
    partition: int
    committed_offset: int | None
    high_watermark: int | None
    observed_ms: int


@dataclass(frozen=True)
class GroupSample:
    rows: tuple[GroupOffsetRow, ...]
    consumers: tuple[tuple[str, str, str, str], ...]  # (group, service, topic, source)


def config_consumers(services: Sequence[ServiceGroup]) -> list[tuple[str, str, str, str]]:
    """topic_consumers rows stated by the config."""
    return [(s.group, s.service, t, "config") for s in services for t in s.topics]


def write_topic_consumers(store: Store, rows: Sequence[tuple[str, str, str, str]]) -> None:
    if rows:
        store.con.executemany("INSERT OR REPLACE INTO topic_consumers VALUES (?, ?, ?, ?)", list(rows))


def write_sample(store: Store, sample: GroupSample) -> None:
    with store.transaction() as con:
        if sample.rows:
            con.executemany(
                "INSERT OR REPLACE INTO group_offsets VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (r.group_id, r.topic, r.partition, r.committed_offset, r.high_watermark, r.observed_ms)
                    for r in sample.rows
                ],
            )
        if sample.consumers:
            # Config rows win over what the cluster shows (same key).
            con.executemany(
                "INSERT OR IGNORE INTO topic_consumers VALUES (?, ?, ?, ?)", list(sample.consumers)
            )


class GroupOffsetSampler(threading.Thread):
    """Every ``interval`` seconds, put a GroupSample on ``samples``."""

    def __init__(
        self,
        admin_config: dict[str, str | int | float | bool],
        services: Sequence[ServiceGroup],
        topic_regex: str,
        interval: float,
        timeout: float = 5.0,
    ) -> None:
        super().__init__(name="choreo-group-sampler", daemon=True)
        self._admin = AdminClient(admin_config)
        self._services = list(services)
        self._topic_re = re.compile(topic_regex)
        self._interval = interval
        self._timeout = timeout
        self._stop_event = threading.Event()
        self.samples: queue.Queue[GroupSample] = queue.Queue(maxsize=4)
        self._failing = False

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                sample = self.sample_once()
            except KafkaException as exc:
                if not self._failing:
                    log.info("group offsets unavailable for now %s", kv(error=exc.args[0]))
                self._failing = True
            else:
                self._failing = False
                # When the collector is busy the next sample supersedes this one.
                with contextlib.suppress(queue.Full):
                    self.samples.put_nowait(sample)
            self._stop_event.wait(self._interval)

    def sample_once(self) -> GroupSample:
        md = self._admin.list_topics(timeout=self._timeout)
        partitions: dict[str, list[int]] = {
            name: sorted(t.partitions) for name, t in md.topics.items() if t.error is None
        }
        now = int(time.time() * 1000)
        rows: list[GroupOffsetRow] = []
        consumers: list[tuple[str, str, str, str]] = []
        watermarks = self._high_watermarks(
            {t: p for t, p in partitions.items() if self._topic_re.search(t) or self._wanted(t)}
        )
        for svc in self._services:
            topics = [t for t in svc.topics if t in partitions] or [
                t for t in partitions if self._topic_re.search(t)
            ]
            if not topics:
                continue
            req = ConsumerGroupTopicPartitions(
                svc.group, [TopicPartition(t, p) for t in topics for p in partitions[t]]
            )
            fut = self._admin.list_consumer_group_offsets([req], request_timeout=self._timeout)[svc.group]
            result = fut.result(timeout=self._timeout + 1)
            seen_topics: set[str] = set()
            for tp in result.topic_partitions:
                committed = tp.offset if tp.offset >= 0 else None
                if tp.error is not None:
                    continue
                if committed is None and tp.topic not in svc.topics:
                    continue  # not stated to consume it and never committed there
                seen_topics.add(tp.topic)
                hwm = watermarks.get((tp.topic, tp.partition))
                rows.append(GroupOffsetRow(svc.group, tp.topic, tp.partition, committed, hwm, now))
            consumers.extend(
                (svc.group, svc.service, t, "cluster") for t in sorted(seen_topics - set(svc.topics))
            )
        return GroupSample(tuple(rows), tuple(consumers))

    def _wanted(self, topic: str) -> bool:
        return any(topic in s.topics for s in self._services)

    def _high_watermarks(self, partitions: dict[str, list[int]]) -> dict[tuple[str, int], int]:
        if not partitions:
            return {}
        latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
        req = {TopicPartition(t, p): latest for t, ps in partitions.items() for p in ps}
        out: dict[tuple[str, int], int] = {}
        for tp, fut in self._admin.list_offsets(req, request_timeout=self._timeout).items():
            try:
                out[(tp.topic, tp.partition)] = int(fut.result(timeout=self._timeout + 1).offset)
            except KafkaException as exc:
                log.debug("no high watermark %s", kv(topic=tp.topic, partition=tp.partition, error=exc))
        return out
