"""The generator's knobs: one parameter per real-world condition, with
realistic defaults (what issue 12's held-out log had) and named adversarial
corners, each of which pushes one condition to its extreme.

Shares are probabilities in [0, 1]; ranges are ``(low, high)``; times are ms.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from choreo.core.errors import InputError

HOUR = 3_600_000
MINUTE = 60_000

Share = Annotated[float, Field(ge=0, le=1)]


def _ordered(r: tuple[float, float]) -> tuple[float, float]:
    if r[0] > r[1]:
        raise ValueError(f"range {r[0]}..{r[1]} is empty (low > high)")
    return r


def _ordered_int(r: tuple[int, int]) -> tuple[int, int]:
    if r[0] > r[1]:
        raise ValueError(f"range {r[0]}..{r[1]} is empty (low > high)")
    return r


Range = Annotated[tuple[float, float], AfterValidator(_ordered)]
IntRange = Annotated[tuple[int, int], AfterValidator(_ordered_int)]


class Knobs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # -- size and time ------------------------------------------------------
    seed: int = 23
    instances: int = Field(default=5000, ge=1, le=5_000_000, description="instances started, all workflows")
    workflows: int = Field(default=3, ge=1, le=50, description="random workflows (ignored with a spec)")
    duration_ms: int = Field(default=8 * HOUR, ge=10_000, description="the dump's window")
    retention_lead_ms: int = Field(
        default=20 * MINUTE, ge=0, description="traffic before the window, deleted by retention (cut starts)"
    )
    retention_skew_ms: int = Field(
        default=10 * MINUTE, ge=0, description="topics' retention differs: each is cut up to this much later"
    )

    # -- workflow shapes ------------------------------------------------------
    steps: IntRange = Field(default=(2, 5), description="sequential steps after the start")
    fanout_share: Share = Field(default=0.5, description="workflows with a parallel block")
    branches: IntRange = Field(default=(2, 4), description="branches of a parallel block")
    join_share: Share = Field(default=0.5, description="parallel blocks closed by a join step")
    loop_share: Share = Field(default=0.4, description="workflows with a retry/rework loop")
    loop_max: int = Field(default=4, ge=1, le=50, description="most iterations of a loop")
    bare_loop_share: Share = Field(
        default=0.5,
        description="loops repeating equal payloads without event id, 2x+ the redelivery delay apart",
    )
    lifecycle_share: Share = Field(default=0.15, description="activities with start+complete events")
    instant_share: Share = Field(default=0.3, description="lifecycle activities taking 0 ms (equal ts)")
    failure_share: Share = Field(default=0.6, description="sequential steps that may fail")
    failure_rate: Share = Field(default=0.08, description="probability a fallible step fails")
    alt_start_share: Share = Field(default=0.34, description="workflows with a minority second start type")
    alt_start_rate: Share = Field(default=0.15, description="share of instances using it")
    secondary_id_share: Share = Field(
        default=0.5, description="workflows with a service that knows only its own id"
    )
    shared_type_share: Share = Field(
        default=0.3, description="steps of shared services emitting one type for several workflows"
    )
    services: int = Field(default=0, ge=0, description="domain service pool size (0: 2 x workflows + 3)")
    shared_topic_share: Share = Field(default=0.2, description="services publishing to a shared bus topic")
    partitions: IntRange = Field(default=(1, 6), description="partitions per topic")

    # -- latencies ------------------------------------------------------------
    latency_median_ms: Range = Field(default=(45.0, 2500.0), description="median per fast step")
    latency_sigma: float = Field(default=0.8, ge=0, le=1.2, description="log-normal tail (cap e^3sigma)")
    slow_step_share: Share = Field(default=0.1, description="human/batch steps")
    slow_median_ms: Range = Field(default=(60_000.0, 1_200_000.0), description="median per slow step")

    # -- clocks -----------------------------------------------------------------
    skew_ms: IntRange = Field(default=(-420, 330), description="producer clock offset per host")
    replicas: IntRange = Field(default=(1, 1), description="hosts per service, each with its own clock")
    log_append_share: Share = Field(default=0.0, description="topics stamped by the broker (no skew)")

    # -- envelopes and headers --------------------------------------------------
    causation_header_share: Share = Field(default=0.2, description="services with a causation header")
    causation_payload_share: Share = Field(default=0.2, description="services with a causation field")
    event_id_share: Share = Field(default=0.7, description="services stamping an event id")
    cloudevents_binary_share: Share = Field(default=0.25, description="CloudEvents binary mode (ce_*)")
    cloudevents_structured_share: Share = Field(default=0.1, description="CloudEvents structured mode")
    traceparent_share: Share = Field(default=0.3, description="services propagating W3C traceparent")
    batch_trace_share: Share = Field(default=0.0, description="traced services sharing a trace per batch")
    service_named_share: Share = Field(default=0.8, description="services stating their own name")
    header_shape: Literal["array", "map", "mixed"] = Field(
        default="array", description="kcat header shape: array (1.x), map of lists, mixed per topic"
    )

    # -- identifiers ------------------------------------------------------------
    id_suffix: float = Field(default=0.45, ge=0, description="weight: orderId, order_id")
    id_unlike: float = Field(default=0.3, ge=0, description="weight: orderRef, reference, order_no")
    id_nested: float = Field(default=0.15, ge=0, description="weight: order.id, order.ref")
    id_key_only: float = Field(default=0.1, ge=0, description="weight: id only in the record key")
    numeric_id_share: Share = Field(default=0.2, description="entities with numeric id values")
    customers_per_instance: float = Field(
        default=0.15, gt=0, le=1, description="customer pool / instances (a trap attribute)"
    )
    tenants: int = Field(default=4, ge=1, description="tenant pool (a trap attribute)")
    key_by_customer_share: Share = Field(default=0.05, description="services keying records by customer")
    null_key_share: Share = Field(default=0.1, description="services producing null keys")

    # -- noise ------------------------------------------------------------------
    poison_per_10k: float = Field(default=13.0, ge=0, description="unparseable records per 10k")
    poison_keyed_share: Share = Field(default=0.5, description="poison under a real instance key")
    tombstone_rate: Share = Field(default=0.004, description="instances followed by a tombstone")
    truncated_rate: Share = Field(default=0.002, description="instances with a truncated JSON record")
    dup_rate: Share = Field(default=0.01, description="events re-sent at once (producer retry)")
    redelivery_rate: Share = Field(default=0.004, description="events republished minutes later")
    redelivery_delay_ms: Range = Field(default=(60_000.0, 900_000.0))

    # -- faults -----------------------------------------------------------------
    stall_rate: Share = Field(default=0.03, description="instances a service silently stops reacting to")
    outages: int = Field(default=1, ge=0, le=20, description="services down for a stretch, then back")
    outage_ms: Range = Field(default=(1.0 * HOUR, 3.0 * HOUR))
    outages_to_end: int = Field(default=0, ge=0, le=20, description="services down until the dump ends")

    def with_(self, **changes: Any) -> Knobs:
        try:
            return Knobs.model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            raise InputError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(x) for x in err["loc"]) or "knobs"
    msg = "unknown knob" if err["type"] == "extra_forbidden" else err["msg"]
    return f"knob {where}: {msg}"


def parse_knobs(data: dict[str, Any]) -> Knobs:
    try:
        return Knobs.model_validate(data)
    except ValidationError as exc:
        raise InputError(_one_line(exc)) from None


# Each corner pushes one condition of issue 12 to its extreme, alone.
CORNERS: dict[str, dict[str, Any]] = {
    # Control: no skew, every service links causes and stamps event ids, no noise or faults.
    "clean": {
        "bare_loop_share": 0.0,
        "skew_ms": (0, 0),
        "causation_payload_share": 1.0,
        "event_id_share": 1.0,
        "poison_per_10k": 0.0,
        "tombstone_rate": 0.0,
        "truncated_rate": 0.0,
        "dup_rate": 0.0,
        "redelivery_rate": 0.0,
        "stall_rate": 0.0,
        "outages": 0,
        "retention_lead_ms": 0,
    },
    # 1. Skewed clocks, nobody propagates a causation id, steps faster than the skew.
    "skew": {
        "skew_ms": (-2000, 1500),
        "causation_header_share": 0.0,
        "causation_payload_share": 0.0,
        "latency_median_ms": (45.0, 400.0),
        "replicas": (1, 3),
    },
    # 2. Rare noise: poison, tombstones, truncated JSON, late redeliveries.
    "noise": {
        "poison_per_10k": 150.0,
        "tombstone_rate": 0.05,
        "truncated_rate": 0.03,
        "redelivery_rate": 0.03,
        "dup_rate": 0.05,
    },
    # 3. Starts cut off by retention, a minority start type in every workflow.
    "retention": {
        "retention_lead_ms": 3 * HOUR,
        "retention_skew_ms": 2 * HOUR,
        "alt_start_share": 1.0,
        "alt_start_rate": 0.2,
    },
    # 4. Identifier names that do not look like ids; secondary ids everywhere.
    "names": {
        "id_suffix": 0.0,
        "id_unlike": 0.6,
        "id_nested": 0.3,
        "id_key_only": 0.1,
        "secondary_id_share": 1.0,
        "numeric_id_share": 0.5,
    },
    # 5. Loops, retries and lifecycle events everywhere.
    "loops": {"loop_share": 1.0, "loop_max": 6, "lifecycle_share": 0.6, "bare_loop_share": 1.0},
    # 6. Fan-out everywhere, branch services down for hours (one until the end).
    "fanout-outage": {
        "fanout_share": 1.0,
        "branches": (3, 5),
        "join_share": 0.5,
        "outages": 2,
        "outages_to_end": 1,
    },
    # Stuck at every step, including inside compensation.
    "stuck": {"stall_rate": 0.25, "failure_rate": 0.25},
    # A window shorter than the learned latencies (human steps of hours).
    "short-window": {
        "slow_step_share": 0.4,
        "slow_median_ms": (1.0 * HOUR, 4.0 * HOUR),
        "duration_ms": 10 * HOUR,
    },
    # Shared attributes that merge instances: few customers and tenants, keys by customer, batch traces.
    "traps": {
        "customers_per_instance": 0.02,
        "tenants": 2,
        "key_by_customer_share": 0.3,
        "traceparent_share": 0.7,
        "batch_trace_share": 0.5,
    },
    # Every service in CloudEvents binary mode with W3C traceparent.
    "cloudevents": {"cloudevents_binary_share": 1.0, "traceparent_share": 1.0},
}


def corner(name: str, base: Knobs | None = None) -> Knobs:
    if name not in CORNERS:
        raise InputError(f"no corner {name!r}: choose from {', '.join(CORNERS)}")
    return (base or Knobs()).with_(**CORNERS[name])
