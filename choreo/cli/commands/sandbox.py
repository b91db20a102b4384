"""`choreo sandbox`: an embedded Kafka-protocol cluster until Ctrl-C."""

from __future__ import annotations

import signal
import threading

import click

from choreo.cli.output import echo
from choreo.demo.embedded_cluster import EmbeddedCluster, TopicSpec


@click.command()
@click.option("--brokers", default=1, show_default=True, type=click.IntRange(1, 16))
@click.option(
    "--topic",
    "topics",
    multiple=True,
    metavar="NAME[:PARTITIONS]",
    help="Create a topic (repeatable). Other topics are auto-created on first produce.",
)
def sandbox(brokers: int, topics: tuple[str, ...]) -> None:
    """Start only the embedded cluster and print its bootstrap address."""
    specs = [TopicSpec.parse(t) for t in topics]
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with EmbeddedCluster(brokers, specs) as cluster:
        echo(cluster.bootstrap)
        echo(
            f"embedded cluster: {brokers} broker(s), topics: "
            f"{', '.join(f'{s.name}:{s.partitions}' for s in specs) or 'auto-created'}; "
            "Ctrl-C to stop",
            err=True,
        )
        while not stop.wait(0.5):
            pass
