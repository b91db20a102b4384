"""The instance as lanes per service on one shared time axis.

Each event is a bar in its service's lane, from the moment its cause was
emitted to its own emission: the bar is how long that service took to react,
the space between bars is where the saga waited. A stuck instance's
responsible service gets a dotted "waiting" tail to the end of the axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from choreo.reconstruct.query.records import TimelineEvent
from choreo.tui.data.format import duration
from choreo.tui.data.models import DetailView

LANE_LABEL = 18
MARK_EVENT = "●"
MARK_DUPLICATE = "D"
MARK_SKEW = "~"


TAIL = 12  # columns kept right of the events for a stuck instance's wait


@dataclass(frozen=True, slots=True)
class Lane:
    service: str
    cells: list[tuple[str, str]]  # (character, style) per column of the track


@dataclass(frozen=True, slots=True)
class Layout:
    lanes: list[Lane]
    t0: int
    t1: int
    track: int  # columns of the shared time axis; a stuck tail follows it


def lanes_of(events: Sequence[TimelineEvent]) -> list[str]:
    """Services in order of their first event."""
    seen: dict[str, None] = {}
    for e in events:
        seen.setdefault(e.service, None)
    return list(seen)


def layout(view: DetailView, width: int, selected_seq: int | None) -> Layout:
    """Lanes ``width`` columns wide, events placed on one shared time axis."""
    detail = view.detail
    events = detail.events
    stuck = detail.stuck
    services = lanes_of(events)
    tail = TAIL if stuck is not None and width > 3 * TAIL else 0
    track = width - tail
    t0 = min(e.adj_ts_ms for e in events)
    t1 = max(e.adj_ts_ms for e in events)
    span = max(1, t1 - t0)
    by_seq = {e.seq: e for e in events}

    def col(ts: int) -> int:
        return min(track - 1, max(0, round((ts - t0) * (track - 1) / span)))

    grid = {s: [(" ", "")] * width for s in services}
    previous: TimelineEvent | None = None
    for e in events:
        if e.duplicate_of_seq is not None:
            continue
        parent = by_seq.get(e.parent_seq) if e.parent_seq is not None else None
        # Without a causation link the event is placed by time: the span from
        # the event before it is drawn thin, a causal reaction thick.
        start, bar = (parent, ("━", "cyan")) if parent is not None else (previous, ("─", "dim cyan"))
        row = grid[e.service]
        if start is not None:
            for c in range(col(start.adj_ts_ms), col(e.adj_ts_ms)):
                if row[c][0] == " ":
                    row[c] = bar
        previous = e
    marks = {MARK_EVENT, MARK_DUPLICATE, MARK_SKEW}
    # Originals first: a redelivery lands on its original's column, and its D
    # goes beside the original's dot instead of over it.
    for e in sorted(events, key=lambda x: x.duplicate_of_seq is not None):
        row = grid[e.service]
        if e.duplicate_of_seq is not None:
            ch, style = MARK_DUPLICATE, "yellow"
        elif e.skew_ms:
            ch, style = MARK_SKEW, "bold yellow"
        else:
            ch, style = MARK_EVENT, "bold"
        if selected_seq is not None and e.seq == selected_seq:
            style += " reverse"
        c = col(e.adj_ts_ms)
        if e.duplicate_of_seq is not None:
            free = [x for x in range(c, track) if row[x][0] not in marks]
            free += [x for x in range(c - 1, -1, -1) if row[x][0] not in marks]
            if not free:
                continue
            c = min(free, key=lambda x: abs(x - c))
        row[c] = (ch, style)
    if tail and stuck is not None:
        # The service whose move it is waits from the last event to now.
        waiting = stuck.responsible_service or "(unknown service)"
        if waiting not in grid:
            grid[waiting] = [(" ", "")] * width
            services.append(waiting)
        row = grid[waiting]
        for c in range(col(t1) + 1, width - 1):
            row[c] = ("┄", "magenta")
        row[width - 1] = ("?", "bold magenta")
    return Layout([Lane(s, grid[s]) for s in services], t0, t1, track)


def axis(lay: Layout, width: int, silent_ms: int | None) -> Text:
    """``0`` at the left, the instance's span at the end of the track, and
    for a stuck instance how long it has been silent since."""
    track = lay.track
    line = ["─"] * width
    for c in (0, track // 2, track - 1):
        line[c] = "┼"
    t = Text(" " * LANE_LABEL + "".join(line), style="dim")
    span = lay.t1 - lay.t0
    left, mid, right = "0", duration(span / 2), duration(span)
    gap1 = max(1, track // 2 - len(left) - len(mid) // 2)
    gap2 = max(1, track - len(left) - gap1 - len(mid) - len(right))
    labels = Text(" " * LANE_LABEL)
    labels.append(left + " " * gap1 + mid + " " * gap2 + right, style="dim")
    if silent_ms is not None and width > track:
        labels.append(f" +{duration(silent_ms)}"[: width - track].rjust(width - track), style="magenta")
    return Text("\n").join([t, labels])


class Timeline(Widget):
    """Renders an instance's lanes; ``selected_seq`` is highlighted."""

    DEFAULT_CSS = """
    Timeline { height: auto; }
    """

    selected_seq: reactive[int | None] = reactive(None)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: DetailView | None = None

    def show(self, view: DetailView) -> None:
        self.view = view
        self.refresh(layout=True)

    def render(self) -> RenderableType:
        if self.view is None or not self.view.detail.events:
            return Text("no events", style="dim")
        width = max(10, self.size.width - LANE_LABEL - 1)
        d = self.view.detail
        lay = layout(self.view, width, self.selected_seq)
        lines: list[RenderableType] = []
        for lane in lay.lanes:
            label = lane.service if len(lane.service) < LANE_LABEL else lane.service[: LANE_LABEL - 2] + "…"
            t = Text(f"{label:<{LANE_LABEL - 1}} ", style="bold")
            for ch, style in lane.cells:
                t.append(ch, style=style)
            lines.append(t)
        lines.append(axis(lay, width, d.stuck.silent_ms if d.stuck is not None else None))
        legend = Text(
            f"{MARK_EVENT} event  ━ reaction to its cause  ─ placed by time  "
            f"{MARK_DUPLICATE} duplicate  {MARK_SKEW} skew",
            style="dim",
            no_wrap=True,
            overflow="ellipsis",
        )
        if d.stuck is not None:
            legend.append("  ┄? waiting", style="dim magenta")
        lines.append(legend)
        return Group(*lines)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self.view is None or not self.view.detail.events:
            return 1
        events = self.view.detail.events
        n = len(lanes_of(events))
        stuck = self.view.detail.stuck
        if stuck is not None and stuck.responsible_service not in (None, *lanes_of(events)):
            n += 1
        return n + 3
