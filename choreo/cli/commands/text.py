"""Text from records made safe for a terminal."""

from __future__ import annotations


def printable(text: str, limit: int = 80) -> str:
    """Control characters escaped (no terminal escape sequence gets through), long text cut."""
    safe = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text[:limit])
    return safe + ("…" if len(text) > limit else "")
