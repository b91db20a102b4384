"""The filter bar: one line saying what is filtered, and the search box."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Static

from choreo.tui.data.models import InstanceQuery

SEARCH_PLACEHOLDER = "/ filter as you type: part of an id or label, or any identifier value"


def filters_text(query: InstanceQuery) -> Text:
    t = Text(no_wrap=True)
    t.append("w", style="bold reverse")
    t.append(" workflow: ")
    t.append(query.workflow or "all", style="bold" if query.workflow else "")
    t.append("  ")
    t.append("f", style="bold reverse")
    t.append(" status: ")
    t.append(
        query.status or "any",
        style="bold magenta" if query.status == "stuck" else "bold" if query.status else "",
    )
    t.append("  ")
    return t


class FilterBar(Horizontal):
    DEFAULT_CSS = """
    FilterBar { height: 1; }
    FilterBar #filter-state { width: auto; }
    FilterBar #search { width: 1fr; height: 1; border: none; padding: 0 1; }
    """

    def __init__(self, query: InstanceQuery) -> None:
        super().__init__(id="filters")
        self._query = query

    def compose(self) -> ComposeResult:
        yield Static(filters_text(self._query), id="filter-state")
        yield Input(value=self._query.search or "", placeholder=SEARCH_PLACEHOLDER, id="search")

    def show(self, query: InstanceQuery) -> None:
        self.query_one("#filter-state", Static).update(filters_text(query))
