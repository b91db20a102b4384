"""Behaviour every data screen shares: load in a worker thread, reload when
live data changed (now if visible, on return otherwise), Esc goes back."""

from __future__ import annotations

from abc import abstractmethod

from textual.binding import Binding
from textual.screen import Screen

from choreo.tui.context import AppContext
from choreo.tui.data.models import InstanceQuery
from choreo.tui.messages import OpenInstances, StoreChanged


class DataScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("slash", "search", "Search"),
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.loaded_version = -1

    @abstractmethod
    def reload(self) -> None:
        """Start loading this screen's data (in a worker); every data screen has its own."""

    def on_mount(self) -> None:
        self.loaded_version = self.ctx.version
        self.reload()

    def on_screen_resume(self) -> None:
        if self.loaded_version != self.ctx.version:
            self.loaded_version = self.ctx.version
            self.reload()

    def on_store_changed(self, message: StoreChanged) -> None:
        self.loaded_version = message.version
        self.reload()

    def action_back(self) -> None:
        # The overview is the bottom of the stack; there is nothing behind it.
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def action_search(self) -> None:
        self.post_message(OpenInstances(InstanceQuery(), focus_search=True))
