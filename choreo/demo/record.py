"""Record a simulated run as a fixture: a ``kcat -C -J`` dump made by the real
kcat binary from the embedded cluster, its ground truth, and a choreo.toml.

Deterministic: the same scenario gives byte-identical files (the simulation
fixes contents, timestamps, partitions and offsets; the dump's lines are
put in topic, partition, offset order, since kcat interleaves partitions as
they arrive).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from choreo.demo.embedded_cluster import EmbeddedCluster
from choreo.demo.faults import DemoError
from choreo.demo.scenario import PARTITIONS, Scenario
from choreo.demo.services_toml import config_toml
from choreo.demo.sim_driver import simulate, write_to_cluster
from choreo.demo.truth import write_truth

DUMP_NAME = "dump.kcat.jsonl"
TRUTH_NAME = "truth.json"
CONFIG_NAME = "choreo.toml"

# kcat -J always starts a line with these fields, in this order.
_COORDS = re.compile(rb'^\{"topic":"[^"]*","partition":(\d+),"offset":(\d+),')


@dataclass(frozen=True)
class Recorded:
    dump: Path
    truth: Path
    config: Path
    records: int


def kcat_dump(bootstrap: str, topics: list[str], kcat: str = "kcat") -> bytes:
    """Every record of ``topics`` as kcat -C -J lines, in topic, partition, offset order."""
    exe = shutil.which(kcat)
    if exe is None:
        raise DemoError(f"{kcat} is not installed (Debian/Ubuntu: apt-get install kcat)")
    out: list[bytes] = []
    for topic in topics:
        proc = subprocess.run(
            [exe, "-b", bootstrap, "-C", "-J", "-t", topic, "-o", "beginning", "-e", "-q"],
            capture_output=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise DemoError(f"kcat failed on topic {topic}: {err[-1] if err else proc.returncode}")
        lines = [ln for ln in proc.stdout.split(b"\n") if ln]

        def order(line: bytes) -> tuple[int, int]:
            m = _COORDS.match(line)
            if m is None:
                raise DemoError(f"unexpected kcat output line: {line[:80]!r}")
            return int(m.group(1)), int(m.group(2))

        out += sorted(lines, key=order)
    return b"".join(line + b"\n" for line in out)


def record_fixture(scenario: Scenario, out_dir: str | Path, kcat: str = "kcat") -> Recorded:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = simulate(scenario)
    topics = scenario.topics()
    with EmbeddedCluster(1) as cluster:
        for t in topics:
            cluster.create_topic(t, PARTITIONS)
        write_to_cluster(result, cluster.bootstrap)
        dump = kcat_dump(cluster.bootstrap, topics, kcat)
    truth = result.truth_json()
    lines = dump.count(b"\n")
    if lines != truth["counts"]["records"]:
        raise DemoError(f"kcat dumped {lines} records, the simulation produced {truth['counts']['records']}")
    paths = Recorded(out / DUMP_NAME, out / TRUTH_NAME, out / CONFIG_NAME, lines)
    paths.dump.write_bytes(dump)
    write_truth(paths.truth, truth)
    paths.config.write_text(config_toml(result.choreographies), encoding="utf-8")
    return paths
