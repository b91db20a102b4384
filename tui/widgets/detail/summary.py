"""The instance's header lines and, for a stuck one, the explanation."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from tui.data.format import count, duration, timestamp
from tui.data.models import InstanceDetail, StuckInfo
from tui.widgets.common.status import status_text


def summary(d: InstanceDetail) -> RenderableType:
    i = d.instance
    head = Text()
    head.append(i.label, style="bold")
    head.append("  ")
    head.append_text(status_text(i.status))
    head.append(f"  workflow {i.workflow}", style="")
    facts = Text(
        f"{timestamp(i.start_ms)} UTC · took {duration(i.duration_ms)} · {count(i.n_events)} events",
        style="dim",
    )
    if d.now_ms is not None:
        facts.append(f" · last event {duration(d.now_ms - i.end_ms)} ago", style="dim")
    if i.n_duplicates:
        facts.append(f" · {i.n_duplicates} duplicate(s) D", style="yellow")
    if i.n_skewed:
        facts.append(f" · {i.n_skewed} clock-skewed ~", style="yellow")
    if len(d.events) < i.n_events + i.n_duplicates:
        facts.append(f" · showing the first {len(d.events):,} events", style="bold")
    return Group(head, facts)


def stuck_explanation(s: StuckInfo) -> RenderableType:
    """The explanation sentence, then the facts it rests on, one per line."""
    head = Text("! stuck: ", style="bold magenta")
    head.append(s.explanation, style="bold")
    lines: list[RenderableType] = [head]
    expected = ", ".join(s.expected_types) or "unknown"
    who = s.responsible_service or "unknown service"
    lines.append(Text(f"expected next: {expected} from {who} · reason: {s.reason}"))
    timing = f"silent {duration(s.silent_ms)}"
    if s.expected_within_ms is not None:
        timing += f", expected within {duration(s.expected_within_ms)}"
    if s.overdue_ms is not None:
        timing += f", overdue by {duration(s.overdue_ms)}"
    lines.append(Text(timing))
    if s.consumer_state is not None and s.consumer_state != "unknown":
        group = s.consumer_group or "its group"
        if s.consumer_state == "lagging":
            lag = f", lag {s.group_lag:,}" if s.group_lag is not None else ""
            lines.append(Text(f"consumer {group}: has not read the last event yet{lag}"))
        else:
            lines.append(Text(f"consumer {group}: read the last event and did not react"))
    return Group(*lines)
