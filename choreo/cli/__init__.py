"""The command line: the top floor. It wires the collector, the engine, the
query layer, the dashboard and the demo together; nothing imports it."""
