"""Subcommands. Each module defines one click command (or group); keep them
thin: parse options, call into collector/ or reconstruct/, print."""

from __future__ import annotations

import importlib

import click

# module name -> attribute holding the click command. Imported lazily so that
# `choreo --help` does not import Textual, pyarrow and friends twice over.
_REGISTRY: list[tuple[str, str]] = [
    ("collect", "collect"),
    ("demo", "demo"),
    ("import_", "import_"),
    ("keys", "keys"),
    ("reconstruct", "reconstruct_cmd"),
    ("sandbox", "sandbox"),
    ("show", "show"),
    ("status", "status"),
    ("stuck", "stuck"),
    ("export", "export"),
    ("report", "report"),
    ("tail", "tail"),
    ("tui", "tui"),
]


def COMMANDS() -> list[click.Command]:
    out = []
    for module, attr in _REGISTRY:
        mod = importlib.import_module(f"choreo.commands.{module}")
        out.append(getattr(mod, attr))
    return out
