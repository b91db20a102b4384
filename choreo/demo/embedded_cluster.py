"""librdkafka's built-in mock cluster, started through ctypes.

The confluent-kafka wheel bundles librdkafka with its ``rd_kafka_mock_*`` API
exported. We create our own ``rd_kafka_t`` handle to host the cluster so that
we keep the cluster pointer and can create topics and inject faults; real
clients then reach it over TCP on loopback like any Kafka cluster.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from choreo.core.errors import ChoreoError

_RD_KAFKA_PRODUCER = 0


class EmbeddedClusterError(ChoreoError):
    title = "embedded cluster"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 3

    @classmethod
    def parse(cls, text: str) -> TopicSpec:
        """Parse ``NAME`` or ``NAME:PARTITIONS`` as given on the command line."""
        name, _, parts = text.partition(":")
        if not name:
            raise EmbeddedClusterError(f"topic spec {text!r} has no name (want NAME:PARTITIONS)")
        if not parts:
            return cls(name)
        try:
            n = int(parts)
        except ValueError:
            raise EmbeddedClusterError(f"topic spec {text!r}: partitions must be a whole number") from None
        if n < 1:
            raise EmbeddedClusterError(f"topic spec {text!r}: partitions must be at least 1")
        return cls(name, n)


def _find_librdkafka() -> Path:
    import confluent_kafka

    site = Path(confluent_kafka.__file__).resolve().parent.parent
    candidates = sorted((site / "confluent_kafka.libs").glob("librdkafka*.so*"))
    candidates += sorted((site / "confluent_kafka" / ".dylibs").glob("librdkafka*"))
    if not candidates:
        raise EmbeddedClusterError(
            "cannot find the librdkafka bundled with confluent-kafka (needed for the embedded cluster)"
        )
    return candidates[0]


_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


def _librdkafka() -> ctypes.CDLL:
    global _lib
    with _lib_lock:
        if _lib is None:
            lib = ctypes.CDLL(str(_find_librdkafka()))
            vp, cp, i32, sz = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_size_t
            sigs: dict[str, tuple[object, list[object]]] = {
                "rd_kafka_conf_new": (vp, []),
                "rd_kafka_conf_set": (ctypes.c_int, [vp, cp, cp, cp, sz]),
                "rd_kafka_new": (vp, [ctypes.c_int, vp, cp, sz]),
                "rd_kafka_destroy": (None, [vp]),
                "rd_kafka_err2str": (cp, [ctypes.c_int]),
                "rd_kafka_mock_cluster_new": (vp, [vp, ctypes.c_int]),
                "rd_kafka_mock_cluster_destroy": (None, [vp]),
                "rd_kafka_mock_cluster_bootstraps": (cp, [vp]),
                "rd_kafka_mock_topic_create": (ctypes.c_int, [vp, cp, ctypes.c_int, ctypes.c_int]),
                "rd_kafka_mock_broker_set_down": (ctypes.c_int, [vp, i32]),
                "rd_kafka_mock_broker_set_up": (ctypes.c_int, [vp, i32]),
                "rd_kafka_mock_broker_set_rtt": (ctypes.c_int, [vp, i32, ctypes.c_int]),
                "rd_kafka_mock_push_request_errors_array": (
                    None,
                    [vp, ctypes.c_int16, sz, ctypes.POINTER(ctypes.c_int)],
                ),
                "rd_kafka_mock_clear_request_errors": (None, [vp, ctypes.c_int16]),
                "rd_kafka_mock_partition_set_leader": (ctypes.c_int, [vp, cp, i32, i32]),
                "rd_kafka_mock_group_initial_rebalance_delay_ms": (None, [vp, ctypes.c_int]),
            }
            for name, (restype, argtypes) in sigs.items():
                fn = getattr(lib, name)
                fn.restype = restype
                fn.argtypes = argtypes
            _lib = lib
        return _lib


class EmbeddedCluster:
    """A running mock Kafka cluster; use as a context manager or call close().

    Broker ids are 1..brokers. Topics not created explicitly are auto-created
    on first produce with librdkafka's mock default partition count.
    """

    def __init__(self, brokers: int = 1, topics: Iterable[TopicSpec] = ()) -> None:
        if brokers < 1:
            raise EmbeddedClusterError("an embedded cluster needs at least 1 broker")
        self._lib = _librdkafka()
        errstr = ctypes.create_string_buffer(512)
        conf = self._lib.rd_kafka_conf_new()
        # The hosting handle never talks to a broker; keep its logs to errors only.
        for key, value in (("log_level", "3"), ("client.id", "choreo-embedded-cluster")):
            self._lib.rd_kafka_conf_set(conf, key.encode(), value.encode(), errstr, len(errstr))
        self._rk = self._lib.rd_kafka_new(_RD_KAFKA_PRODUCER, conf, errstr, len(errstr))
        if not self._rk:
            raise EmbeddedClusterError(f"cannot create librdkafka handle: {errstr.value.decode()}")
        self._mc = self._lib.rd_kafka_mock_cluster_new(self._rk, brokers)
        if not self._mc:
            self._lib.rd_kafka_destroy(self._rk)
            raise EmbeddedClusterError("librdkafka refused to start a mock cluster")
        self.brokers = brokers
        self.bootstrap: str = self._lib.rd_kafka_mock_cluster_bootstraps(self._mc).decode()
        # Consumer groups form quickly in tests and demos.
        self._lib.rd_kafka_mock_group_initial_rebalance_delay_ms(self._mc, 0)
        for spec in topics:
            self.create_topic(spec.name, spec.partitions)

    # -- topics -----------------------------------------------------------
    def create_topic(self, name: str, partitions: int = 3, replication: int = 1) -> None:
        self._check_open()
        err = self._lib.rd_kafka_mock_topic_create(
            self._mc, name.encode(), partitions, min(replication, self.brokers)
        )
        self._raise_for(err, f"create topic {name}")

    def set_partition_leader(self, topic: str, partition: int, broker_id: int) -> None:
        self._check_open()
        err = self._lib.rd_kafka_mock_partition_set_leader(self._mc, topic.encode(), partition, broker_id)
        self._raise_for(err, f"set leader of {topic}[{partition}]")

    # -- faults -----------------------------------------------------------
    def broker_down(self, broker_id: int = 1) -> None:
        """Close the broker's connections and refuse new ones until broker_up()."""
        self._check_open()
        self._raise_for(self._lib.rd_kafka_mock_broker_set_down(self._mc, broker_id), "broker down")

    def broker_up(self, broker_id: int = 1) -> None:
        self._check_open()
        self._raise_for(self._lib.rd_kafka_mock_broker_set_up(self._mc, broker_id), "broker up")

    def set_rtt(self, broker_id: int, rtt_ms: int) -> None:
        """Delay every response of the broker by rtt_ms."""
        self._check_open()
        err = self._lib.rd_kafka_mock_broker_set_rtt(self._mc, broker_id, rtt_ms)
        self._raise_for(err, "set rtt")

    def push_request_errors(self, api_key: int, errors: Sequence[int]) -> None:
        """The next len(errors) requests with this Kafka API key fail with these error codes."""
        self._check_open()
        arr = (ctypes.c_int * len(errors))(*errors)
        self._lib.rd_kafka_mock_push_request_errors_array(self._mc, api_key, len(errors), arr)

    def clear_request_errors(self, api_key: int) -> None:
        self._check_open()
        self._lib.rd_kafka_mock_clear_request_errors(self._mc, api_key)

    # -- lifecycle --------------------------------------------------------
    def close(self) -> None:
        if self._mc:
            self._lib.rd_kafka_mock_cluster_destroy(self._mc)
            self._mc = None
        if self._rk:
            self._lib.rd_kafka_destroy(self._rk)
            self._rk = None

    def __enter__(self) -> EmbeddedCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if not self._mc:
            raise EmbeddedClusterError("the embedded cluster is closed")

    def _raise_for(self, err: int, what: str) -> None:
        if err:
            msg = self._lib.rd_kafka_err2str(err).decode()
            raise EmbeddedClusterError(f"{what}: {msg}")


# Kafka API keys, for push_request_errors().
API_PRODUCE = 0
API_FETCH = 1
API_LIST_OFFSETS = 2
API_METADATA = 3
API_OFFSET_COMMIT = 8
API_OFFSET_FETCH = 9
API_FIND_COORDINATOR = 10
API_JOIN_GROUP = 11
API_HEARTBEAT = 12
