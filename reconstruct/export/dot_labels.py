"""DOT labels for the exports (durations and times: reconstruct.timefmt)."""

from __future__ import annotations

from typing import cast

import graphviz


def label(*lines: str) -> str:
    """A DOT label from lines of user text: backslashes and <...> lose their
    special meaning (an event type must never become an HTML label)."""
    return cast(str, graphviz.nohtml("\\n".join(graphviz.escape(line) for line in lines)))
