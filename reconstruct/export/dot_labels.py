"""DOT labels for the exports (durations and times: reconstruct.timefmt)."""

from __future__ import annotations

from typing import cast

import graphviz

from choreo.core.safe_text import for_markup


def label(*lines: str) -> str:
    """A DOT label from lines of user text: backslashes and <...> lose their
    special meaning (an event type must never become an HTML label), and
    control characters (a NUL stops ``dot``; ESC or BEL make SVG that is not
    XML) are shown as escapes."""
    return cast(str, graphviz.nohtml("\\n".join(graphviz.escape(for_markup(line)) for line in lines)))
