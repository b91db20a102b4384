"""Scores as text: one run with its failures, or several runs side by side
as the Markdown table of the README's "Reconstruction accuracy" section."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from choreo.trafficgen.score import Score


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    target: str
    kind: str  # pct | ratio | count | found


ROWS = (
    Row("exact", "true instances held exactly by one choreo instance", "100 %", "pct"),
    Row("workflows_found", "workflows found (truth: {workflows_true})", "= truth", "found"),
    Row("workflows_named_not_start", "workflows named after a type that starts none", "0", "count"),
    Row("status_right", "status right (of exact instances)", ">= 99.5 %", "pct"),
    Row("cause_before_effect", "instances whose every cause precedes its effect", ">= 99.5 %", "pct"),
    Row("stuck_recall", "stuck recall", ">= 0.99", "ratio"),
    Row("stuck_precision", "stuck precision", ">= 0.99", "ratio"),
    Row("stuck_right_expected", "stuck with the right expected event and service", ">= 0.99", "ratio"),
    Row("not_events_attached", "records that are not events attached to an instance", "0", "attached"),
    Row("duplicates_marked", "redelivered events collapsed (one copy unmarked)", "100 %", "pct"),
    Row("false_duplicates", "distinct events marked as duplicates", "0", "count"),
)


def cell(s: Score, row: Row) -> str:
    v = s.measures()[row.key]
    if row.kind == "found":
        return f"{s.workflows_found}"
    if row.kind == "attached":
        return f"{s.not_events_attached} of {s.not_events}"
    if v is None:
        return "n/a"
    if row.kind == "pct":
        return f"{100 * float(v):.1f} %"
    if row.kind == "ratio":
        return f"{float(v):.2f}"
    return f"{int(v)}"


def _label(row: Row, runs: Sequence[Score]) -> str:
    trues = {s.workflows_true for s in runs}
    return row.label.format(workflows_true=trues.pop() if len(trues) == 1 else "varies")


def markdown_table(runs: Sequence[tuple[str, Score]]) -> str:
    scores = [s for _, s in runs]
    head = "| measure | " + " | ".join(name for name, _ in runs) + " | target |"
    sep = "|---|" + "---:|" * len(runs) + "---:|"
    lines = [head, sep]
    for row in ROWS:
        lines.append(
            f"| {_label(row, scores)} | " + " | ".join(cell(s, row) for s in scores) + f" | {row.target} |"
        )
    sizes = " | ".join(
        f"{s.true_instances:,} / {s.unlinkable} / {s.stuck_true} / {s.ambiguous}" for s in scores
    )
    lines.append(
        f"| (true instances / unlinkable, not in exact / truly stuck / ambiguous, left out) | {sizes} | |"
    )
    return "\n".join(lines)


def text_report(s: Score, failures: int = 5) -> str:
    width = max(len(_label(r, [s])) for r in ROWS)
    lines = [f"{_label(r, [s]):<{width}}  {cell(s, r):>12}   target {r.target}" for r in ROWS]
    lines.append(
        f"({s.true_instances:,} true instances, {s.unlinkable} unlinkable left out of exact, "
        f"{s.stuck_true} truly stuck, {s.ambiguous} ambiguous left out; "
        f"{s.unlinked_events} event record(s) in no instance)"
    )
    if s.status_confusion:
        wrong = {k: v for k, v in s.status_confusion.items() if k.split("->")[0] != k.split("->")[1]}
        if wrong:
            lines.append("status truth->choreo: " + ", ".join(f"{k} {v}" for k, v in wrong.items()))
    if failures > 0:
        by: dict[str, list[str]] = {}
        for f in s.failures:
            by.setdefault(f.measure, []).append(f"  {f.subject}: {f.detail}")
        for measure, items in by.items():
            lines.append(
                f"{measure}: {len(items)} failure(s)" + (", first ones:" if len(items) > failures else ":")
            )
            lines.extend(items[:failures])
    return "\n".join(lines)
