"""Text from records made safe for where it is shown: a terminal, or markup
(DOT, SVG, XML, HTML).

Producers write what they like into event types, service names, keys and
identifier values. Shown raw, an ESC starts a terminal control sequence
(clear the screen, set the window title, OSC 8 links, OSC 52 clipboard
writes), a NUL stops Graphviz, and a BEL or ESC makes SVG that is not
well-formed XML. Every output path runs such text through one of the
functions below, always (not only when stdout is a terminal: output piped
to a file or a pager reaches a terminal later).

Unsafe characters become visible escapes (``\\x1b``, ``\\n``, ``\\u202e``), so
what a producer wrote stays readable and distinguishable:

- ``for_terminal(text)``: one field or one line; every control character
  (C0, DEL, C1), bidirectional-text controls (they reorder what is shown),
  line and paragraph separators and lone surrogates are escaped.
- ``terminal_lines(text)``: text made of lines (a report, a listing, DOT
  source): the same, but its line breaks and tabs are kept (harmless).
- ``for_markup(text)``: DOT labels, SVG, XML and HTML text: the same set plus
  the noncharacters XML 1.0 cannot carry (U+FFFE, U+FFFF). Escaping ``<``,
  ``&`` or quotes is the markup writer's job and happens after this.
- ``json_for_terminal(doc)``: JSON text (``--json``) shown on a terminal:
  JSON already escapes C0 controls; C1 controls, bidi controls and line
  separators are escaped as ``\\uXXXX`` too (the document means the same).
- ``xml_for_terminal(doc)``: XML text (whose writer already dealt with what
  XML cannot carry) shown on a terminal: DEL, C1, bidi controls and line
  separators become character references (the document means the same).
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL; bidi embeddings, overrides, isolates and marks; line
# and paragraph separators; the BOM/zero-width no-break space; lone surrogates
# (text decoded with surrogateescape carries raw bytes as those).
_OTHER = "\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff"
_TERMINAL = re.compile(f"[\x00-\x1f{_OTHER}]")
_TERMINAL_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHER}]")  # all but "\t" and "\n"
_MARKUP = re.compile(f"[\x00-\x1f{_OTHER}\ufffe\uffff]")
_IN_DOCUMENTS = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def for_terminal(text: str) -> str:
    """One field or line of record text, safe to print: controls shown as escapes."""
    return text if _TERMINAL.search(text) is None else _TERMINAL.sub(_escape, text)


def terminal_lines(text: str) -> str:
    """Multi-line text safe to print: line breaks kept, every other control escaped."""
    return text if _TERMINAL_LINES.search(text) is None else _TERMINAL_LINES.sub(_escape, text)


def for_markup(text: str) -> str:
    """Record text for a DOT label, SVG, XML or HTML: controls and XML's
    forbidden characters shown as escapes (markup escaping comes after)."""
    return text if _MARKUP.search(text) is None else _MARKUP.sub(_escape, text)


def _xml_escape(match: re.Match[str]) -> str:
    return f"&#x{ord(match.group()):X};"


def xml_for_terminal(doc: str) -> str:
    """XML text with character references for what a terminal would act on."""
    return doc if _IN_DOCUMENTS.search(doc) is None else _IN_DOCUMENTS.sub(_xml_escape, doc)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_for_terminal(doc: str) -> str:
    """JSON text whose strings carry no character a terminal acts on.

    The characters escaped here can only occur inside JSON strings, where
    ``\\uXXXX`` means the same character: the document's value is unchanged.
    """
    return doc if _IN_DOCUMENTS.search(doc) is None else _IN_DOCUMENTS.sub(_json_escape, doc)
