"""`choreo trafficgen ...`: generated choreography traffic with its ground truth,
and the record-by-record scorer of what choreo reconstructs from it."""

from __future__ import annotations

from choreo.trafficgen.cli import cli as trafficgen

__all__ = ["trafficgen"]
