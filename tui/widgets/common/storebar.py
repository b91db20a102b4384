"""One line about the store (and, live, the collector) at the top of the overview."""

from __future__ import annotations

from rich.text import Text

from choreo.core.progress import CollectProgress
from choreo.tui.data.format import count, rate
from choreo.tui.data.models import Overview


def store_line(
    label: str,
    ov: Overview,
    live_source: str | None,
    progress: CollectProgress | None,
    note: str | None = None,
) -> Text:
    t = Text()
    if live_source is not None:
        t.append(" LIVE ", style="bold reverse green")
        t.append(f" {live_source} ")
        if progress is not None:
            if not progress.connected:
                t.append(" cluster unreachable, retrying ", style="bold reverse red")
            t.append(f"· {rate(progress.rate)} ")
            if progress.lag is not None:
                t.append(f"· lag {count(progress.lag)} ")
        elif note is not None:
            t.append(f"· {note} ")
        else:
            t.append("· connecting… ")
        t.append("· ")
    t.append(label, style="bold")
    t.append(f" · {count(ov.events)} events · {count(ov.instances)} instances · ")
    t.append(f"{count(ov.stuck_total)} stuck", style="bold magenta" if ov.stuck_total else "")
    if ov.stitched_few and ov.stitched_share is not None:
        # Said out loud: an overview of unlinked events looks like a healthy one otherwise.
        t.append(" · ")
        t.append(
            f" only {ov.stitched_share:.0%} of events stitched: see `choreo keys` ", style="bold reverse red"
        )
    if ov.as_of is not None:
        t.append(f" · {ov.as_of.describe()}", style="dim")
    return t
