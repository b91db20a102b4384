"""Pretty-printed JSON as a renderable that folds long lines inside the value,
never between a key and its value: ``"customerId": "cus-…`` stays on one line
and what does not fit continues below, indented under the value.

Rich's syntax highlighter wraps at spaces, which puts a long value on the
line after its key; on a 40-column pane that is most of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

_KEY_LINE = re.compile(r'^(\s*)("(?:[^"\\]|\\.)*")(: )(.*)$')
_STYLE_KEY = "bold cyan"
_STYLE_STRING = "green"
_STYLE_NUMBER = "magenta"
_STYLE_LITERAL = "italic yellow"
_STYLE_PUNCT = "dim"


def _value_style(value: str) -> str:
    v = value.rstrip(",")
    if v.startswith('"'):
        return _STYLE_STRING
    if v in ("true", "false", "null"):
        return _STYLE_LITERAL
    if v in ("{", "[", "}", "]", "{}", "[]"):
        return _STYLE_PUNCT
    return _STYLE_NUMBER


def _chunks(text: str, first: int, rest: int) -> Iterator[str]:
    """``text`` cut into a piece of ``first`` cells, then pieces of ``rest``."""
    yield text[:first]
    i = first
    while i < len(text):
        yield text[i : i + rest]
        i += rest


def fold_line(line: str, width: int) -> list[Text]:
    """One line of pretty JSON as one or more screen lines of ``width`` cells."""
    width = max(width, 8)
    m = _KEY_LINE.match(line)
    if m is None:
        indent = len(line) - len(line.lstrip(" "))
        body = line[indent:]
        head, key, sep = " " * indent, "", ""
    else:
        head, key, sep, body = m.group(1), m.group(2), m.group(3), m.group(4)
    prefix_len = len(head) + len(key) + len(sep)
    style = _value_style(body)
    if prefix_len + len(body) <= width:
        t = Text(head)
        t.append(key, style=_STYLE_KEY)
        t.append(sep)
        t.append(body, style=style)
        return [t]
    cont = min(len(head) + 2, width // 2)  # continuation indent
    if prefix_len >= width - 4:
        # The key itself does not fit: fold the whole line evenly.
        whole = head + key + sep + body
        return [Text(piece, style=style) for piece in _chunks(whole, width, width)]
    out = []
    for n, piece in enumerate(_chunks(body, width - prefix_len, width - cont)):
        if n == 0:
            t = Text(head)
            t.append(key, style=_STYLE_KEY)
            t.append(sep)
            t.append(piece, style=style)
        else:
            t = Text(" " * cont)
            t.append(piece, style=style)
        out.append(t)
    return out


class JsonView:
    """``text`` is JSON pretty-printed with one member per line (orjson's indent)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        for line in self.text.splitlines():
            yield from fold_line(line, width)
