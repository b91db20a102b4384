"""`choreo export ...`: diagrams (Graphviz), traces (OpenTelemetry), event logs (XES, OCEL 2.0).

Other parts add their own subcommands to this group (e.g. `export events`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from choreo.cli.commands import export_events
from choreo.cli.commands.derived import log_options, reconstructed
from choreo.cli.output import echo, json_lines_stdout, xml_stdout
from choreo.core.errors import InputError
from choreo.reconstruct.export import dot_render
from choreo.reconstruct.export.filenames import safe_name
from choreo.reconstruct.export.ocel import FORMATS as OCEL_FORMATS
from choreo.reconstruct.export.selection import InstanceFilter
from choreo.reconstruct.query.records import STATUS_ORDER

F = TypeVar("F", bound=Callable[..., object])


def _output_option(help_text: str) -> Callable[[F], F]:
    return click.option("-o", "--output", "output", type=click.Path(dir_okay=False), help=help_text)


_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(dot_render.FORMATS),
    default=None,
    help="Output format; default from the file suffix, else svg when Graphviz is installed, else dot.",
)


def emit_diagram(source: str, output: str | None, fmt: str | None, default_stem: str) -> None:
    """Write a diagram as asked; say where it went and whether ``dot`` was missing."""
    if output == "-":
        if fmt not in (None, "dot"):
            raise InputError("only DOT can be written to stdout (-o -); give a file name for images")
        echo(source, nl=False)
        return
    wanted = dot_render.format_for(Path(output) if output else None, fmt)
    path = Path(output) if output else Path(f"{default_stem}.{wanted}")
    done = dot_render.write(source, path, wanted)
    if done.fell_back:
        echo(
            f"Graphviz 'dot' is not installed: wrote DOT to {done.path.resolve()} "
            f"instead of {wanted.upper()} "
            "(install Graphviz, e.g. `apt install graphviz`, then run again or `dot -T"
            f"{wanted} {done.path}`)",
            err=True,
        )
    else:
        echo(f"wrote {done.path.resolve()}", err=True)


@click.group()
def export() -> None:
    """Export diagrams, traces and event logs from the store."""


@export.command("workflow")
@click.argument("name", required=False)
@click.option(
    "--min-share",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Hide edges taken by fewer than this share of the workflow's instances (e.g. 0.05).",
)
@_output_option("File to write (default workflow[-NAME].svg or .dot); '-' for DOT on stdout.")
@_format_option
@log_options
def export_workflow(
    name: str | None,
    min_share: float,
    output: str | None,
    fmt: str | None,
    dbs: tuple[str, ...],
    out: str | None,
    config_path: str | None,
    now_text: str | None,
) -> None:
    """The discovered workflow NAME (default: all) as a Graphviz diagram."""
    from choreo.reconstruct.export.dot_workflow import workflow_dot

    with reconstructed(dbs, out, config_path, now_text) as lg:
        source = workflow_dot(lg.store, name, min_share=min_share)
    emit_diagram(source, output, fmt, "workflow" if name is None else f"workflow-{safe_name(name)}")


@export.command("instance")
@click.argument("instance")
@_output_option("File to write (default instance-ID.svg or .dot); '-' for DOT on stdout.")
@_format_option
@log_options
def export_instance(
    instance: str,
    output: str | None,
    fmt: str | None,
    dbs: tuple[str, ...],
    out: str | None,
    config_path: str | None,
    now_text: str | None,
) -> None:
    """One instance's causal graph; INSTANCE is its id, label, an identifier
    value (4711) or name=value. Several matches: the most recent one."""
    from choreo.reconstruct.export.dot_instance import load_instance, resolve_instance, view_dot

    with reconstructed(dbs, out, config_path, now_text) as lg:
        iid, others = resolve_instance(lg.store, instance)
        view = load_instance(lg.store, iid)
    if others:
        more = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
        echo(f"{instance!r} also matches {more}; exporting the most recent, {iid}", err=True)
    emit_diagram(view_dot(view), output, fmt, f"instance-{safe_name(view.instance_id)}")


@export.command("services")
@_output_option("File to write (default services.svg or .dot); '-' for DOT on stdout.")
@_format_option
@log_options
def export_services(
    output: str | None,
    fmt: str | None,
    dbs: tuple[str, ...],
    out: str | None,
    config_path: str | None,
    now_text: str | None,
) -> None:
    """The service map: who emits which event types to whom."""
    from choreo.reconstruct.export.dot_services import services_dot

    with reconstructed(dbs, out, config_path, now_text) as lg:
        source = services_dot(lg.store, lg.config)
    emit_diagram(source, output, fmt, "services")


_status_option = click.option(
    "--status", type=click.Choice([s.value for s in STATUS_ORDER]), help="Only instances with this status."
)
_workflow_option = click.option("--workflow", help="Only instances of this workflow.")


def _header(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, value = v.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--header {v!r} is not NAME=VALUE")
        out[name.strip()] = value
    return out


@export.command("otel")
@_status_option
@_workflow_option
@_output_option("OTLP/JSON Lines file to write (default traces.otlp.jsonl); '-' for stdout.")
@click.option("--endpoint", help="Send over OTLP/HTTP instead, e.g. http://localhost:4318 (Jaeger, Tempo).")
@click.option("-H", "--header", "headers", multiple=True, help="HTTP header NAME=VALUE for --endpoint.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds per request to --endpoint, retries included.",
)
@log_options
def export_otel(
    status: str | None,
    workflow: str | None,
    output: str | None,
    endpoint: str | None,
    headers: tuple[str, ...],
    timeout: float,
    dbs: tuple[str, ...],
    out: str | None,
    config_path: str | None,
    now_text: str | None,
) -> None:
    """Instances as OpenTelemetry traces: one trace per instance, one span per step."""
    from choreo.reconstruct.export.otel import TraceBuilder
    from choreo.reconstruct.export.otel_output import send, traces_url, write_file, write_stream

    if endpoint is not None and output is not None:
        raise InputError("give either --endpoint or --output, not both")
    extra = _header(headers)
    if endpoint is not None:
        traces_url(endpoint)  # a bad URL is a usage error before any work
    flt = InstanceFilter(status, workflow)
    with reconstructed(dbs, out, config_path, now_text) as lg:
        flt.check(lg.store)
        pages = TraceBuilder(lg.store, lg.config).pages(flt)
        if endpoint is not None:
            stats = send(pages, endpoint, headers=extra, timeout=timeout)
            where = traces_url(endpoint)
        else:
            if output == "-":
                stdout = json_lines_stdout()
                stats = write_stream(pages, stdout)
                stdout.flush()
                where = "stdout"
            else:
                target = Path(output or "traces.otlp.jsonl")
                stats = write_file(pages, target)
                where = str(target.resolve())
    echo(f"{stats.traces} traces, {stats.spans} spans -> {where}", err=True)


@export.command("xes")
@_status_option
@_workflow_option
@_output_option("XES file to write (default choreo.xes); '-' for stdout.")
@log_options
def export_xes_cmd(
    status: str | None,
    workflow: str | None,
    output: str | None,
    dbs: tuple[str, ...],
    out: str | None,
    config_path: str | None,
    now_text: str | None,
) -> None:
    """The event log in IEEE XES for process-mining tools (ProM, pm4py, Disco)."""
    from choreo.reconstruct.export.xes import export_xes, write_xes

    flt = InstanceFilter(status, workflow)
    with reconstructed(dbs, out, config_path, now_text) as lg:
        if output == "-":
            stats = write_xes(lg.store, xml_stdout(), flt)
            where = "stdout"
        else:
            path = Path(output or "choreo.xes")
            stats = export_xes(lg.store, path, flt)
            where = str(path.resolve())
    echo(f"{stats.cases} cases, {stats.events} events -> {where}", err=True)


@export.command("ocel")
@_status_option
@_workflow_option
@_output_option("File to write (default choreo.jsonocel, .xmlocel or .sqlite as --format says).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(OCEL_FORMATS),
    default=None,
    help="OCEL 2.0 format; default from the suffix (.jsonocel/.json, .xmlocel/.xml, .sqlite/.db), else json.",
)
@log_options
def export_ocel_cmd(
    status: str | None,
    workflow: str | None,
    output: str | None,
    fmt: str | None,
    dbs: tuple[str, ...],
    out: str | None,
    config_path: str | None,
    now_text: str | None,
) -> None:
    """The object-centric event log (OCEL 2.0) for pm4py, ocpa or Celonis: events
    related to the orders, payments, shipments... they carry, and to their instance."""
    from choreo.reconstruct.export.ocel import DEFAULT_FILES, export_ocel, format_for

    if output == "-":
        raise InputError("the OCEL log is validated after writing: give a file name, not -")
    wanted = format_for(Path(output) if output else None, fmt)
    path = Path(output or DEFAULT_FILES[wanted])
    with reconstructed(dbs, out, config_path, now_text) as lg:
        stats = export_ocel(lg.store, path, wanted, InstanceFilter(status, workflow))
    echo(f"{stats.summary()} -> {path} (OCEL 2.0 {stats.format}, validated)", err=True)


# Raw events as choreo JSONL: written next to the importer that reads them back.
export.add_command(export_events.events)
