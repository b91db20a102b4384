"""How choreo's stuck list compares with the simulator's ground truth, saga
by saga: the demo's closing line (found / true / false / missed).

A choreo instance stands for the true saga most of whose records it holds;
a listed instance standing for a truly stuck saga is a true find, any other
listed instance a false alarm, and a truly stuck saga whose instance is not
listed is missed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from choreo.core.store import Store


@dataclass(frozen=True)
class StuckCheck:
    found: int  # instances choreo lists as stuck
    true: int  # of them, standing for a truly stuck saga
    false: int  # of them, standing for none
    missed: int  # truly stuck sagas not listed
    known: int  # truly stuck sagas

    def line(self, truth_file: str) -> str:
        return (
            f"stuck: choreo found {self.found}, {self.true} truly stuck and {self.false} false; "
            f"missed {self.missed} of the {self.known} the simulator knows (ground truth: {truth_file})"
        )


def check_stuck(store: Store, truth: Mapping[str, Any]) -> StuckCheck:
    where = {
        (str(t), int(p), int(o)): str(i)
        for i, t, p, o in store.query('SELECT instance_id, topic, partition, "offset" FROM instance_events')
    }
    listed = {str(r[0]) for r in store.query("SELECT instance_id FROM stuck")}
    true_holders: set[str] = set()
    known = missed = 0
    for inst in truth.get("instances", []):
        if inst.get("outcome") != "stuck":
            continue
        known += 1
        coords = ((str(e["topic"]), int(e["partition"] or 0), int(e["offset"] or 0)) for e in inst["events"])
        held = Counter(h for c in coords if (h := where.get(c)) is not None)
        holder = held.most_common(1)[0][0] if held else None
        if holder is not None and holder in listed:
            true_holders.add(holder)
        else:
            missed += 1
    true = len(listed & true_holders)
    return StuckCheck(found=len(listed), true=true, false=len(listed) - true, missed=missed, known=known)
