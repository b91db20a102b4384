"""Keys typed right after `/`, before the search box has the focus.

A terminal hands over a quick typist's keys (or a paste) in one read: the
app forwards `/` and the text after it to the table that has the focus
before `/` has opened or focused the search box, and the table would take
the text for commands (`o` sorts, `g` jumps) or drop it. Kept here in the
order they came, they become the start of the search text once the box has
the focus.
"""

from __future__ import annotations

import time

from textual import events

# A `/` that led to no search box (it cannot, on these screens) stops keeping keys after this.
_GIVE_UP_S = 2.0


class TypeAhead:
    def __init__(self) -> None:
        self._text: str | None = None
        self._since = 0.0

    def on_key(self, event: events.Key, search_key: bool) -> bool:
        """Look at a key as the app receives it; True when it was kept for the
        search box (the app handles it no further). ``search_key``: this key
        opens the search on the current screen (`/` outside a text box)."""
        if self._text is not None and time.monotonic() - self._since > _GIVE_UP_S:
            self._text = None
        if self._text is not None and event.is_printable and event.character:
            self._text += event.character
            return True
        if search_key:
            self._text, self._since = "", time.monotonic()
        return False

    def take(self) -> str:
        """What was typed ahead (the search box has the focus now: keys go to it)."""
        text, self._text = self._text or "", None
        return text
