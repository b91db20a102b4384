"""Behaviour every data screen shares: load in a worker thread, reload when
live data changed (now if visible, on return otherwise), Esc goes back."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable

from textual.binding import Binding
from textual.screen import Screen
from textual.worker import get_current_worker

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

    def deliver(self, callback: Callable[..., object], *args: object) -> None:
        """From a worker: run ``callback`` with ``args`` on the UI thread, unless
        the worker was cancelled or the app is closing (its screens are going)."""
        if get_current_worker().is_cancelled or getattr(self.app, "closing", False):
            return
        self.app.call_from_thread(callback, *args)

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

    def selected_saga(self) -> tuple[str, str] | None:
        """(instance id, label) of the instance under the cursor, on screens that list them."""
        return None

    def action_copy(self) -> None:
        """Copy the selected instance's id as people know it (the label's value)."""
        saga = self.selected_saga()
        if saga is None:
            self.notify("No instance selected", severity="warning")
            return
        iid, label = saga
        value = label.partition("=")[2] or label or iid
        self.app.copy_to_clipboard(value)
        self.notify(f"Copied {value}" + ("" if value == iid else f" (instance {iid})"), timeout=4)
