"""The instance as lanes per service on one shared time axis.

Each event is a bar in its service's lane, from the moment its cause was
emitted to its own emission: the bar is how long that service took to react,
the space between bars is where the saga waited. A stuck instance's
responsible service gets a dotted "waiting" tail to the end of the axis.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from tui.data.format import duration
from tui.data.models import EventView, InstanceDetail

LANE_LABEL = 18
MARK_EVENT = "●"
MARK_DUPLICATE = "D"
MARK_SKEW = "~"


@dataclass(frozen=True, slots=True)
class Lane:
    service: str
    cells: list[tuple[str, str]]  # (character, style) per column of the track


def lanes_of(events: tuple[EventView, ...]) -> list[str]:
    """Services in order of their first event."""
    seen: dict[str, None] = {}
    for e in events:
        seen.setdefault(e.service, None)
    return list(seen)


def layout(detail: InstanceDetail, width: int, selected_seq: int | None) -> tuple[list[Lane], int, int]:
    """Lanes of ``width`` columns; returns (lanes, t0, t1) of the time axis."""
    events = detail.events
    services = lanes_of(events)
    t0 = min(e.adj_ts_ms for e in events)
    t1 = max(e.adj_ts_ms for e in events)
    span = max(1, t1 - t0)
    by_seq = {e.seq: e for e in events}

    def col(ts: int) -> int:
        return min(width - 1, max(0, round((ts - t0) * (width - 1) / span)))

    grid = {s: [(" ", "")] * width for s in services}
    for e in events:
        if e.duplicate_of_seq is not None:
            continue
        parent = by_seq.get(e.parent_seq) if e.parent_seq is not None else None
        row = grid[e.service]
        end = col(e.adj_ts_ms)
        if parent is not None:
            for c in range(col(parent.adj_ts_ms), end):
                if row[c][0] == " ":
                    row[c] = ("━", "cyan")
    for e in events:
        row = grid[e.service]
        c = col(e.adj_ts_ms)
        if e.duplicate_of_seq is not None:
            ch, style = MARK_DUPLICATE, "yellow"
        elif e.skew_ms:
            ch, style = MARK_SKEW, "bold yellow"
        else:
            ch, style = MARK_EVENT, "bold"
        if selected_seq is not None and e.seq == selected_seq:
            style += " reverse"
        row[c] = (ch, style)
    stuck = detail.stuck
    if stuck is not None and stuck.responsible_service is not None:
        waiting = stuck.responsible_service
        if waiting not in grid:
            grid[waiting] = [(" ", "")] * width
            services.append(waiting)
        row = grid[waiting]
        start = col(t1) + 1
        for c in range(start, width):
            row[c] = ("┄", "magenta")
        if start < width:
            row[width - 1] = ("?", "bold magenta")
    return [Lane(s, grid[s]) for s in services], t0, t1


def axis(width: int, span_ms: int) -> Text:
    """``0s`` at the left, the total at the right, a middle tick between."""
    line = ["─"] * width
    for c in (0, width // 2, width - 1):
        line[c] = "┼"
    t = Text(" " * LANE_LABEL + "".join(line), style="dim")
    labels = Text(" " * LANE_LABEL)
    left, mid, right = "0", duration(span_ms / 2), duration(span_ms)
    gap1 = max(1, width // 2 - len(left) - len(mid) // 2)
    gap2 = max(1, width - len(left) - gap1 - len(mid) - len(right))
    labels.append(left + " " * gap1 + mid + " " * gap2 + right, style="dim")
    return Text("\n").join([t, labels])


class Timeline(Widget):
    """Renders an InstanceDetail's lanes; ``selected_seq`` is highlighted."""

    DEFAULT_CSS = """
    Timeline { height: auto; }
    """

    selected_seq: reactive[int | None] = reactive(None)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: InstanceDetail | None = None

    def show(self, detail: InstanceDetail) -> None:
        self.detail = detail
        self.refresh(layout=True)

    def render(self) -> RenderableType:
        d = self.detail
        if d is None or not d.events:
            return Text("no events", style="dim")
        width = max(10, self.size.width - LANE_LABEL - 1)
        lanes, t0, t1 = layout(d, width, self.selected_seq)
        lines: list[RenderableType] = []
        for lane in lanes:
            label = lane.service if len(lane.service) < LANE_LABEL else lane.service[: LANE_LABEL - 2] + "…"
            t = Text(f"{label:<{LANE_LABEL - 1}} ", style="bold")
            for ch, style in lane.cells:
                t.append(ch, style=style)
            lines.append(t)
        lines.append(axis(width, t1 - t0))
        legend = Text(
            f"{MARK_EVENT} event  ━ reaction time  {MARK_DUPLICATE} duplicate  {MARK_SKEW} skew adjusted",
            style="dim",
            no_wrap=True,
            overflow="ellipsis",
        )
        if d.stuck is not None:
            legend.append("  ┄? waiting", style="dim magenta")
        lines.append(legend)
        return Group(*lines)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self.detail is None or not self.detail.events:
            return 1
        n = len(lanes_of(self.detail.events))
        stuck = self.detail.stuck
        if stuck is not None and stuck.responsible_service not in (None, *lanes_of(self.detail.events)):
            n += 1
        return n + 3
