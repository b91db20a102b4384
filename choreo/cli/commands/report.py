"""`choreo report`: a post-mortem summary as Markdown, JSON or HTML."""

from __future__ import annotations

from pathlib import Path

import click

from choreo.cli.commands.derived import log_options, reconstructed
from choreo.cli.output import echo, json_text
from choreo.core.errors import ExportError
from choreo.reconstruct.export.filenames import safe_name


@click.command()
@click.option("--format", "fmt", type=click.Choice(["md", "json", "html"]), default="md", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: stdout).")
@log_options
def report(
    fmt: str,
    output: str | None,
    dbs: tuple[str, ...],
    out: str | None,
    config_path: str | None,
    now_text: str | None,
) -> None:
    """Workflows, status counts, variants, slowest steps and stuck instances.

    HTML embeds each workflow's diagram when Graphviz is installed; Markdown
    written to a file links diagrams written next to it.
    """
    from choreo.reconstruct.export import dot_render
    from choreo.reconstruct.export.dot_workflow import workflow_dot
    from choreo.reconstruct.report.build import build_report
    from choreo.reconstruct.report.render import to_html, to_markdown

    diagrams: dict[str, str] = {}
    with reconstructed(dbs, out, config_path, now_text) as lg:
        store = lg.store
        data = build_report(store, as_of=lg.as_of)
        names = [wf["name"] for wf in data["workflows"]]
        if fmt == "html" and dot_render.dot_available():
            for name in names:
                diagrams[name] = dot_render.to_image(workflow_dot(store, name), "svg").decode("utf-8")
        elif fmt == "md" and output is not None and dot_render.dot_available():
            out_path = Path(output)
            for name in names:
                svg = out_path.with_name(f"{out_path.stem}-{safe_name(name)}.svg")
                dot_render.write(workflow_dot(store, name), svg, "svg")
                diagrams[name] = svg.name
    if fmt == "json":
        text = json_text(data) + "\n"
    elif fmt == "html":
        text = to_html(data, diagrams)
    else:
        text = to_markdown(data, diagrams)
    if output is None:
        echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"cannot write {output}: {exc.strerror or exc}") from None
    echo(f"wrote {Path(output).resolve()}", err=True)
