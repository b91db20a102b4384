"""Soak: `choreo tail` for an hour against `choreo demo --keep-running`.

    flock /tmp/choreo-bench.lock .venv/bin/python bench/soak.py [--minutes 60] [--every 60]

The demo's services keep starting sagas on its embedded cluster (the carrier
and the recommendation service stay stalled, refunds go missing: new stuck
sagas keep appearing). `choreo tail` collects, reconstructs and shows them in
its dashboard, on a real pseudo-terminal of 120x40, for ``--minutes``.
Every ``--every`` seconds the script samples tail's memory (RSS) and reads its
store *beside it* with `choreo status --json` (from the snapshots tail
publishes), and fails as soon as tail is gone.

At the end the demo is stopped first (it rewrites its ground truth to cover
every saga it started), tail is left to collect the last of them, then `q`
quits it: it must exit 0 with its one summary line. The stuck sagas tail
found are compared with the ground truth at the truth's own "now"
(`choreo stuck --now`): found and truly stuck; truly stuck but not overdue
yet (their last step came moments before the demo stopped: judged again a
minute later they are found); missed (not found even then, with what tail
made of them); and found but not stuck in truth, per workflow too. The demo's
cluster stops with it: records tail had not read by then are counted apart.
tail's consumer group is its own (two tails in one group would split the
partitions). Also recorded: how far behind the producers tail stored each
record (ingested - Kafka timestamp), and how old the snapshot each sample
read was. Results go to stdout and bench/results/soak-*.json.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
RESULTS = ROOT / "bench" / "results"
CHOREO = [sys.executable, "-m", "choreo.cli"]
# A saga whose reaction the demo withheld just before it stopped is stuck for
# good but not overdue yet at the truth's "now"; a minute later it must be.
LATER_MS = 60_000


class Terminal:
    """A command on a pseudo-terminal of its own, its output drained in a thread."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], size: tuple[int, int]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, start_new_session=True
        )
        os.close(slave)
        self.output = bytearray()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if not ready:
                if self.proc.poll() is not None:
                    return
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            # The screen is redrawn all the time: keep the last 1 MB.
            self.output += chunk
            del self.output[: max(0, len(self.output) - 1_000_000)]

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> None:
        self._thread.join(timeout=10)
        os.close(self.master)


def _rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 1e6


