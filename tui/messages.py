"""Messages the screens post to the app (navigation) and the app posts to the
screens (data changed). Screens never push each other; the app routes."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from choreo.tui.data.models import InstanceQuery


@dataclass
class OpenInstances(Message):
    """Show the instances table with this filter."""

    query: InstanceQuery
    focus_search: bool = False


@dataclass
class OpenStuck(Message):
    """Show the stuck instances grouped by cause."""

    workflow: str | None = None


@dataclass
class OpenInstance(Message):
    """Show one instance in detail."""

    instance_id: str


@dataclass
class OpenModel(Message):
    """Show a workflow's learned model."""

    workflow: str


@dataclass
class StoreChanged(Message):
    """New events were reconstructed (live); screens reload what they show."""

    version: int


@dataclass
class ExportFinished(Message):
    """A Graphviz export was written (or failed with ``error``)."""

    workflow: str
    path: str | None
    error: str | None = None
