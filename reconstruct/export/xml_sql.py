"""XML text from record data, escaped by DuckDB (vectorised, not per value in
Python): for the XES and OCEL XML exports."""

from __future__ import annotations

import re

# Characters XML 1.0 cannot carry, even escaped (an RE2 class for DuckDB).
_INVALID_XML = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
_NEEDS_ESCAPE = r"[&<>\"\x00-\x1F\x{FFFE}\x{FFFF}]"
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"))
# Kept (as character references) in attribute values, where a parser would
# otherwise normalise them to spaces.
_CONTROL_ESCAPES = ((10, "&#10;"), (13, "&#13;"), (9, "&#9;"))


def xml_text(column: str) -> str:
    """SQL for ``column`` as XML attribute or element text: markup escaped,
    characters XML cannot carry replaced by U+FFFD."""
    expr = f"regexp_replace({column}, '{_INVALID_XML}', '\ufffd', 'g')"
    for char, entity in _ESCAPES:
        expr = f"replace({expr}, '{char}', '{entity}')"
    for code, entity in _CONTROL_ESCAPES:
        expr = f"replace({expr}, chr({code}), '{entity}')"
    # Most values need no escaping: one match instead of eight replaces.
    return f"CASE WHEN regexp_matches({column}, '{_NEEDS_ESCAPE}') THEN {expr} ELSE {column} END"


_INVALID_XML_PY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPE_TABLE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
)


def xml_escape(text: str) -> str:
    """``xml_text`` in Python, for the few names written outside DuckDB: the
    same text after parsing."""
    return _INVALID_XML_PY.sub("\ufffd", text).translate(_ESCAPE_TABLE)
