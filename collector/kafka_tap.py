"""The live collector: tap Kafka topics into the store, exactly once.

At-least-once from Kafka, exactly-once in the store: records are batched,
appended to the store (the primary key absorbs replays), and only then are
their offsets committed, synchronously, for our own group. Nothing is ever
produced, no topic is created, and no other group's offsets are touched.

Usage (what ``choreo collect``, ``choreo tail`` and the demo call)::

    settings = CollectSettings(bootstrap="localhost:9092", topics="orders.*")
    stats = Collector(settings, store, Extractor(cfg.extract)).run(stop_event)
"""

from __future__ import annotations

import functools
import logging
import queue
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor
from choreo.collector.group_offsets import (
    GroupOffsetSampler,
    config_consumers,
    write_sample,
    write_topic_consumers,
)
from choreo.collector.settings import CollectSettings, ServiceGroup, topic_pattern
from choreo.collector.until_idle import IdleWatch
from choreo.collector.writer import Job, StoreWriter
from choreo.core.duck_memory import ROW_GROUP_ROWS
from choreo.core.errors import InputError, KafkaUnavailableError, StoreError
from choreo.core.logsetup import kv
from choreo.core.progress import CollectProgress, CollectStats
from choreo.core.store import Store
from choreo.core.store_errors import store_failure

__all__ = ["CollectProgress", "CollectSettings", "CollectStats", "Collector", "ServiceGroup", "probe"]

log = logging.getLogger(__name__)

TP = tuple[str, int]

# Errors that mean "cannot reach the cluster right now": keep retrying.
_CONNECTIVITY = {
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._RESOLVE,
    KafkaError._TIMED_OUT,
    KafkaError._MSG_TIMED_OUT,
}
# Errors that will not go away by waiting: stop with a one-line cause.
_LEAVE_S = 5.0  # time given to leave the group before the consumer closes
_FATAL_AT_START = {
    KafkaError._AUTHENTICATION,
    KafkaError._SSL,
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
}
# Commit errors meaning the partitions moved on: nothing to retry.
_SUPERSEDED = {KafkaError.ILLEGAL_GENERATION, KafkaError.UNKNOWN_MEMBER_ID, KafkaError.REBALANCE_IN_PROGRESS}
_CONSUME_MAX = 10_000  # messages per consume call
_QUIET_BEFORE_RESTORED = 5.0  # seconds without connection errors before "restored"
_STILL_DOWN_EVERY = 30.0


