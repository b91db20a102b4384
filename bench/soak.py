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
(`choreo stuck --now`): found and truly stuck, truly stuck but not overdue
yet (started within the last stuck threshold), and found but not stuck in
truth. Results go to stdout and bench/results/soak-*.json.
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

    args = [*CHOREO, "tail", "-b", bootstrap, "-t", ".*", "--db", "tail.duckdb", "--config", "demo.toml"]
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
                }
                samples.append(sample)
                print(
                    f"{sample['s']:>6}s  rss {sample['rss_mb']:>7.1f} MB  events {sample['events']:>8,}  "
                    f"sagas {sample['instances']:>7,}  stuck {sample['stuck']:>6,}",
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
        deadline = time.monotonic() + 120
        last = 0
        while time.monotonic() < deadline:
            last = _choreo_json("status", "--db", "tail.duckdb", "--json", cwd=work, env=env)["events"]
            if last >= records:
                break
            time.sleep(2)
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

    found = _choreo_json(
        "stuck",
        "--db",
        "tail.duckdb",
        "--config",
        "demo.toml",
        "--json",
        "--now",
        str(truth["now_ms"]),
        cwd=work,
        env=env,
    )["stuck"]
    found_ids = {_values(s["label"]) for s in found}
    truly = {i["id"]: i for i in truth["instances"] if i["outcome"] == "stuck"}
    both = found_ids & set(truly)
    missed = set(truly) - found_ids
    final = _choreo_json(
        "status", "--db", "tail.duckdb", "--config", "demo.toml", "--json", cwd=work, env=env
    )
    # What tail made of the truly stuck sagas it did not find, by what the truth says went wrong.
    import duckdb

    con = duckdb.connect(str(work / "tail.duckdb"), read_only=True)
    made = {
        _values(str(lb)): str(s) for lb, s in con.execute("SELECT label, status FROM instances").fetchall()
    }
    con.close()

    def why(i: str) -> str:
        reason = (truly[i].get("stuck") or {}).get("reason", "?")
        return f"{truly[i]['workflow']}/{reason} -> {made.get(i, 'absent')}"

    why_missed = Counter(why(i) for i in missed)
    return {
        "minutes": minutes,
        "load_average": os.getloadavg(),
        "work_dir": str(work),
        "exit_code": code,
        "summary_line": summary[-1][summary[-1].index("tail:") :].strip() if summary else None,
        "truth_records": records,
        "tail_events": last,
        "truth_sagas": truth["counts"]["instances"],
        "tail_sagas": final["instances"],
        "truth_stuck": len(truly),
        "tail_stuck_at_truth_now": len(found_ids),
        "stuck_found_and_true": len(both),
        "stuck_missed": len(missed),
        "stuck_found_not_true": len(found_ids - set(truly)),
        "missed_as": dict(why_missed.most_common()),
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
