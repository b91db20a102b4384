"""What a live collection is told to do, validated up front.

``CollectSettings`` is the contract between ``choreo collect``/``choreo tail``/
the demo and ``collector.live.Collector``. Bad values raise InputError with a
one-line cause before any connection is made.
"""

from __future__ import annotations

import hashlib
import math
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from choreo.core.config import ChoreoConfig
from choreo.core.errors import InputError

START_EARLIEST = "earliest"
START_LATEST = "latest"

# Settings choreo owns: the collector's guarantees depend on them, so -X may
# not override them (offsets are committed by hand, only after storing).
_RESERVED = {
    "enable.auto.commit": "offsets are committed only after the events are stored",
    "enable.auto.offset.store": "offsets are committed only after the events are stored",
    "group.id": "use --group",
    "bootstrap.servers": "use --bootstrap",
    "auto.offset.reset": "use --from",
    "allow.auto.create.topics": "choreo never creates topics",
}


# Seconds a wait may be given: finite (inf or nan is no duration librdkafka
# takes; inf failed at once) and at most a day.
MAX_WAIT_S = 86_400.0


def _check_seconds(option: str, value: float, *, allow_zero: bool = False) -> None:
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0) and value <= MAX_WAIT_S
    if not ok:
        raise InputError(f"{option} {value:g}: want a number of seconds, above 0 and at most {MAX_WAIT_S:g}")


def check_bootstrap(bootstrap: str) -> None:
    """HOST:PORT[,HOST:PORT...]: a port outside 1-65535 would be taken modulo
    65536 by librdkafka and quietly reach another port."""
    if not bootstrap.strip():
        raise InputError("--bootstrap: no broker address given (want HOST:PORT[,HOST:PORT...])")
    for entry in bootstrap.split(","):
        addr = entry.strip().rpartition("://")[2]  # SASL_SSL://host:port is allowed
        host, sep, port = addr.rpartition(":")
        if not sep or host.endswith(":"):  # no port, or a bare IPv6 address: librdkafka's default port
            continue
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise InputError(f"--bootstrap {entry.strip()!r}: the port must be a number from 1 to 65535")
        if not host:
            raise InputError(f"--bootstrap {entry.strip()!r}: no host before the port")


def default_group(store: Path | None = None) -> str:
    """One group per host and store: a restarted collector resumes where it
    stopped, and two collectors on one host into two stores do not split the
    partitions between them (one group would: each store got part)."""
    host = _safe(socket.gethostname()) or "host"
    if store is None:
        return f"choreo-{host}"
    where = hashlib.sha256(str(store.resolve()).encode()).hexdigest()[:8]
    return f"choreo-{host}-{_safe(store.stem)[:40]}-{where}"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", text)


def parse_start(text: str) -> str | int:
    """``earliest``, ``latest`` or an ISO-8601 time (-> ms since epoch, UTC if no zone)."""
    t = text.strip().lower()
    if t in (START_EARLIEST, START_LATEST):
        return t
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--from {text!r}: want earliest, latest or an ISO-8601 time such as 2024-05-01T10:00:00Z"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def parse_extra(pairs: Iterable[str]) -> dict[str, str]:
    """``-X key=value`` options into a librdkafka config dict (values stay text)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"-X {pair!r}: want key=value (a librdkafka setting)")
        if key in _RESERVED:
            raise InputError(f"-X {key}: not allowed ({_RESERVED[key]})")
        out[key] = value
    return out


def topic_pattern(regex: str) -> str:
    """The librdkafka subscription for a user regex: anchored full match.

    Kafka's own tools match the whole topic name; librdkafka searches, so we
    anchor. A leading ``^`` marks a regex subscription for librdkafka.
    """
    try:
        re.compile(regex)
    except re.error as exc:
        raise InputError(f"--topics {regex!r} is not a valid regular expression: {exc}") from None
    if not regex:
        raise InputError("--topics: the regular expression is empty")
    inner = regex
    if inner.startswith("^"):
        inner = inner[1:]
    if inner.endswith("$") and not inner.endswith("\\$"):
        inner = inner[:-1]
    return f"^({inner})$"


@dataclass(frozen=True)
class ServiceGroup:
    """A service's own consumer group, sampled read-only for lag explanations."""

    service: str
    group: str
    topics: tuple[str, ...] = ()  # topics it consumes; empty = every collected topic


def service_groups(config: ChoreoConfig, prefix: str = "") -> tuple[ServiceGroup, ...]:
    """The services whose consumer groups config names (for lag and the service map);
    ``prefix`` goes before group and topic names (the demo runs under one)."""
    return tuple(
        ServiceGroup(name, prefix + svc.group, tuple(prefix + t for t in svc.consumes))
        for name, svc in sorted(config.services.items())
        if svc.group
    )


