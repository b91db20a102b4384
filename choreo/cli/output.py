"""Everything the CLI prints goes through here, made safe for a terminal.

Command output carries record text (event types, services, identifier
values, file names): ``echo`` escapes every control character in it but our
own line breaks (choreo.core.safe_text), always -- output piped into a file
or a pager reaches a terminal later. ``echo_json`` does the same for JSON
without changing what the document says. tests/cli/test_output_paths.py
checks that no command prints any other way.
"""

from __future__ import annotations

import io
import sys
from typing import BinaryIO, TextIO, cast

import click
import orjson

from choreo.core.safe_text import json_for_terminal, terminal_lines, xml_for_terminal


def echo(text: str = "", *, err: bool = False, nl: bool = True, rewrite: bool = False) -> None:
    """Print ``text`` (stdout, or stderr with ``err``); ``rewrite`` starts with a
    carriage return, to redraw a progress line in place."""
    safe = terminal_lines(text)
    click.echo("\r" + safe if rewrite else safe, err=err, nl=nl)


def json_text(doc: object) -> str:
    """``doc`` as indented JSON text, safe for a terminal."""
    return json_for_terminal(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())


def echo_json(doc: object) -> None:
    click.echo(json_text(doc))


class _JsonLinesToTerminal(io.BufferedIOBase):
    """Writes UTF-8 JSON lines through ``json_for_terminal`` (same documents)."""

    def __init__(self, out: BinaryIO) -> None:
        super().__init__()
        self._out = out
        self._rest = b""  # an incomplete last line: a character may be cut in two

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self._rest + bytes(data)
        end = chunk.rfind(b"\n") + 1
        self._rest = chunk[end:]
        if end:
            self._out.write(_safe_json_bytes(chunk[:end]))
        return len(data)

    def flush(self) -> None:
        if self._rest:
            self._out.write(_safe_json_bytes(self._rest))
            self._rest = b""
        self._out.flush()


def _safe_json_bytes(data: bytes) -> bytes:
    text = data.decode("utf-8", "surrogateescape")
    return json_for_terminal(text).encode("utf-8", "surrogateescape")


class _XmlToTerminal(io.TextIOBase):
    """Writes XML text through ``xml_for_terminal`` (same document)."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self._out = out

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._out.write(xml_for_terminal(text))
        return len(text)

    def flush(self) -> None:
        self._out.flush()


def xml_stdout() -> TextIO:
    """Standard output for XML exports written to '-'."""
    return cast(TextIO, _XmlToTerminal(sys.stdout))


def json_lines_stdout() -> BinaryIO:
    """Standard output for JSON lines (exports written to '-'): what record
    text a terminal would act on is escaped, the documents stay the same."""
    return cast(BinaryIO, _JsonLinesToTerminal(sys.stdout.buffer))
