"""``choreo.toml``: how identifiers and fields are extracted, and what is
declared about workflows and services. Every key is optional; defaults work on
common conventions. Unknown keys are errors (a typo should not be silently
ignored), reported as one line naming the key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from choreo.core.errors import ConfigError

DEFAULT_CONFIG = "choreo.toml"

# Durations are capped at ten years: beyond that they overflow the millisecond
# arithmetic they are used in, and mean "never" anyway.
MAX_SECONDS = 10 * 365 * 24 * 3600.0
MAX_FACTOR = 1000.0


class _Strict(BaseModel):
    # inf and nan are not numbers a setting can mean: refused like a typo.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _check_sources(specs: list[str]) -> list[str]:
    """``header:NAME``, ``payload:PATH``, ``key`` or ``topic``: checked when the
    config is loaded, by every command (not only those that extract)."""
    for spec in specs:
        kind, sep, name = spec.partition(":")
        if not ((kind in ("key", "topic") and not sep) or (kind in ("header", "payload") and name)):
            raise ValueError(f"{spec!r} is not a source (use header:NAME, payload:PATH, key or topic)")
    return specs


class ExtractConfig(_Strict):
    """Where event fields and identifiers come from.

    A *source* is ``header:NAME``, ``payload:PATH`` (dotted, e.g. ``order.id``)
    or ``key``. Lists are tried in order; the first present value wins. User
    lists are tried before the built-in conventions.
    """

    identifier_paths: list[str] = Field(default_factory=list)  # payload paths
    identifier_headers: list[str] = Field(default_factory=list)
    key_is_identifier: bool = True  # the record key, when it is short printable text
    auto_id_fields: bool = True  # payload fields named like ids: orderId, order_id, order.id
    max_depth: int = Field(default=4, ge=1, le=16)
    type_from: list[str] = Field(default_factory=list)
    service_from: list[str] = Field(default_factory=list)
    event_id_from: list[str] = Field(default_factory=list)
    causation_from: list[str] = Field(default_factory=list)
    time_from: list[str] = Field(default_factory=list)
    ignore_identifiers: list[str] = Field(default_factory=list)  # names never extracted

    _sources = field_validator("type_from", "service_from", "event_id_from", "causation_from", "time_from")(
        _check_sources
    )


class WorkflowConfig(_Strict):
    """What is declared about one workflow; declared facts override learned ones."""

    start: list[str] = Field(default_factory=list)
    terminal: list[str] = Field(default_factory=list)
    failure: list[str] = Field(default_factory=list)
    compensation: list[str] = Field(default_factory=list)
    steps: list[str] = Field(default_factory=list)  # expected event types, in order
    timeout: float | None = Field(default=None, gt=0, le=MAX_SECONDS)  # seconds of silence before stuck


class ServiceConfig(_Strict):
    group: str | None = None  # its Kafka consumer group
    consumes: list[str] = Field(default_factory=list)  # topics it reads


class ReconstructConfig(_Strict):
    stitch_include: list[str] = Field(default_factory=list)  # identifier names always used
    stitch_exclude: list[str] = Field(default_factory=list)  # never used for stitching
    stuck_factor: float = Field(default=5.0, gt=0, le=MAX_FACTOR)  # k x learned p99 of the next step
    min_overdue: float = Field(default=30.0, ge=0, le=MAX_SECONDS)  # seconds; floor for "much longer"
    default_timeout: float | None = Field(default=None, gt=0, le=MAX_SECONDS)
    # A name is a trap (not stitched through) when at least this share of
    # its values checked would merge several instances (a customer id).
    trap_share: float = Field(default=0.05, gt=0, le=1)
    # Seconds: two records alike in everything but their timestamp (no event
    # id) are one event delivered twice only when this close (and the
    # instance moved on in between); further apart they are distinct events.
    redelivery_window: float = Field(default=900.0, ge=0, le=MAX_SECONDS)
    # A fan-out branch counts as expected when it appears in at least this
    # share of the finished instances that reached its parent step.
    branch_share: float = Field(default=0.8, gt=0, le=1)
    # A producer's clock offset estimated beyond this many seconds is applied
    # only up to it (and reported): an offset that large is more likely a
    # misread than a clock.
    max_clock_offset: float = Field(default=600.0, gt=0)


class ImportConfig(_Strict):
    """`choreo import` of plain JSON lines (events without Kafka coordinates)."""

    topic: str | None = Field(default=None, min_length=1)  # default: the file's name
    time_field: str | None = Field(default=None, min_length=1)  # dotted path, e.g. "meta.occurredAt"


class ChoreoConfig(_Strict):
    extract: ExtractConfig = Field(default_factory=ExtractConfig)
    import_: ImportConfig = Field(default_factory=ImportConfig, alias="import")
    reconstruct: ReconstructConfig = Field(default_factory=ReconstructConfig)
    workflows: dict[str, WorkflowConfig] = Field(default_factory=dict)
    services: dict[str, ServiceConfig] = Field(default_factory=dict)


def load_config(path: str | Path | None = None) -> ChoreoConfig:
    """Load config from ``path``; with None, ./choreo.toml if present, else defaults."""
    if path is None:
        p = Path(DEFAULT_CONFIG)
        if not p.exists():
            return ChoreoConfig()
    else:
        p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {p}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p} is not valid TOML: {exc}") from None
    try:
        return ChoreoConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(x) for x in err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{p}: {key}: {msg}") from None
