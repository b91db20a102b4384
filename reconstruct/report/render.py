"""Rendering a report (reconstruct.report.build_report) as Markdown or HTML.

``diagrams`` maps a workflow name to its diagram: for Markdown a path to an
image file (linked), for HTML the SVG text (inlined). Without a diagram
Markdown omits it and HTML says why.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from choreo.core.safe_text import for_markup, terminal_lines
from choreo.core.timefmt import duration

_SVG_START = re.compile(r"<svg\b")


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _status_line(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{s} {n}" for s, n in counts.items()) or "none"


def _as_of(report: Mapping[str, Any]) -> str:
    if report.get("as_of_text"):
        return f" {report['as_of_text']}"
    return f" as of {report['as_of']}" if report.get("as_of") else ""


def _stuck_line(s: Mapping[str, Any]) -> str:
    return f"{s['label']} ({s['instance_id']}): {s['explanation']}"


def to_markdown(report: Mapping[str, Any], diagrams: Mapping[str, str] | None = None) -> str:
    diagrams = diagrams or {}
    out = [
        "# choreo report",
        "",
        f"Store `{report['store']}`, generated {report['generated_at']}: {report['events']} events"
        + (f" from {report['first_event']} to {report['last_event']}." if report["first_event"] else "."),
        "",
        f"Instances by status{_as_of(report)}: {_status_line(report['status_counts'])}.",
    ]
    for wf in report["workflows"]:
        out += ["", f"## Workflow {wf['name']} ({wf['instances']} instances)", ""]
        out.append(f"Status: {_status_line(wf['status_counts'])}.")
        if wf["name"] in diagrams:
            out += ["", f"![{wf['name']} workflow]({diagrams[wf['name']]})"]
        if wf["variants"]:
            out += ["", "### Variants", "", "| # | path | count | share |", "|---|---|---:|---:|"]
            for v in wf["variants"]:
                path = " → ".join(v["path"]) + (f" → **{v['stuck']} stuck here**" if v["stuck"] else "")
                out.append(f"| {v['rank']} | {_cell(path)} | {v['count']} | {v['share']:.1%} |")
        if wf["slowest_steps"]:
            out += ["", "### Slowest steps (by p95)", ""]
            out += ["| from | to | count | p50 | p95 | p99 |", "|---|---|---:|---:|---:|---:|"]
            for s in wf["slowest_steps"]:
                out.append(
                    f"| {_cell(s['from'])} | {_cell(s['to'])} | {s['count']} | {duration(s['p50_ms'])} "
                    f"| {duration(s['p95_ms'])} | {duration(s['p99_ms'])} |"
                )
        if wf["stuck_total"]:
            out += [
                "",
                "### Where instances are stuck",
                "",
                "| after | whose move | waiting for | reason | instances |",
                "|---|---|---|---|---:|",
            ]
            for g in wf["stuck_by_step"]:
                waiting = ", ".join(g["expected_types"]) or "?"
                out.append(
                    f"| {_cell(g['last_type'])} | {_cell(g['responsible_service'] or '?')} "
                    f"| {_cell(waiting)} | {_cell(g['reason'])} | {g['count']} |"
                )
            out += ["", f"### Stuck instances ({len(wf['stuck'])} of {wf['stuck_total']} shown)", ""]
            out += [f"- {_cell(_stuck_line(s))}" for s in wf["stuck"]]
    # Record text with control characters must not reach a terminal that shows the file.
    return terminal_lines("\n".join(out) + "\n")


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.n { text-align: right; }
.diagram { overflow-x: auto; border: 1px solid #ddd; padding: 0.5em; }
.stuck { color: #a02020; }
"""


def _svg_body(svg: str) -> str:
    """SVG text without its XML prolog and doctype, ready to inline."""
    m = _SVG_START.search(svg)
    return svg[m.start() :] if m else ""


def to_html(report: Mapping[str, Any], diagrams: Mapping[str, str] | None = None) -> str:
    diagrams = diagrams or {}

    def e(text: str) -> str:
        return html.escape(for_markup(text))

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>choreo report</title>',
        f"<style>{_CSS}</style></head><body>",
        "<h1>choreo report</h1>",
        f"<p>Store <code>{e(report['store'])}</code>, generated {e(report['generated_at'])}: "
        f"{report['events']} events"
        + (
            f" from {e(report['first_event'])} to {e(report['last_event'])}.</p>"
            if report["first_event"]
            else ".</p>"
        ),
        f"<p>Instances by status{e(_as_of(report))}: {e(_status_line(report['status_counts']))}.</p>",
    ]
    for wf in report["workflows"]:
        parts.append(f"<h2>Workflow {e(wf['name'])} ({wf['instances']} instances)</h2>")
        parts.append(f"<p>Status: {e(_status_line(wf['status_counts']))}.</p>")
        svg = diagrams.get(wf["name"])
        if svg:
            parts.append(f'<div class="diagram">{_svg_body(svg)}</div>')
        else:
            parts.append("<p><em>No diagram: Graphviz's <code>dot</code> is not installed.</em></p>")
        if wf["variants"]:
            parts.append(
                "<h3>Variants</h3><table><tr><th>#</th><th>path</th><th>count</th><th>share</th></tr>"
            )
            for v in wf["variants"]:
                parts.append(
                    f"<tr><td class=n>{v['rank']}</td><td>{e(' → '.join(v['path']))}"
                    + (f" → <strong>{v['stuck']} stuck here</strong>" if v["stuck"] else "")
                    + "</td>"
                    f"<td class=n>{v['count']}</td><td class=n>{v['share']:.1%}</td></tr>"
                )
            parts.append("</table>")
        if wf["slowest_steps"]:
            parts.append(
                "<h3>Slowest steps (by p95)</h3><table><tr><th>from</th><th>to</th><th>count</th>"
                "<th>p50</th><th>p95</th><th>p99</th></tr>"
            )
            for s in wf["slowest_steps"]:
                parts.append(
                    f"<tr><td>{e(s['from'])}</td><td>{e(s['to'])}</td><td class=n>{s['count']}</td>"
                    f"<td class=n>{duration(s['p50_ms'])}</td><td class=n>{duration(s['p95_ms'])}</td>"
                    f"<td class=n>{duration(s['p99_ms'])}</td></tr>"
                )
            parts.append("</table>")
        if wf["stuck_total"]:
            parts.append(
                "<h3>Where instances are stuck</h3><table><tr><th>after</th><th>whose move</th>"
                "<th>waiting for</th><th>reason</th><th>instances</th></tr>"
            )
            for g in wf["stuck_by_step"]:
                parts.append(
                    f"<tr><td>{e(g['last_type'])}</td><td>{e(g['responsible_service'] or '?')}</td>"
                    f"<td>{e(', '.join(g['expected_types']) or '?')}</td>"
                    f"<td>{e(g['reason'])}</td><td class=n>{g['count']}</td></tr>"
                )
            parts.append("</table>")
            parts.append(f"<h3>Stuck instances ({len(wf['stuck'])} of {wf['stuck_total']} shown)</h3><ul>")
            parts += [f'<li class="stuck">{e(_stuck_line(s))}</li>' for s in wf["stuck"]]
            parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