def _choreo_json(*args: str, cwd: Path, env: dict[str, str]) -> Any:
    proc = subprocess.run([*CHOREO, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"choreo {' '.join(args)} failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def _values(label: str) -> str:
    return label.partition("=")[2] or label


def soak(minutes: float, every: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="choreo-soak-"))
    env = dict(os.environ, PYTHONUNBUFFERED="1", XDG_STATE_HOME=str(work / "state"))
    demo = subprocess.Popen(
        [*CHOREO, "demo", "--no-tui", "--keep-running", "--db", "demo.duckdb"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert demo.stdout is not None
    bootstrap = None
    for line in demo.stdout:
        m = re.search(r"keep running on (\S+),", line)
        if m:
            bootstrap = m.group(1)
            break
    if bootstrap is None:
        raise SystemExit("the demo did not start")
    threading.Thread(target=demo.stdout.read, daemon=True).start()  # drained: it must never block

    args = [*CHOREO, "tail", "-b", bootstrap, "-t", ".*", "-g", f"choreo-soak-{os.getpid()}"]
    args += ["--db", "tail.duckdb", "--config", "demo.toml"]
    tail = Terminal(args, work, env, (120, 40))
    t0 = time.monotonic()
    samples: list[dict[str, Any]] = []
    try:
        while True:
            elapsed = time.monotonic() - t0
            if tail.proc.poll() is not None:
                raise SystemExit(f"tail ended after {elapsed:.0f}s with exit {tail.proc.returncode}")
            if elapsed >= 20 or samples:  # the first sample once tail has settled
                status = _choreo_json(
                    "status", "--db", "tail.duckdb", "--config", "demo.toml", "--json", cwd=work, env=env
                )
                sample = {
                    "s": round(elapsed),
                    "rss_mb": round(_rss_mb(tail.proc.pid), 1),
                    "events": status["events"],
                    "instances": status["instances"],
                    "stuck": status["stuck"],
                    # How old the snapshot read beside tail was when it was judged.
                    "snapshot_age_s": round((status["now_ms"] - status["snapshot"]["published_ms"]) / 1000, 1)
                    if "snapshot" in status
                    else None,
                }
                samples.append(sample)
                print(
                    f"{sample['s']:>6}s  rss {sample['rss_mb']:>7.1f} MB  events {sample['events']:>8,}  "
                    f"sagas {sample['instances']:>7,}  stuck {sample['stuck']:>6,}  "
                    f"snapshot {sample['snapshot_age_s']}s old",
                    flush=True,
                )
            if elapsed >= minutes * 60:
                break
            time.sleep(every if samples else 20)

        # The demo stops first and writes its ground truth; tail takes in the last events.
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=900)  # it writes the truth of every saga it started
        truth = json.loads((work / "demo.truth.json").read_text())
        records = int(truth["counts"]["records"])
        # The cluster stopped with the demo: tail stores what it had read.
        deadline = time.monotonic() + 120
        last = -1
        while time.monotonic() < deadline:
            now = _choreo_json("status", "--db", "tail.duckdb", "--json", cwd=work, env=env)["events"]
            if now >= records or now == last:
                break
            last = now
            time.sleep(10)
        last = max(last, now)
        rss_end = _rss_mb(tail.proc.pid)
        tail.send("q")
        code = tail.proc.wait(timeout=120)
    finally:
        for p in (tail.proc, demo):
            if p.poll() is None:
                p.kill()
                p.wait()
        tail.close()
    screen_tail = tail.output.decode("utf-8", "replace")
    summary = [
        line for line in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen_tail).splitlines() if "tail:" in line
    ]

    def stuck_at(now_ms: int) -> set[str]:
        found = _choreo_json(
            "stuck",
            "--db",
            "tail.duckdb",
            "--config",
            "demo.toml",
            "--json",
            "--now",
            str(now_ms),
            cwd=work,
            env=env,
        )["stuck"]
        return {_values(s["label"]) for s in found}

    truth_now = int(truth["now_ms"])
    found_ids = stuck_at(truth_now)
    found_later = stuck_at(truth_now + LATER_MS)
    truly = {i["id"]: i for i in truth["instances"] if i["outcome"] == "stuck"}
    outcome = {i["id"]: str(i["outcome"]) for i in truth["instances"]}
    both = found_ids & set(truly)
    not_yet = (set(truly) - found_ids) & found_later
    missed = set(truly) - found_ids - found_later
    final = _choreo_json(
        "status", "--db", "tail.duckdb", "--config", "demo.toml", "--json", cwd=work, env=env
    )
    # What tail made of the truly stuck sagas it did not find, by what the truth says went wrong.
    import duckdb

    con = duckdb.connect(str(work / "tail.duckdb"), read_only=True)
    made: dict[str, tuple[str, int]] = {
        _values(str(lb)): (str(s), int(end))
        for lb, s, end in con.execute("SELECT label, status, end_ms FROM instances").fetchall()
    }
    # How long after its Kafka timestamp tail had each record stored (producers' clocks are
    # the demo's own: the skewed service's records are left out).
    lag = con.execute(
        "SELECT quantile_cont(ingested_ms - ts_ms, [0.5, 0.99]), max(ingested_ms - ts_ms) FROM events "
        "WHERE service <> 'inventory-service' AND ts_ms IS NOT NULL"
    ).fetchone()
    con.close()
    store_mb = round((work / "tail.duckdb").stat().st_size / 1e6, 1)

    def why(i: str) -> str:
        reason = (truly[i].get("stuck") or {}).get("reason", "?")
        return f"{truly[i]['workflow']}/{reason} -> {made[i][0] if i in made else 'absent'}"

    why_missed = Counter(why(i) for i in missed)
    # How close to the truth's "now" the not-yet-overdue ones made their last step.
    not_yet_age = [truth_now - made[i][1] for i in not_yet if i in made]
    by_workflow = {
        wf: {
            "truth_stuck": sum(1 for i in truly.values() if i["workflow"] == wf),
            "found_and_true": sum(1 for i in both if truly[i]["workflow"] == wf),
            "not_overdue_yet": sum(1 for i in not_yet if truly[i]["workflow"] == wf),
            "missed": sum(1 for i in missed if truly[i]["workflow"] == wf),
        }
        for wf in sorted({str(i["workflow"]) for i in truly.values()})
    }
    ages = [x["snapshot_age_s"] for x in samples if x["snapshot_age_s"] is not None]
    return {
        "command": " ".join(["flock /tmp/choreo-bench.lock .venv/bin/python bench/soak.py", *sys.argv[1:]]),
        "minutes": minutes,
        "load_average": os.getloadavg(),
        "work_dir": str(work),
        "exit_code": code,
        "summary_line": summary[-1][summary[-1].index("tail:") :].strip() if summary else None,
        "truth_records": records,
        "tail_events": last,
        "records_not_read_when_the_cluster_stopped": records - last,
        "store_lag_s_p50_p99_max": [round(float(x) / 1000, 1) for x in [*lag[0], lag[1]]] if lag else None,
        "snapshot_age_s_median_max": [sorted(ages)[len(ages) // 2], max(ages)] if ages else None,
        "store_mb": store_mb,
        "truth_sagas": truth["counts"]["instances"],
        "tail_sagas": final["instances"],
        "truth_stuck": len(truly),
        "tail_stuck_at_truth_now": len(found_ids),
        "stuck_found_and_true": len(both),
        "stuck_not_overdue_yet": len(not_yet),
        "not_overdue_yet_last_step_ms_before_now": [min(not_yet_age), max(not_yet_age)]
        if not_yet_age
        else None,
        "stuck_missed": len(missed),
        "stuck_found_not_true": len(found_ids - set(truly)),
        "missed_as": dict(why_missed.most_common()),
        "stuck_by_workflow": by_workflow,
        # Sagas the demo left unfinished when it stopped never move again: a minute later
        # they are overdue too, though the truth calls them running.
        "stuck_a_minute_later_not_true": dict(
            Counter(outcome.get(i, "absent") for i in found_later - set(truly))
        ),
        "rss_start_mb": samples[0]["rss_mb"] if samples else None,
        "rss_end_mb": round(rss_end, 1),
        "samples": samples,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--every", type=float, default=60.0, help="seconds between samples")
    args = ap.parse_args()
    result = soak(args.minutes, args.every)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    keys = [k for k in result if k != "samples"]
    for k in keys:
        print(f"{k}: {result[k]}")
    print(f"(written to {out})")
    if result["exit_code"] != 0:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
