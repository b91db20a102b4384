"""Everything the CLI prints goes through here, made safe for a terminal.

Command output carries record text (event types, services, identifier
values, file names): ``echo`` escapes every control character in it but our
own line breaks (choreo.core.safe_text), always -- output piped into a file
or a pager reaches a terminal later. ``echo_json`` does the same for JSON
without changing what the document says. tests/cli/test_output_paths.py
checks that no command prints any other way.
"""

from __future__ import annotations

import click
import orjson

from choreo.core.safe_text import json_for_terminal, terminal_lines


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
