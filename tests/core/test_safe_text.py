"""choreo.core.safe_text: record text made safe for a terminal and for markup."""

from __future__ import annotations

import logging

import orjson

from choreo.core.logsetup import SafeFormatter
from choreo.core.safe_text import (
    for_markup,
    for_terminal,
    json_for_terminal,
    terminal_lines,
    xml_for_terminal,
)
from tests.support.hostile import EVIL, raw_controls


def test_for_terminal_escapes_every_control_visibly() -> None:
    out = for_terminal(f"a{EVIL}\n\t\udcff")
    assert raw_controls(out) == [] and "\n" not in out and "\t" not in out
    assert out.startswith("a\\x1b[2J\\x1b]0;pwned\\x07") and out.endswith("\\n\\t\\udcff")


def test_terminal_lines_keeps_line_breaks_only() -> None:
    assert terminal_lines(f"one{EVIL}\ntwo\tthree\r") == for_terminal(f"one{EVIL}") + "\ntwo\tthree\\r"


def test_for_markup_removes_what_xml_cannot_carry() -> None:
    out = for_markup("x\x00\x1b\x07\ufffe\uffff")
    assert out == "x\\x00\\x1b\\x07\\ufffe\\uffff"


def test_json_for_terminal_means_the_same() -> None:
    doc = {"v": f"a{EVIL}\u2028\x85"}
    text = json_for_terminal(orjson.dumps(doc).decode())
    assert raw_controls(text) == [] and "\u2028" not in text
    assert orjson.loads(text) == doc


def test_log_lines_are_made_safe() -> None:
    record = logging.LogRecord("choreo.x", logging.WARNING, __file__, 1, "bad %s", (EVIL,), None)
    assert raw_controls(SafeFormatter("%(message)s").format(record)) == []


def test_xml_for_terminal_means_the_same() -> None:
    import xml.etree.ElementTree as ET

    doc = '<a v="x\x9b\u202e\x7f">t\u2028</a>'
    text = xml_for_terminal(doc)
    assert raw_controls(text) == [] and "\u2028" not in text
    assert ET.tostring(ET.fromstring(text)) == ET.tostring(ET.fromstring(doc))
