"""A small list to pick one value from (a workflow, a status); Esc cancels."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

ANY = "\x00any"  # the option that clears the filter


class PickScreen(ModalScreen[str | None]):
    """Dismisses with the chosen value, ANY for "no filter", None if cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PickScreen { align: center middle; }
    PickScreen OptionList { width: 40; height: auto; max-height: 16; border: round $accent; }
    """

    def __init__(self, title: str, any_label: str, values: list[str], current: str | None) -> None:
        super().__init__()
        self._title = title
        self._options = [Option(any_label, id=ANY), *(Option(v, id=v) for v in values)]
        self._current = current

    def compose(self) -> ComposeResult:
        yield OptionList(*self._options, id="pick")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.border_title = self._title
        ids = [o.id for o in self._options]
        options.highlighted = ids.index(self._current) if self._current in ids else 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
