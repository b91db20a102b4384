"""Statuses as text with a symbol and a colour: readable without colour."""

from __future__ import annotations

from rich.text import Text

_LOOK: dict[str, tuple[str, str]] = {
    "completed": ("✓", "green"),
    "failed": ("✗", "red"),
    "compensated": ("↺", "yellow"),
    "running": ("▸", "cyan"),
    "stuck": ("!", "bold magenta"),
}


def status_style(status: str) -> str:
    return _LOOK.get(status, ("?", ""))[1]


def status_text(status: str) -> Text:
    """``✓ completed``, ``! stuck``: the word is always there, colour only helps."""
    symbol, style = _LOOK.get(status, ("?", ""))
    return Text(f"{symbol} {status}", style=style)


def count_text(n: int, status: str) -> Text:
    """A count in a status column; non-zero stuck and failed counts stand out."""
    if n == 0:
        return Text("0", style="dim", justify="right")
    style = status_style(status) if status in ("stuck", "failed") else ""
    suffix = " !" if status == "stuck" else ""
    return Text(f"{n:,}{suffix}", style=style, justify="right")