@dataclass(frozen=True)
class CollectSettings:
    """Everything a Collector needs besides the store and the extractor.

    ``start`` is ``earliest``/``latest`` (where to begin in partitions the group
    has no committed offset for) or ms since epoch (seek every partition to that
    time on first assignment). ``until_idle`` stops the run after that many
    seconds without a new record. ``extra`` is passed to librdkafka unchanged
    (SASL/SSL and tuning).
    """

    bootstrap: str
    topics: str
    group: str = field(default_factory=default_group)
    start: str | int = START_EARLIEST
    until_idle: float | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    # At most DuckDB's row group (ROW_GROUP_ROWS), which the collector's
    # appends end with: whole row groups cost DuckDB half the CPU.
    batch_size: int = 122_880
    # Raw bytes per batch as well: 1 MB records make small batches, so that
    # one append never needs more memory than DuckDB is given.
    batch_bytes: int = 16 * 2**20
    batch_seconds: float = 1.0
    connect_timeout: float = 10.0
    progress_interval: float = 1.0
    services: tuple[ServiceGroup, ...] = ()
    group_sample_interval: float = 5.0
    metadata_refresh_ms: int = 5_000

    def __post_init__(self) -> None:
        check_bootstrap(self.bootstrap)
        if not self.group.strip():
            raise InputError("--group: empty group id")
        topic_pattern(self.topics)
        if isinstance(self.start, str) and self.start not in (START_EARLIEST, START_LATEST):
            raise InputError(f"start {self.start!r}: want earliest, latest or ms since epoch")
        if self.until_idle is not None:
            _check_seconds("--until-idle", self.until_idle)
        if self.batch_size < 1:
            raise InputError("--batch-size: want at least 1")
        if self.batch_bytes < 1:
            raise InputError("batch_bytes: want at least 1")
        _check_seconds("--batch-seconds", self.batch_seconds)
        _check_seconds("--connect-timeout", self.connect_timeout)
        for key in self.extra:
            if key in _RESERVED:
                raise InputError(f"-X {key}: not allowed ({_RESERVED[key]})")

    @property
    def cooperative(self) -> bool:
        """Incremental (cooperative) rebalancing: librdkafka refuses to mix it
        with the eager assignors, so the one cooperative assignor decides."""
        strategies = self.extra.get("partition.assignment.strategy", "")
        return "cooperative-sticky" in strategies.replace(" ", "").split(",")

    @property
    def source(self) -> str:
        """The ``events.source`` value of records this collection stores."""
        return f"collect:{self.group}"

    def consumer_config(self) -> dict[str, object]:
        """librdkafka consumer settings: at-least-once with manual commits, read-only."""
        conf: dict[str, object] = {
            # Tuned for a tap: large fetches, new topics noticed within seconds.
            "fetch.min.bytes": 1,
            "fetch.wait.max.ms": 100,
            # Counted compressed: decompressed, the prefetched records take
            # several times this. Enough to keep fetching while we store.
            "queued.max.messages.kbytes": 16384,
            "topic.metadata.refresh.interval.ms": self.metadata_refresh_ms,
            "client.id": "choreo-collector",
        }
        conf.update(self.extra)
        conf.update(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": self.group,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": self.start if isinstance(self.start, str) else "earliest",
                "allow.auto.create.topics": False,
            }
        )
        return conf

    def admin_config(self) -> dict[str, str | int | float | bool]:
        """Settings for the read-only admin client (security settings carried over)."""
        consumer_only = (
            "fetch.",
            "queued.",
            "session.timeout.ms",
            "heartbeat.interval.ms",
            "max.poll.interval.ms",
            "partition.assignment.strategy",
            "group.",
            "isolation.level",
            "check.crcs",
            "topic.metadata.refresh.interval.ms",
            "max.partition.fetch.bytes",
        )
        conf: dict[str, str | int | float | bool] = {
            k: v for k, v in self.extra.items() if not k.startswith(consumer_only) and k != "client.id"
        }
        conf["bootstrap.servers"] = self.bootstrap
        conf["client.id"] = "choreo-group-sampler"
        return conf


def live_settings(
    config: ChoreoConfig,
    *,
    bootstrap: str,
    topics: str,
    group: str | None,
    store: Path,
    start: str,
    extra: Iterable[str],
    connect_timeout: float,
    **tuning: Any,
) -> CollectSettings:
    """CollectSettings from the command-line Kafka options (collect, tail);
    ``tuning``: the other CollectSettings fields."""
    return CollectSettings(
        bootstrap=bootstrap,
        topics=topics,
        group=group or default_group(store),
        start=parse_start(start),
        extra=parse_extra(extra),
        connect_timeout=connect_timeout,
        services=service_groups(config),
        **tuning,
    )
