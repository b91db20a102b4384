"""The choreo.toml that describes the example choreographies: which consumer
group each service runs as and what it reads (for "has the responsible
service even read the last event?"), and the declared shape of each workflow.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable

from choreo.core.config import ChoreoConfig
from choreo.demo.runtime import Choreography


def _list(items: Iterable[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def config_toml(choreographies: Iterable[Choreography], *, compressed_time: bool = False) -> str:
    """choreo.toml text for these choreographies.

    ``compressed_time``: the live demo runs ten simulated minutes in seconds,
    so "much longer than usual" must be measured in seconds, not the default
    half minute.
    """
    chors = list(choreographies)
    lines = [
        "# choreo.toml for the example choreographies (choreo/examples), written by",
        "# `choreo demo` and scripts/make_fixtures.py. Services run as consumer",
        "# groups of the same name.",
        "",
    ]
    if compressed_time:
        lines += [
            "[reconstruct]",
            "# The demo compresses time about 150x: a step that usually takes a",
            "# fraction of a second is overdue after a second or two.",
            "min_overdue = 1.0",
            "",
        ]
    for c in chors:
        o = c.outcomes
        lines.append(f"[workflows.{c.workflow}]")
        lines.append(f"start = {_list([c.start_type])}")
        if o.terminal:
            lines.append(f"terminal = {_list(o.terminal)}")
        if o.failure:
            lines.append(f"failure = {_list(o.failure)}")
        if o.compensation:
            lines.append(f"compensation = {_list(o.compensation)}")
        lines.append("")
    for c in chors:
        for s in c.services:
            lines.append(f'[services."{s.name}"]')
            lines.append(f'group = "{s.group}"')
            lines.append(f"consumes = {_list(s.inputs)}")
            lines.append("")
    return "\n".join(lines)


def demo_config(choreographies: Iterable[Choreography], *, compressed_time: bool = False) -> ChoreoConfig:
    text = config_toml(choreographies, compressed_time=compressed_time)
    return ChoreoConfig.model_validate(tomllib.loads(text))
