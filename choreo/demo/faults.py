"""Fault knobs: each produces a known outcome that the ground truth records.

- ``decline_rate``: payment declined -> OrderRejected (failed).
- ``stockout_rate``: inventory unavailable after payment -> PaymentRefunded ->
  OrderCancelled (compensated).
- ``reject_rate``: moderation rejects a video (failed).
- ``stalls``: a service stops reacting from a point of the run on: it still
  consumes and commits, but emits nothing (stuck sagas, "consumed, no reaction").
- ``refund_stall_rate``: the payment service never issues a refund it owes
  (a compensation that never completes).
- ``slow``: a service takes this long per message (simulated ms), so its
  consumer group lags behind.
- ``dup_rate``: a service publishes an event twice (a retried publish): the
  same event stored at two offsets.
- ``skew``: a service's clock is off by this many (simulated) ms, so its
  events can be stamped before their cause.
- ``poison``: this many records that are not JSON events (text, binary,
  empty, invalid UTF-8) written by a misbehaving producer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from choreo.core.errors import ChoreoError


class DemoError(ChoreoError):
    title = "demo"


@dataclass(frozen=True)
class Stall:
    service: str
    at: float  # fraction of the run's instances after which the service goes silent


@dataclass(frozen=True)
class FaultPlan:
    decline_rate: float = 0.0
    stockout_rate: float = 0.0
    reject_rate: float = 0.0
    stalls: tuple[Stall, ...] = ()
    refund_stall_rate: float = 0.0
    slow: Mapping[str, int] = field(default_factory=dict)
    dup_rate: float = 0.0
    skew: Mapping[str, int] = field(default_factory=dict)
    poison: int = 0

    def stall_of(self, service: str) -> Stall | None:
        for s in self.stalls:
            if s.service == service:
                return s
        return None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["slow"] = dict(self.slow)
        d["skew"] = dict(self.skew)
        d["stalls"] = [asdict(s) for s in self.stalls]
        return d

    def only_for(self, services: Iterable[str]) -> FaultPlan:
        """This plan without the service knobs for services not in ``services`` (not run)."""
        keep = set(services)
        return replace(
            self,
            stalls=tuple(s for s in self.stalls if s.service in keep),
            slow={k: v for k, v in self.slow.items() if k in keep},
            skew={k: v for k, v in self.skew.items() if k in keep},
        )

    def validate(self, services: Iterable[str]) -> None:
        known = set(services)
        for name, rate in (
            ("decline rate", self.decline_rate),
            ("stock-out rate", self.stockout_rate),
            ("reject rate", self.reject_rate),
            ("refund stall rate", self.refund_stall_rate),
            ("duplicate rate", self.dup_rate),
        ):
            if not 0.0 <= rate <= 1.0:
                raise DemoError(f"{name} must be between 0 and 1, got {rate}")
        named = [s.service for s in self.stalls] + list(self.slow) + list(self.skew)
        for svc in named:
            if svc not in known:
                raise DemoError(f"no example service named {svc!r} (services: {', '.join(sorted(known))})")
        for s in self.stalls:
            if not 0.0 <= s.at <= 1.0:
                raise DemoError(f"stall point for {s.service} must be between 0 and 1, got {s.at}")
        for svc, ms in self.slow.items():
            if ms <= 0:
                raise DemoError(f"slow time for {svc} must be positive, got {ms}")
        if self.poison < 0:
            raise DemoError(f"poison count must not be negative, got {self.poison}")


NO_FAULTS = FaultPlan()

# What `choreo demo` runs unless told otherwise: every knob turned a little.
DEFAULT_MIX = FaultPlan(
    decline_rate=0.1,
    stockout_rate=0.12,
    reject_rate=0.1,
    stalls=(Stall("carrier-service", 0.75), Stall("recommendation-service", 0.85)),
    refund_stall_rate=0.4,
    slow={"transcoder": 4000},
    dup_rate=0.03,
    # Well past the usual step latency, so its events are stamped before their causes
    # also in the live demo, where Kafka's own milliseconds are not compressed.
    skew={"inventory-service": -8000},
    poison=6,
)


def parse_stall(text: str) -> Stall:
    """``SERVICE`` or ``SERVICE:FRACTION`` (default 0.75)."""
    name, _, at = text.partition(":")
    return Stall(name, _number(at, 0.75, text, "a fraction between 0 and 1"))


def parse_service_ms(text: str, default: int | None, what: str) -> tuple[str, int]:
    """``SERVICE:MS`` (or ``SERVICE`` when there is a default)."""
    name, _, ms = text.partition(":")
    if not ms and default is None:
        raise DemoError(f"{what} {text!r}: want SERVICE:MILLISECONDS")
    value = _number(ms, float(default or 0), text, "milliseconds")
    return name, int(value)


def _number(text: str, default: float, spec: str, want: str) -> float:
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise DemoError(f"{spec!r}: {text!r} is not a number ({want})") from None
