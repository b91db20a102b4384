"""Import benchmark: `choreo import` against DuckDB's own read_json.

Writes a kcat -C -J dump of N realistic events (JSON payloads of about 300
bytes, 3 headers, 4 topics x 3 partitions, exactly the lines kcat writes),
then loads it (a) with DuckDB's ``read_json`` into a table of a fresh
database file -- the floor: parsing and storing with no extraction, no
primary keys -- and (b) with ``choreo import --no-reconstruct`` into a fresh
store. Each runs in its own process; prints both rates, the ratio and each
one's peak RSS (summed over its process tree). Repeated at a second size to
show that choreo's memory does not grow with the file.

    flock /tmp/choreo-bench.lock .venv/bin/python bench/import.py
    flock /tmp/choreo-bench.lock .venv/bin/python bench/import.py --events 200000 --compare 50000
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import psutil
from workload import PARTITIONS, TOPICS, event

T0 = 1_714_557_600_000  # 2024-05-01T10:00:00Z


def write_dump(path: Path, n: int) -> None:
    """N events as kcat -C -J lines (offsets per topic-partition, headers as kcat's flat array)."""
    next_offset = {(t, p): 0 for t in TOPICS for p in range(PARTITIONS)}
    tmp = path.with_suffix(".part")
    with tmp.open("wb") as out:
        lines = []
        for i in range(n):
            ev = event(i)
            partition = ev.order % PARTITIONS
            offset = next_offset[(ev.topic, partition)]
            next_offset[(ev.topic, partition)] = offset + 1
            record = {
                "topic": ev.topic,
                "partition": partition,
                "offset": offset,
                "tstype": "create",
                "ts": T0 + i,
                "broker": 1,
                # kcat's flat header array: name, value, name, value, ...
                "headers": [x for h in ev.headers for x in h],
                "key": ev.key,
                "payload": ev.payload,
            }
            lines.append(orjson.dumps(record))
            if len(lines) == 10_000:
                out.write(b"\n".join(lines) + b"\n")
                lines.clear()
        if lines:
            out.write(b"\n".join(lines) + b"\n")
    tmp.rename(path)


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    output: str


def _tree_rss(proc: psutil.Process) -> int:
    """RSS of a process and all its children."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # exited between listing and reading
            total += p.memory_info().rss
    return total


def timed(cmd: list[str]) -> Run:
    """Run a command; wall time and the peak RSS of its process tree (sampled every 50 ms)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        watched = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            try:
                peak = max(peak, _tree_rss(watched))
            except psutil.Error:
                break
            time.sleep(0.05)
        proc.wait()
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{err.read().decode()}")
        return Run(seconds, peak / 2**20, out.read().decode())


_DUCKDB = """
import duckdb, sys
con = duckdb.connect(sys.argv[2])
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE dump AS SELECT * FROM read_json(?, format='newline_delimited')", [sys.argv[1]])
print(con.execute("SELECT count(*) FROM dump").fetchone()[0])
"""


def measure(dump: Path, n: int, work: Path) -> tuple[Run, Run]:
    for f in work.glob("*.duckdb*"):
        f.unlink()
    ref = timed([sys.executable, "-c", _DUCKDB, str(dump), str(work / "duckdb.duckdb")])
    if int(ref.output.strip()) != n:
        sys.exit(f"duckdb read {ref.output.strip()} rows, expected {n}")
    imp = timed(
        [
            sys.executable, "-m", "choreo.cli", "import", "--no-reconstruct", "--no-progress",
            "--db", str(work / "choreo.duckdb"), str(dump),
        ]
    )  # fmt: skip
    if f"{n:,} records, {n:,} new" not in imp.output:
        sys.exit(f"choreo import did not store all {n} records:\n{imp.output}")
    return ref, imp


def report(n: int, size: int, ref: Run, imp: Run) -> float:
    ref_rate, imp_rate = n / ref.seconds, n / imp.seconds
    ratio = imp_rate / ref_rate
    print(f"{n:,} events, {size / 1e6:,.0f} MB kcat -J dump")
    for name, run, rate in (("duckdb read_json -> table", ref, ref_rate), ("choreo import", imp, imp_rate)):
        print(f"  {name:<26}: {run.seconds:7.2f} s {rate:10,.0f} events/s  peak RSS {run.peak_rss_mb:.0f} MB")
    print(f"  ratio choreo/duckdb       : {ratio:.2f}x  (target >= 1.0x)")
    return ratio


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--compare", type=int, default=5_000_000, help="second size, for peak RSS (0: skip)")
    ap.add_argument("--workdir", type=Path, default=None, help="keep dumps here between runs")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="choreo-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    rss: dict[int, float] = {}
    for n in [args.events] + ([args.compare] if args.compare else []):
        dump = work / f"kcat-{n}.json"
        if not dump.exists():
            t = time.perf_counter()
            write_dump(dump, n)
            print(f"(wrote {dump} in {time.perf_counter() - t:.0f} s)", file=sys.stderr)
        ref, imp = measure(dump, n, work)
        report(n, dump.stat().st_size, ref, imp)
        rss[n] = imp.peak_rss_mb
        if not args.workdir:
            dump.unlink()
    if len(rss) == 2:
        (a, ra), (b, rb) = sorted(rss.items())
        print(f"choreo peak RSS: {ra:.0f} MB at {a:,} events, {rb:.0f} MB at {b:,} events ({rb / ra:.2f}x)")
    for f in work.glob("*.duckdb*"):
        f.unlink()


if __name__ == "__main__":
    main()
