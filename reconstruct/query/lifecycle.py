"""The lifecycle transition of an event as recorded (the XES standard's
``lifecycle:transition``): where it is read from and the order of the
standard transitions. Shared by the engine (an activity's start and
complete stamped at the same instant) and the XES export."""

from __future__ import annotations

# Payload fields that carry the transition, in order of preference (JSON paths).
LIFECYCLE_PATHS = (
    '$."lifecycle:transition"',
    "$.lifecycle",
    "$.lifecycleTransition",
    "$.lifecycle_transition",
)

# The standard transitions in the order one activity goes through them.
PHASES = {
    "schedule": 0,
    "assign": 1,
    "reassign": 1,
    "start": 2,
    "suspend": 3,
    "resume": 4,
    "complete": 6,
    "autoskip": 6,
    "manualskip": 6,
    "withdraw": 6,
    "ate_abort": 7,
    "pi_abort": 7,
}
UNKNOWN_PHASE = 5  # no transition recorded, or one the standard does not name
