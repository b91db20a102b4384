"""The instance's header lines and, for a stuck one, the explanation."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from choreo.reconstruct.query.records import StuckInfo
from choreo.tui.data.format import count, duration, timestamp
from choreo.tui.data.models import DetailView
from choreo.tui.widgets.common.status import status_text


def summary(view: DetailView) -> RenderableType:
    d = view.detail
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
    if view.now_ms is not None:
        facts.append(f" · last event {duration(view.now_ms - i.end_ms)} ago", style="dim")
    if i.n_duplicates:
        facts.append(f" · {i.n_duplicates} duplicate(s) D", style="yellow")
    if i.n_skewed:
        facts.append(f" · {i.n_skewed} clock-skewed ~", style="yellow")
    return Group(head, facts)


def stuck_explanation(s: StuckInfo) -> RenderableType:
    """The explanation sentence, then the facts it rests on."""
    head = Text("! stuck: ", style="bold magenta")
    head.append(s.explanation, style="bold")
    facts = Text(
        f"next: {', '.join(s.expected_types) or 'unknown'} · from: {s.responsible_service or 'unknown'}"
    )
    if s.overdue_ms is not None:
        facts.append(f" · overdue {duration(s.overdue_ms)}", style="bold")
    lines: list[RenderableType] = [head, facts]
    said = s.consumer_group is not None and s.consumer_group in s.explanation
    if s.consumer_state is not None and s.consumer_state != "unknown" and not said:
        group = s.consumer_group or "its consumer group"
        if s.consumer_state == "lagging":
            lag = f" (lag {s.group_lag:,})" if s.group_lag is not None else ""
            lines.append(Text(f"consumer {group} has not read the last event yet{lag}", style="bold"))
        else:
            lines.append(Text(f"consumer {group} read the last event and did not react", style="bold"))
    return Group(*lines)
