"""Exporters: Graphviz diagrams, OpenTelemetry traces, XES and OCEL event logs."""