class _KafkaLog:
    """Routes librdkafka's own log lines to Python logging at debug level.

    librdkafka reports every failed connection attempt; the collector says
    what matters itself (one line per outage), the details stay at -vv.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def log(self, level: int, msg: str, *args: object) -> None:
        self._logger.debug(msg, *args)


def open_consumer(
    settings: CollectSettings,
    on_error: Callable[[KafkaError], None],
    fatal: Callable[[], KafkaError | None],
    on_commit: Callable[[KafkaError | None, list[TopicPartition]], None] | None = None,
) -> Consumer:
    """A consumer for ``settings`` that has reached the cluster.

    Raises InputError when librdkafka refuses the settings (bad -X) and
    KafkaUnavailableError when the cluster cannot be reached within
    ``connect_timeout`` or refuses us (authentication).
    """
    last: list[KafkaError] = []

    def error_cb(err: KafkaError) -> None:
        last.append(err)
        del last[:-1]
        on_error(err)

    conf = settings.consumer_config()
    conf["error_cb"] = error_cb
    if on_commit is not None:
        conf["on_commit"] = on_commit
    conf["logger"] = _KafkaLog(logging.getLogger("choreo.librdkafka"))
    try:
        consumer = Consumer(conf)
    except KafkaException as exc:
        err = exc.args[0]
        text = err.str() if isinstance(err, KafkaError) else str(err)
        raise InputError(f"-X: librdkafka refused the settings: {text}") from None
    except (TypeError, ValueError) as exc:
        raise InputError(f"-X: librdkafka refused the settings: {exc}") from None
    try:
        consumer.list_topics(timeout=settings.connect_timeout)
    except KafkaException as exc:
        consumer.close()
        cause = last[-1].str() if last else str(exc.args[0])
        raise KafkaUnavailableError(
            f"cannot reach {settings.bootstrap} within {settings.connect_timeout:g}s: {cause}"
        ) from None
    bad = fatal()
    if bad is not None:
        consumer.close()
        raise KafkaUnavailableError(f"{settings.bootstrap}: {bad.str()}")
    return consumer


def probe(settings: CollectSettings) -> None:
    """Check settings and reachability before anything else is touched (e.g. the store).

    Raises like ``open_consumer``; joins no group and commits nothing.
    """
    fatal: list[KafkaError] = []

    def on_error(err: KafkaError) -> None:
        if err.fatal() or err.code() in _FATAL_AT_START:
            fatal.append(err)

    open_consumer(settings, on_error, lambda: fatal[0] if fatal else None).close()


class Collector:
    """Consume topics matching a regex into a store until ``stop`` is set.

    Construct, then ``run(stop)`` from one thread; that thread owns the store
    connection while running. ``on_progress`` is called from the same thread.
    """

    def __init__(
        self,
        settings: CollectSettings,
        store: Store,
        extractor: Extractor,
        on_progress: Callable[[CollectProgress], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.extractor = extractor
        self.on_progress = on_progress
        self.stats = CollectStats()
        self._batch = EventBatch(extractor, settings.source)
        self._assigned: set[TP] = set()
        self._batch_offsets: dict[TP, int] = {}  # next offset to commit, for records in the batch
        self._pending_commit: dict[TP, int] = {}  # stored but not yet committed
        self._consumed_next: dict[TP, int] = {}  # next offset per partition read this run
        self._positioned: set[TP] = set()  # partitions already seeked to --from TIME
        self._skip_before: dict[TP, int] = {}  # --from TIME: skip records older than this
        self._consumer: Consumer | None = None
        self._last_error: str | None = None
        self._fatal: KafkaError | None = None
        self._down_since: float | None = None
        self._last_conn_error = 0.0
        self._last_down_note = 0.0
        self._batch_started: float | None = None
        self._t0 = time.monotonic()
        self._writer: StoreWriter | None = None
        self._in_flight = 0  # batches handed to the writer, not yet reported done
        self._next_commit_try = 0.0
        self._committing: dict[TP, int] | None = None  # an asynchronous commit under way
        self._record_bytes = 0  # the batch's bytes per record, last seen
        self._stored_rows = 0  # events in the store as this collector knows it (row group alignment)
        self._idle_watch = IdleWatch(settings, self._t0) if settings.until_idle is not None else None

    # -- public -----------------------------------------------------------
    def run(self, stop: Any) -> CollectStats:
        """Collect until ``stop.is_set()`` (a threading.Event) or ``until_idle``.

        Raises KafkaUnavailableError (cluster unreachable within
        ``connect_timeout``, or authentication failed) and InputError (bad
        settings that librdkafka refused).
        """
        s = self.settings
        t0 = self._t0 = time.monotonic()
        if self._idle_watch is not None:
            self._idle_watch.started = t0
        consumer = self._connect()
        self._consumer = consumer
        # The writer appends on a connection of its own: the store's may be
        # handing cursors to other threads (the dashboard, reconstruction).
        own = self.store.cursor()
        self._stored_rows = own.count_events()
        writer = self._writer = StoreWriter(own)
        writer.start()
        sampler: GroupOffsetSampler | None = None
        try:
            rows = config_consumers(s.services)
            writer.submit(Job(run=functools.partial(write_topic_consumers, rows=rows)))
            if s.services:
                sampler = GroupOffsetSampler(
                    s.admin_config(), s.services, topic_pattern(s.topics), s.group_sample_interval
                )
                sampler.start()
            consumer.subscribe(
                [topic_pattern(s.topics)],
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_lost,
            )
            log.info("collecting %s", kv(topics=s.topics, group=s.group, start=s.start))
            self._loop(consumer, stop, t0, sampler)
        finally:
            try:
                if writer.error is None:
                    self._sync()
                    self._commit()
            finally:
                if sampler is not None:
                    sampler.stop()
                self._close(consumer)  # may call _on_revoke, which still needs the writer
                writer.close()
                own.close()
                self.stats.elapsed = time.monotonic() - t0
        self._raise_write_error()
        return self.stats

    # -- set-up -----------------------------------------------------------
    def _connect(self) -> Consumer:
        return open_consumer(self.settings, self._on_error, lambda: self._fatal, self._on_commit)

    def _close(self, consumer: Consumer) -> None:
        # Leave the group first, the revocation served by poll, then close:
        # librdkafka can block for ever inside close() when a rebalance
        # callback's assign arrives while it closes (librdkafka #4884, #4527;
        # seen against the mock cluster). Records polled meanwhile are not
        # stored, so their offsets are not committed: the next owner reads them.
        try:
            consumer.unsubscribe()
            deadline = time.monotonic() + _LEAVE_S
            while consumer.assignment() and time.monotonic() < deadline:
                consumer.poll(0.1)
        except (KafkaException, RuntimeError) as exc:
            log.warning("leaving the consumer group failed %s", kv(error=exc))
        try:
            consumer.close()
        except (KafkaException, RuntimeError) as exc:
            log.warning("closing the consumer failed %s", kv(error=exc))

    # -- the loop ---------------------------------------------------------
    def _loop(self, consumer: Consumer, stop: Any, t0: float, sampler: GroupOffsetSampler | None) -> None:
        s = self.settings
        writer = self._writer
        assert writer is not None
        last_record = time.monotonic()
        last_progress = time.monotonic()
        consumed_at_progress = 0
        while not stop.is_set():
            msgs = consumer.consume(num_messages=self._room(), timeout=0.1)
            if self._fatal is not None:
                raise KafkaUnavailableError(f"{s.bootstrap}: {self._fatal.str()}")
            now = time.monotonic()
            if msgs:
                got = self._add(msgs)
                if got:
                    last_record = now
                    if self._down_since is not None:
                        self._maybe_restored(now)
            # Hand a batch over when full, or when old enough and the writer is
            # free: while it is busy, batches grow (fewer, larger transactions).
            if (
                len(self._batch) >= self._batch_limit()
                or self._batch.nbytes >= s.batch_bytes
                or (
                    self._batch_started is not None
                    and now - self._batch_started >= s.batch_seconds
                    and not writer.has_waiting()
                )
            ):
                self._flush()
            self._drain_done()
            if self._pending_commit and now >= self._next_commit_try:
                self._commit(sync=False)
            if sampler is not None:
                self._drain_samples(sampler)
            if self._down_since is not None:
                self._note_still_down(now)
            if now - last_progress >= s.progress_interval:
                rate = (self.stats.consumed - consumed_at_progress) / (now - last_progress)
                consumed_at_progress = self.stats.consumed
                last_progress = now
                self._progress(consumer, rate, now - t0)
            if self._idle(consumer, now, last_record):
                self.stats.stopped_by = "idle"
                return
        self.stats.stopped_by = "signal"

    def _idle(self, consumer: Consumer, now: float, last_record: float) -> bool:
        """--until-idle: caught up (collector/until_idle.py) with everything stored and committed."""
        watch = self._idle_watch
        if watch is None:
            return False
        busy = bool(self._batch or self._pending_commit or self._in_flight or self._committing is not None)
        return watch.idle(
            consumer, now, last_record, self._assigned, self._consumed_next, self._down_since, busy
        )

    def _batch_limit(self) -> int:
        """Records the batch holds at most: ``batch_size``, and no further
        than the end of DuckDB's row group, so that an append writes whole
        row groups when batches are full (under a backlog)."""
        return min(self.settings.batch_size, ROW_GROUP_ROWS - self._stored_rows % ROW_GROUP_ROWS)

    def _room(self) -> int:
        """Messages to take in one consume: what the batch still holds, in
        records and in bytes at the size of the records seen so far (1 MB
        records come a few at a time, not 10,000 at once)."""
        s = self.settings
        room = self._batch_limit() - len(self._batch)
        if self._record_bytes:
            room = min(room, (s.batch_bytes - self._batch.nbytes) // self._record_bytes)
        return max(1, min(room, _CONSUME_MAX))

    def _add(self, msgs: list[Message]) -> int:
        """Hand consumed messages to the batch (one call into the core);
        returns how many records were taken."""
        got = self._batch.add_messages(msgs, self._assigned, self._skip_before)
        for err in got.errors:
            self._on_message_error(err)
        for tp in got.skipping_ended:
            self._skip_before.pop(tp, None)
        # Records read (and those passed over before --from TIME) are committable once stored.
        self._batch_offsets.update(got.next_offsets)
        self._consumed_next.update(got.next_offsets)
        self.stats.poison += got.poison
        if got.taken:
            # A running estimate of the record size, for the next consume's size.
            self._record_bytes = max(1, self._batch.nbytes // max(1, len(self._batch)))
            self.stats.consumed += got.taken
            if self._batch_started is None:
                self._batch_started = time.monotonic()
        return got.taken

    def _flush(self) -> None:
        """Hand the batch to the writer; its offsets become committable once stored."""
        if not len(self._batch) and not self._batch_offsets:
            return
        assert self._writer is not None
        job = Job(offsets=dict(self._batch_offsets))
        if len(self._batch):
            job.events, job.identifiers = self._batch.tables()
            self._stored_rows += job.events.num_rows
        for what, n in self._batch.notes.items():
            log.warning("stored with a remark %s", kv(remark=what, records=n))
        self._batch.notes.clear()
        self._batch_offsets.clear()
        self._batch_started = None
        self._in_flight += 1
        self._writer.submit(job)

    def _drain_done(self) -> None:
        """Take the writer's finished jobs: stored records and committable offsets."""
        assert self._writer is not None
        while True:
            try:
                job = self._writer.done.get_nowait()
            except queue.Empty:
                break
            if job.run is not None:
                continue
            self._in_flight -= 1
            if job.result is not None:
                self.stats.stored += job.result.inserted
                self.stats.batches += 1
                self.stats.active = time.monotonic() - self._t0
            for tp, off in job.offsets.items():
                self._pending_commit[tp] = max(off, self._pending_commit.get(tp, 0))
        self._raise_write_error()

    def _sync(self) -> None:
        """Store everything read so far and wait until it is durable."""
        assert self._writer is not None
        self._flush()
        self._writer.wait_idle()
        self._drain_done()

    def _raise_write_error(self) -> None:
        err = self._writer.error if self._writer is not None else None
        if err is not None:
            text = " ".join(str(err).split())
            typed = store_failure(err, self.store.path)
            raise typed or StoreError(f"cannot write {self.store.path}: {text}") from err

    def _commit(self, sync: bool = True) -> None:
        """Commit stored offsets for partitions we still own.

        In the loop commits are asynchronous (one at a time): a commit caught
        by a broker going down can wait for a request timeout, and the loop
        must keep reporting and answering signals meanwhile. Before
        partitions move and at the end, commits are synchronous.
        """
        consumer = self._consumer
        if consumer is None:
            return
        if self._committing is not None:
            if not sync:
                return  # the previous one is still under way; these offsets go next
            # A synchronous commit covers the asynchronous one's offsets too;
            # that one's late answer is then ignored.
            for tp, off in self._committing.items():
                self._pending_commit[tp] = max(off, self._pending_commit.get(tp, 0))
            self._committing = None
        if not self._pending_commit:
            return
        owned = {tp: off for tp, off in self._pending_commit.items() if tp in self._assigned}
        self._pending_commit = {}
        if not owned:
            return
        offsets = [TopicPartition(t, p, off) for (t, p), off in owned.items()]
        if not sync:
            self._committing = owned
            consumer.commit(offsets=offsets, asynchronous=True)
            return
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            self._commit_failed(exc.args[0], owned)
            return
        self._committed()

    def _on_commit(self, err: KafkaError | None, _partitions: list[TopicPartition]) -> None:
        owned = self._committing
        if owned is None:
            return  # a synchronous commit: handled where it was made
        self._committing = None
        if err is None:
            self._committed()
        else:
            self._commit_failed(err, owned)

    def _committed(self) -> None:
        self.stats.commits += 1
        if self._down_since is not None:
            self._maybe_restored(time.monotonic())

    def _commit_failed(self, err: object, owned: dict[TP, int]) -> None:
        self.stats.commit_failures += 1
        self._next_commit_try = time.monotonic() + 1.0
        code = err.code() if isinstance(err, KafkaError) else None
        text = err.str() if isinstance(err, KafkaError) else str(err)
        if code in (
            KafkaError.ILLEGAL_GENERATION,
            KafkaError.UNKNOWN_MEMBER_ID,
            KafkaError.REBALANCE_IN_PROGRESS,
        ):
            # A rebalance is under way; the partitions' next owner replays
            # from the previous commit and the store absorbs the replay.
            log.info("commit superseded by a rebalance %s", kv(error=text))
            return
        log.info("commit deferred %s", kv(error=text))
        for tp, off in owned.items():  # retried with (or superseded by) newer offsets
            self._pending_commit[tp] = max(off, self._pending_commit.get(tp, 0))

    # -- callbacks (served inside consume/close, on this thread) -----------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.stats.rebalances += 1
        start = self.settings.start
        if isinstance(start, int):
            todo = [tp for tp in partitions if (tp.topic, tp.partition) not in self._positioned]
            if todo:
                partitions = self._seek_to_time(consumer, partitions, todo, start)
                self._assign(consumer, partitions)
        self._take(partitions)
        if self._idle_watch is not None:
            self._idle_watch.assignment_changed(time.monotonic())
        log.info("partitions assigned %s", kv(count=len(partitions)))

    def _assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Assign at chosen offsets: the whole assignment (eager protocol) or the
        increment (cooperative: assign() would drop the partitions kept)."""
        if self.settings.cooperative:
            consumer.incremental_assign(partitions)
        else:
            consumer.assign(partitions)

    def _take(self, partitions: list[TopicPartition]) -> None:
        """Partitions we now own: an eager rebalance hands over the whole
        assignment, a cooperative one only what is added to it."""
        got = {(tp.topic, tp.partition) for tp in partitions}
        self._assigned = self._assigned | got if self.settings.cooperative else got

    def _seek_to_time(
        self,
        consumer: Consumer,
        partitions: list[TopicPartition],
        todo: list[TopicPartition],
        ms: int,
    ) -> list[TopicPartition]:
        """Position partitions at the first record stamped at or after ``ms``.

        The broker's time index gives the offset where it can; where it
        cannot (some brokers, the embedded cluster) or finds nothing, we read
        from the beginning and skip older records client-side until the first
        one at or after ``ms`` -- the same semantics, only slower.
        """
        query = [TopicPartition(tp.topic, tp.partition, ms) for tp in todo]
        by_tp: dict[TP, int] = {}
        try:
            found = consumer.offsets_for_times(query, timeout=self.settings.connect_timeout)
        except KafkaException as exc:
            log.info("no time index lookup; skipping older records instead %s", kv(error=exc))
            found = []
        for tp in found:
            if tp.error is None and tp.offset >= 0:
                by_tp[(tp.topic, tp.partition)] = tp.offset
        for tp in todo:
            key = (tp.topic, tp.partition)
            by_tp.setdefault(key, OFFSET_BEGINNING)
            self._skip_before[key] = ms
            self._positioned.add(key)
        return [
            TopicPartition(tp.topic, tp.partition, by_tp.get((tp.topic, tp.partition), tp.offset))
            for tp in partitions
        ]

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Store and commit what we hold before the partitions move.
        self._sync()
        self._commit()
        for tp in partitions:
            self._assigned.discard((tp.topic, tp.partition))
        if self._idle_watch is not None:
            self._idle_watch.assignment_changed(time.monotonic())
        log.info("partitions revoked %s", kv(count=len(partitions)))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Lost (session expired): keep what was read, but committing is no
        # longer ours to do; the next owner replays and the store absorbs it.
        self._sync()
        for tp in partitions:
            key = (tp.topic, tp.partition)
            self._assigned.discard(key)
            self._pending_commit.pop(key, None)
        if self._idle_watch is not None:
            self._idle_watch.assignment_changed(time.monotonic())
        log.warning("partitions lost (session expired) %s", kv(count=len(partitions)))

    def _on_error(self, err: KafkaError) -> None:
        self._last_error = err.str()
        code = err.code()
        if err.fatal() or (self._consumer is None and code in _FATAL_AT_START):
            self._fatal = err
            return
        if code in _CONNECTIVITY:
            now = time.monotonic()
            self._last_conn_error = now
            if self._consumer is not None and self._down_since is None:
                self._down_since = now
                self._last_down_note = now
                self.stats.outages += 1
                log.warning(
                    "kafka connection problem, retrying; nothing is lost %s",
                    kv(error=err.str()),
                )
            return
        log.warning("kafka error %s", kv(error=err.str()))
        self.stats.errors.append(err.str())

    def _on_message_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._PARTITION_EOF:
            return
        if err.fatal():
            self._fatal = err
            return
        log.warning("kafka fetch error %s", kv(error=err.str()))

    def _maybe_restored(self, now: float) -> None:
        assert self._down_since is not None
        if now - self._last_conn_error >= _QUIET_BEFORE_RESTORED:
            log.warning("kafka connection restored %s", kv(after_s=f"{now - self._down_since:.1f}"))
            self._down_since = None

    def _note_still_down(self, now: float) -> None:
        assert self._down_since is not None
        if now - self._last_conn_error >= _QUIET_BEFORE_RESTORED and (
            self.stats.commits or self.stats.consumed
        ):
            self._maybe_restored(now)
            return
        if now - self._last_down_note >= _STILL_DOWN_EVERY:
            self._last_down_note = now
            log.warning(
                "kafka still unreachable, retrying %s",
                kv(for_s=f"{now - self._down_since:.0f}", error=self._last_error or ""),
            )

    # -- samples and progress --------------------------------------------
    def _drain_samples(self, sampler: GroupOffsetSampler) -> None:
        assert self._writer is not None
        while True:
            try:
                sample = sampler.samples.get_nowait()
            except queue.Empty:
                return
            self._writer.submit(Job(run=functools.partial(write_sample, sample=sample)))

    def _lag(self, consumer: Consumer) -> int | None:
        """Records between what we read and the high watermarks of our partitions.

        Uses the watermarks cached from fetch responses (no broker round trip).
        None while some partition's position is unknown (nothing read from it
        yet and it is not empty).
        """
        total = 0
        try:
            for topic, partition in self._assigned:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
                if high is None or high < 0:
                    return None
                pos = self._consumed_next.get((topic, partition))
                if pos is None:
                    if low != high:
                        return None
                    continue
                total += max(0, high - pos)
        except KafkaException:
            return None
        return total

    def _progress(self, consumer: Consumer, rate: float, elapsed: float) -> None:
        if self.on_progress is None:
            return
        self.on_progress(
            CollectProgress(
                consumed=self.stats.consumed,
                stored=self.stats.stored,
                rate=rate,
                lag=self._lag(consumer),
                partitions=len(self._assigned),
                connected=self._down_since is None,
                elapsed=elapsed,
            )
        )
