"""The one-sentence explanation of a stuck instance."""

from __future__ import annotations

from choreo.core.timefmt import duration


def _types(names: list[str]) -> str:
    if not names:
        return "a next step"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def explanation(
    *,
    reason: str,
    last_type: str,
    last_service: str,
    expected: list[str],
    service: str | None,
    silent_ms: int,
    within_ms: int,
    overdue_ms: int,
    p99_ms: float | None,
    k: float,
    timeout_ms: int | None,
    trigger: tuple[str, int, int] | None,
    group: str | None,
    state: str | None,
    lag: int | None,
    committed: int | None,
    quiet: tuple[int, int] | None = None,
) -> str:
    """One sentence an on-call engineer can act on."""
    who = f" from {service}" if service else ""
    if reason == "branch-missing":
        head = f"Fan-out branch missing: {_types(expected)}{who} never reported"
    elif reason == "compensation-unfinished":
        head = f"Compensation unfinished after {last_type} ({last_service}): expected {_types(expected)}{who}"
    else:
        head = f"Stuck after {last_type} ({last_service}): expected {_types(expected)}{who}"
    if reason == "timeout" and timeout_ms is not None:
        budget = f"the workflow timeout of {duration(timeout_ms)}"
    elif p99_ms is not None and abs(within_ms - k * p99_ms) <= 1:
        budget = f"{duration(within_ms)} ({k:g} x learned p99 {duration(p99_ms)})"
    elif p99_ms is not None:
        # k x p99 is below the min_overdue floor: say which one applied.
        budget = f"{duration(within_ms)} (min_overdue; learned p99 {duration(p99_ms)})"
    else:
        budget = duration(within_ms)
    text = f"{head}; waited {duration(silent_ms)}, expected within {budget}"
    if reason != "service-silent":
        text += f", overdue by {duration(overdue_ms)}"
    if quiet is not None and service:
        text += (
            f"; {service} has emitted nothing for {duration(quiet[0])}, "
            f"with {quiet[1]} instances overdue waiting on it"
        )
    if trigger is not None and group is not None and state is not None:
        where = f"{trigger[0]}[{trigger[1]}]@{trigger[2]}"
        if state == "consumed-no-reaction":
            text += f"; group {group} consumed {where} (committed {committed}) but did not react"
        elif state == "lagging":
            lag_text = f"group lag {lag}" if lag is not None else "no committed offset"
            text += f"; group {group} has not consumed {where} yet ({lag_text})"
        else:
            text += f"; no committed offsets known for group {group}"
    return text + "."
