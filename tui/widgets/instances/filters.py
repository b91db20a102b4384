"""The filter bar: workflow, status and the identifier search."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Select

from tui.data.models import STATUSES, InstanceQuery

SEARCH_PLACEHOLDER = "/ search: order id, shipment id, trace id, any identifier value"


class FilterBar(Horizontal):
    def __init__(self, query: InstanceQuery, workflows: list[str]) -> None:
        super().__init__(id="filters")
        self._query = query
        self._workflows = workflows

    def compose(self) -> ComposeResult:
        wf_options = [(w, w) for w in self._workflows]
        if self._query.workflow is not None and self._query.workflow not in self._workflows:
            wf_options.append((self._query.workflow, self._query.workflow))
        yield Select(
            wf_options,
            prompt="all workflows",
            value=self._query.workflow if self._query.workflow is not None else Select.NULL,
            id="workflow-filter",
        )
        yield Select(
            [(s, s) for s in STATUSES],
            prompt="any status",
            value=self._query.status if self._query.status is not None else Select.NULL,
            id="status-filter",
        )
        yield Input(value=self._query.search or "", placeholder=SEARCH_PLACEHOLDER, id="search")
