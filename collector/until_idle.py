"""``--until-idle``: when a collection has read everything there is.

Idle means caught up: partitions are assigned to us, each one is read up to
its high watermark, everything read is stored and committed, and no record
came for the idle time. Silence alone is not idle: a collector restarted
after a crash may wait for the group to hand it partitions (the dead
member's session must expire first), and a cluster that is down sends
nothing either. Those wait, up to a deadline, and then end the run with a
one-line error instead of "idle": a cron job must not believe it caught up.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition

from choreo.collector.settings import START_LATEST, CollectSettings, topic_pattern
from choreo.core.errors import KafkaUnavailableError

TP = tuple[str, int]

_DEFAULT_SESSION_MS = 45_000  # librdkafka's session.timeout.ms
_CHECK_EVERY = 1.0  # seconds between caught-up checks (they may ask the broker)


def give_up_after(settings: CollectSettings) -> float:
    """How long a collection may be unable to read (no partitions, no cluster,
    not catching up) before --until-idle ends it as an error: long enough for
    a crashed member's session to expire and the group to rebalance (which
    may wait for members to rejoin for up to another session timeout)."""
    assert settings.until_idle is not None
    session_s = int(settings.extra.get("session.timeout.ms", _DEFAULT_SESSION_MS)) / 1000
    return settings.connect_timeout + 2 * session_s + settings.until_idle


@dataclass
class IdleWatch:
    settings: CollectSettings
    started: float  # monotonic time the run started
    assigned_at: float | None = None  # the last time the assignment changed
    _checked_at: float = 0.0
    _behind_since: float | None = None  # quiet but not caught up since
    # When the cluster was last found unreachable, until it answers again:
    # librdkafka suppresses repeated connection errors, so a long outage can
    # look like a string of short ones to the collector.
    _outage_since: float | None = None

    def assignment_changed(self, now: float) -> None:
        self.assigned_at = now
        self._behind_since = None

    def idle(
        self,
        consumer: Consumer,
        now: float,
        last_record: float,
        assigned: Collection[TP],
        consumed_next: Mapping[TP, int],
        down_since: float | None,
        busy: bool,
    ) -> bool:
        """True when caught up and quiet (and not ``busy`` storing or
        committing); raises KafkaUnavailableError when the run cannot get
        there (no cluster, no partitions, stuck behind), busy or not."""
        s = self.settings
        assert s.until_idle is not None
        limit = give_up_after(s)
        if self._outage_since is not None and last_record > self._outage_since:
            self._outage_since = None  # records flow again
        if down_since is not None and self._outage_since is None:
            # Counted from the last record: some may still arrive from what was fetched.
            self._outage_since = max(down_since, last_record)
        if self._outage_since is not None and now - self._outage_since >= limit:
            raise KafkaUnavailableError(
                f"--until-idle: {s.bootstrap} unreachable for {now - self._outage_since:.0f}s, so not "
                "caught up (what was read is stored)"
            )
        if not assigned:
            waited = now - (self.assigned_at or self.started)
            if waited >= limit:
                raise KafkaUnavailableError(self._why_unassigned(consumer, waited))
            return False
        if busy or down_since is not None:
            return False
        quiet_since = max(last_record, self.assigned_at or self.started)
        if now - quiet_since < s.until_idle:
            self._behind_since = None
            return False
        if now - self._checked_at < _CHECK_EVERY:
            return False
        self._checked_at = now
        behind = self._behind(consumer, assigned, consumed_next)
        if behind is not None:
            self._outage_since = None  # the cluster answered
        if behind == []:
            return True
        self._behind_since = self._behind_since or now
        if now - self._behind_since >= limit:
            named = ", ".join(f"{t}[{p}]" for t, p in sorted(behind or assigned)[:5])
            raise KafkaUnavailableError(
                f"--until-idle: no records for {now - quiet_since:.0f}s but not caught up ({named} "
                "behind their high watermarks or unknown); what was read is stored"
            )
        return False

    def _behind(
        self, consumer: Consumer, assigned: Collection[TP], consumed_next: Mapping[TP, int]
    ) -> list[TP] | None:
        """Assigned partitions whose read position is short of the high watermark
        (None: the cluster did not answer). Unread partitions start at the group's committed offset,
        else where --from puts them."""
        positions = {tp: consumed_next[tp] for tp in assigned if tp in consumed_next}
        timeout = min(self.settings.connect_timeout, 5.0)
        try:
            # The consumer's position also moves past transaction markers (which
            # take offsets up to the high watermark but are never handed to us).
            for c in consumer.position([TopicPartition(t, p) for t, p in assigned]):
                if c.offset >= 0:
                    key = (c.topic, c.partition)
                    positions[key] = max(c.offset, positions.get(key, 0))
            unread = [tp for tp in assigned if tp not in positions]
            if unread:
                for c in consumer.committed([TopicPartition(t, p) for t, p in unread], timeout=timeout):
                    if c.error is None and c.offset >= 0:
                        positions[(c.topic, c.partition)] = c.offset
            behind = []
            for tp in assigned:
                low, high = consumer.get_watermark_offsets(TopicPartition(*tp), timeout=timeout, cached=False)
                pos = positions.get(tp)
                if pos is None:
                    pos = high if self.settings.start == START_LATEST else low
                if pos < high:
                    behind.append(tp)
        except KafkaException:
            return None
        return behind

    def _why_unassigned(self, consumer: Consumer, waited: float) -> str:
        s = self.settings
        try:
            names = list(consumer.list_topics(timeout=min(s.connect_timeout, 5.0)).topics)
        except KafkaException:
            names = None
        pattern = re.compile(topic_pattern(s.topics)[1:-1])
        if names is not None and not any(pattern.fullmatch(n) for n in names):
            return f"--until-idle: no topic matches --topics {s.topics!r}, nothing to read"
        return (
            f"--until-idle: no partitions assigned to group {s.group!r} after {waited:.0f}s "
            "(other members hold them all?), so not caught up"
        )
