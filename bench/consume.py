"""What reading a backlog costs per record on the collector's consuming side,
without the store: confluent-kafka's ``consume()`` alone, the same with every
batch handed to the native core (decoding, extraction, Arrow columns), and
kcat -C -J to /dev/null for reference. CPU time of each reader's process.
It answers whether confluent-kafka's per-message objects are what limits
``choreo collect`` (and a consumer inside the native core would be worth
building).

    flock /tmp/choreo-bench.lock .venv/bin/python bench/consume.py --events 500000
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time

from ingest import fill
from workload import PARTITIONS, TOPICS

from choreo.demo.embedded_cluster import EmbeddedCluster

_READER = """
import gc, sys, time
from confluent_kafka import Consumer
gc.freeze(); gc.set_threshold(100_000, 50, 100)  # as `choreo collect` runs (choreo.core.gc_tuning)
n, mode = int(sys.argv[2]), sys.argv[3]
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": f"bench-{time.time_ns()}",
              "auto.offset.reset": "earliest", "enable.auto.commit": False,
              "queued.max.messages.kbytes": 16384, "fetch.wait.max.ms": 100})
c.subscribe(["^bench-.*"])
if mode == "native":
    from choreo.collector.batch import EventBatch
    from choreo.collector.extract import Extractor
    batch = EventBatch(Extractor(), "bench")
    assigned = {(t, p) for t in sys.argv[4].split(",") for p in range(int(sys.argv[5]))}
got = 0
started = None
while got < n:
    msgs = c.consume(num_messages=10_000, timeout=1.0)
    if msgs and started is None:
        started = time.process_time()
    if mode == "native":
        got += batch.add_messages(msgs, assigned, {}).taken
        if len(batch) >= 50_000:
            batch.tables()
    else:
        got += sum(1 for m in msgs if m.error() is None)
cpu = time.process_time() - (started or 0)
c.close()
print(cpu)
"""


def cpu_of(cmd: list[str]) -> tuple[float, str]:
    """Run a child to its end; its user+system CPU seconds and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=500_000)
    args = ap.parse_args()
    n = args.events
    kcat = shutil.which("kcat")
    if kcat is None:
        raise SystemExit("kcat is not installed (scripts/install-tools.sh); it is the reference")
    with EmbeddedCluster(1) as cluster:
        for t in TOPICS:
            cluster.create_topic(t, PARTITIONS)
        fill(cluster.bootstrap, n)
        rows = []
        for mode in ("consume", "native"):
            t = time.perf_counter()
            reader = [sys.executable, "-c", _READER, cluster.bootstrap, str(n), mode, ",".join(TOPICS)]
            total, out = cpu_of([*reader, str(PARTITIONS)])
            loop = float(out.strip())
            rows.append((mode, total, loop, time.perf_counter() - t))
        group = f"kcat-{time.time_ns()}"
        cmd = [kcat, "-C", "-J", "-q", "-e", "-b", cluster.bootstrap, "-G", group, *TOPICS]
        cmd += ["-X", "auto.offset.reset=earliest"]
        t = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        kcat_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        kcat_wall = time.perf_counter() - t
    print(f"{n:,} records; CPU microseconds per record (whole process / reading loop), wall seconds")
    print(f"  kcat -C -J > /dev/null              : {kcat_cpu / n * 1e6:6.2f}           {kcat_wall:6.1f} s")
    for mode, total, loop, wall in rows:
        what = "confluent-kafka consume() only" if mode == "consume" else "consume() + native add_messages"
        print(f"  {what:<36}: {total / n * 1e6:6.2f} / {loop / n * 1e6:5.2f}   {wall:6.1f} s")


if __name__ == "__main__":
    main()
