"""One event in full: its causal chain, identifiers, headers and payload."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from choreo.core.schema import PAYLOAD_JSON
from choreo.reconstruct.query.records import InstanceDetail, TimelineEvent
from choreo.tui.data.format import duration, timestamp
from choreo.tui.data.json_view import JsonView
from choreo.tui.data.payload import header_value, pretty_payload


def causal_chain(detail: InstanceDetail, event: TimelineEvent) -> list[TimelineEvent]:
    """The event's ancestors, root first, then the event itself."""
    by_seq = {e.seq: e for e in detail.events}
    chain = [event]
    seen = {event.seq}
    while chain[0].parent_seq is not None and chain[0].parent_seq in by_seq:
        parent = by_seq[chain[0].parent_seq]
        if parent.seq in seen:  # defensive: a cycle would loop forever
            break
        seen.add(parent.seq)
        chain.insert(0, parent)
    return chain


def event_pane(
    detail: InstanceDetail, event: TimelineEvent, identifiers: list[tuple[str, str]] | None
) -> RenderableType:
    """The event in full, its payload first (it is what people look for; on
    a small terminal the rest scrolls). ``identifiers`` None: being fetched."""
    parts: list[RenderableType] = []
    title = Text(f"#{event.seq} {event.event_type}", style="bold")
    title.append(f"  by {event.service}")
    if event.duplicate_of_seq is not None:
        title.append(f"  D redelivery of #{event.duplicate_of_seq}", style="yellow")
    if event.skew_ms:
        title.append(f"  ~ skew {duration(event.skew_ms)}", style="bold yellow")
    parts.append(title)

    parts.append(Text(f"payload ({event.payload_kind})", style="bold underline"))
    body = pretty_payload(event.payload, event.payload_kind)
    parts.append(JsonView(body) if event.payload_kind == PAYLOAD_JSON else Text(body))

    facts = Text()
    facts.append("record   ", style="bold")
    facts.append(f"{event.topic}/{event.partition}@{event.offset}\n")
    facts.append("time     ", style="bold")
    facts.append(f"{timestamp(event.ts_ms)} UTC")
    if event.skew_ms:
        facts.append(f"  ~ adjusted by {duration(event.skew_ms)} (clock skew)", style="bold yellow")
    if event.duplicate_of_seq is not None:
        facts.append(f"\nD        redelivery of #{event.duplicate_of_seq}, counted once", style="yellow")
    for label, value in (
        ("event id", event.event_id),
        ("cause", event.causation_id),
        ("trace", event.trace_id),
    ):
        if value:
            facts.append(f"\n{label:<9}", style="bold")
            facts.append(value)
    if event.key is not None:
        facts.append("\nkey      ", style="bold")
        facts.append(header_value(event.key))
    parts.append(facts)

    parts.append(Text("identifiers", style="bold underline"))
    if identifiers is None:
        parts.append(Text("…", style="dim"))
    else:
        parts.append(Text("\n".join(f"{n} = {v}" for n, v in identifiers) or "(none)"))
    parts.append(Text(f"headers ({len(event.headers)})", style="bold underline"))
    if event.headers:
        parts.append(Text("\n".join(f"{n}: {header_value(v)}" for n, v in event.headers)))

    parts.append(Text("causal chain", style="bold underline"))
    chain = causal_chain(detail, event)
    for n, e in enumerate(chain):
        prefix = "  " * n + ("└─ " if n else "")
        style = "bold reverse" if e.seq == event.seq else ""
        parts.append(Text(f"{prefix}#{e.seq} {e.event_type} ({e.service})", style=style))
    children = [e for e in detail.events if e.parent_seq == event.seq]
    for c in children:
        indent = "  " * len(chain)
        after = duration(c.adj_ts_ms - event.adj_ts_ms)
        parts.append(Text(f"{indent}└─ #{c.seq} {c.event_type} ({c.service}) +{after}", style="dim"))
    if event.parent_seq is None and event.seq != detail.events[0].seq:
        parts.append(Text("no causation link: joined by a shared identifier, placed by time", style="dim"))
    return Group(*parts)
