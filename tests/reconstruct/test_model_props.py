"""The model decides on shares with support thresholds: swept with hypothesis,
checked instance by instance against the truth of tests/support/sagas.py.
Type names carry no hint (no "Failed", "Cancelled"): the structure decides."""

from __future__ import annotations

import math
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.saga_builder import T0, Log
from tests.support.sagas import Coord, Instance, Saga, Step

SWEEP = settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
HOUR = 3_600_000
CFG = ChoreoConfig.model_validate({"reconstruct": {"min_overdue": 1}})


def _statuses(store: Store) -> dict[Coord, str]:
    """Status of the instance holding each record."""
    rows = store.query(
        'SELECT ie.topic, ie.partition, ie."offset", i.status '
        "FROM instance_events ie JOIN instances i USING (instance_id)"
    )
    return {(str(t), int(p), int(o)): str(st_) for t, p, o, st_ in rows}


def _status_of(inst: Instance, statuses: dict[Coord, str]) -> str:
    got = {statuses[c] for c, _s, _t in inst.records}
    assert len(got) == 1, (inst.key, got)
    return got.pop()


CHAIN = [
    Step("Opened", "desk", 0.0),
    Step("Triaged", "triage", 120.0, parent=0),
    Step("Worked", "work", 400.0, parent=1),
    Step("Verified", "qa", 200.0, parent=2),
    Step("Done", "desk", 100.0, parent=3),
]


@SWEEP
@given(
    noisy=st.integers(1, 14),
    delay_h=st.sampled_from([0.2, 2.0, 30.0]),
    kinds=st.integers(1, 3),
    seed=st.integers(0, 1000),
)
def test_rare_noise_after_the_end_does_not_make_it_running(
    noisy: int, delay_h: float, kinds: int, seed: int
) -> None:
    """A handful of instances (under 1 %) get an odd event long after their end:
    every instance that ended is completed, its end type terminal."""
    rng = random.Random(seed)
    log = Log()
    instances = Saga(CHAIN).play(log, 1400, rng)
    last = max(t for inst in instances for _c, _s, t in inst.records)
    for inst in rng.sample(instances, noisy):
        end = max(t for _c, _s, t in inst.records)
        kind = f"Odd{rng.randrange(kinds)}"
        inst.records.append((log.event("misc", kind, end + int(delay_h * HOUR), key=inst.key), -1, end))
        last = max(last, end + int(delay_h * HOUR))
    with tempfile.TemporaryDirectory() as d:
        log.store(Path(d) / "s.duckdb")
        with Store.open(Path(d) / "s.duckdb") as s:
            rebuild(s, CFG, now_ms=last + HOUR)
            statuses = _statuses(s)
            terminal = {t for (t,) in s.query("SELECT event_type FROM model_nodes WHERE is_terminal")}
    assert "Done" in terminal
    wrong = [i.key for i in instances if _status_of(i, statuses) != "completed"]
    assert not wrong, wrong[:5]


@SWEEP
@given(slow_h=st.sampled_from([2.0, 6.0, 12.0]), days=st.sampled_from([1, 2, 4]), seed=st.integers(0, 1000))
def test_a_window_shorter_than_the_latencies_still_learns_ends(slow_h: float, days: int, seed: int) -> None:
    """Human steps of hours in a dump of a day or a few: finished instances are
    completed, the others running (none of them is overdue yet)."""
    steps = [
        Step("Filed", "intake", 0.0),
        Step("Assessed", "assessors", slow_h * HOUR, parent=0),
        Step("Decided", "board", slow_h * HOUR / 2, parent=1),
        Step("Notified", "intake", 200.0, parent=2),
    ]
    rng = random.Random(seed)
    log = Log()
    n = 600
    every = days * 24 * HOUR // n
    instances = Saga(steps, sigma=0.5).play(log, n, rng, every_ms=every)
    now = T0 + days * 24 * HOUR
    # The dump ends at ``now``: what had not happened by then is not in it.
    kept = Log()
    cut: list[Instance] = []
    for inst in instances:
        mine = Instance(inst.key)
        for _c, step, t in sorted(inst.records, key=lambda r: r[2]):
            if t <= now:
                mine.records.append(
                    (kept.event(steps[step].service, steps[step].type, t, key=inst.key), step, t)
                )
        cut.append(mine)
    with tempfile.TemporaryDirectory() as d:
        kept.store(Path(d) / "s.duckdb")
        with Store.open(Path(d) / "s.duckdb") as s:
            rebuild(s, now_ms=now)
            statuses = _statuses(s)
    for inst in cut:
        done = any(step == 3 for _c, step, _t in inst.records)
        assert _status_of(inst, statuses) == ("completed" if done else "running"), inst.key


def _branching(fail_rate: float, undo_rate: float) -> list[Step]:
    """Two alternatives after a step: a minority one that ends elsewhere (a
    failure, whatever its name) and, later, one followed by undoing the first
    step (a compensation) and a third end."""
    return [
        Step("Begun", "front", 0.0),
        Step("Held", "vault", 150.0, parent=0),
        Step("Kept", "ledger", 120.0, parent=1),
        Step("Sent", "post", 300.0, parent=2),
        Step("Over", "front", 80.0, parent=3),
        Step("Lapsed", "vault", 150.0, parent=0, alternative_to=1, rate=fail_rate),
        Step("Halted", "front", 60.0, parent=5),
        Step("Snagged", "ledger", 120.0, parent=1, alternative_to=2, rate=undo_rate),
        Step("Unheld", "vault", 150.0, parent=7),
        Step("Dropped", "front", 60.0, parent=8),
    ]


@SWEEP
@given(
    fail_rate=st.sampled_from([0.05, 0.1, 0.25]),
    undo_rate=st.sampled_from([0.05, 0.15]),
    seed=st.integers(0, 99),
)
def test_failure_and_compensation_from_the_structure(fail_rate: float, undo_rate: float, seed: int) -> None:
    steps = _branching(fail_rate, undo_rate)
    log = Log()
    instances = Saga(steps).play(log, 800, random.Random(seed))
    with tempfile.TemporaryDirectory() as d:
        log.store(Path(d) / "s.duckdb")
        with Store.open(Path(d) / "s.duckdb") as s:
            rebuild(s, CFG, now_ms=T0 + 10**9)
            statuses = _statuses(s)
            kinds = dict(s.query("SELECT event_type, kind FROM model_nodes"))
    assert kinds["Lapsed"] == "failure" and kinds["Snagged"] == "failure", kinds
    assert kinds["Unheld"] == "compensation", kinds
    for inst in instances:
        took = {step for _c, step, _t in inst.records}
        want = "compensated" if 8 in took else "failed" if 5 in took else "completed"
        assert _status_of(inst, statuses) == want, (inst.key, sorted(took))


@SWEEP
@given(max_rounds=st.integers(2, 5), seed=st.integers(0, 1000))
def test_loops_are_not_parallel_branches(max_rounds: int, seed: int) -> None:
    """A rework loop (checked, fixed, checked again...) repeats types in both
    orders: no instance is taken for one with a missing branch."""
    rng = random.Random(seed)
    log = Log()
    keys = []
    t0 = T0
    for i in range(500):
        key = f"tk-{i}"
        keys.append(key)
        t = t0 + i * 10_000
        # Linked by causation ids (each event names the one it reacts to).
        chain = ["Raised"]
        for _r in range(rng.randint(1, max_rounds)):
            chain += ["Checked", "Fixed"]
        chain.append("Closed")
        for n, etype in enumerate(chain):
            t += rng.randint(100, 900) if n else 0
            cause = f"{key}-{n - 1}" if n else None
            log.event(etype.lower() + "s", etype, t, eid=f"{key}-{n}", cause=cause, n=n)
    with tempfile.TemporaryDirectory() as d:
        log.store(Path(d) / "s.duckdb")
        with Store.open(Path(d) / "s.duckdb") as s:
            stats = rebuild(s, CFG, now_ms=t0 + 10**9)
            expect = s.query("SELECT parent_type, child_type FROM model_expect")
            concurrent = s.query("SELECT count(*) FROM model_edges WHERE concurrent")[0][0]
    assert stats.by_status == {"completed": 500}, (stats.by_status, expect)
    assert concurrent == 0


@SWEEP
@given(
    down_from=st.sampled_from([0.1, 0.4, 0.8]),
    down_to=st.sampled_from([None, 0.9]),
    join=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_a_branch_down_for_a_stretch_stays_expected(
    down_from: float, down_to: float | None, join: bool, seed: int
) -> None:
    """Three branches in any order after a step (joined or not); one branch's
    service is down from some point (to the end, or back later): every instance
    that lost its branch is stuck, waiting for that branch from that service;
    the others complete."""
    rng = random.Random(seed)
    log = Log()
    n = 400
    lost: set[str] = set()
    keys = []
    for i in range(n):
        key = f"u-{i}"
        keys.append(key)
        t = T0 + i * 20_000
        log.event("accounts", "Registered", t, key=key, n=0)
        down = down_from * n <= i and (down_to is None or i < down_to * n)
        arrivals = []
        for b, (etype, svc) in enumerate(
            (("Greeted", "mailer"), ("Scored", "scoring"), ("Listed", "catalog"))
        ):
            if b == 2 and down:
                lost.add(key)
                continue
            arrivals.append((t + rng.randint(50, 3000), etype, svc))
        for at, etype, svc in sorted(arrivals):
            log.event(svc, etype, at, service=svc, key=key, n=1)
        if join and key not in lost:
            log.event(
                "accounts", "Activated", max(a[0] for a in arrivals) + rng.randint(20, 200), key=key, n=2
            )
    now = T0 + n * 20_000 + HOUR
    with tempfile.TemporaryDirectory() as d:
        log.store(Path(d) / "s.duckdb")
        with Store.open(Path(d) / "s.duckdb") as s:
            rebuild(s, CFG, now_ms=now)
            rows = s.query(
                "SELECT i.label, i.status, s.expected_types, s.responsible_service FROM instances i "
                "LEFT JOIN stuck s USING (instance_id)"
            )
    got = {str(label).split("=", 1)[-1]: (status, exp, svc) for label, status, exp, svc in rows}
    for key in keys:
        status, expected, service = got[key]
        if key in lost:
            assert status == "stuck" and expected == ["Listed"] and service == "catalog", (key, got[key])
        else:
            assert status == "completed", (key, got[key])


def test_branches_after_a_loop_are_timed_from_its_last_round() -> None:
    """A retry loop (rounds about 45 minutes apart), then two branches within a
    second of its last round: the branches' latency is that second, not the
    rounds before; an instance between two rounds is running, one whose loop
    ended hours ago without a branch is stuck waiting for it."""
    rng = random.Random(11)
    log = Log()
    n = 300
    round_ms = 45 * 60_000
    now = T0 + n * 60_000 + 12 * 3_600_000
    want: dict[str, str] = {}
    for i in range(n):
        key = f"c-{i}"
        t = T0 + i * 60_000
        log.event("cases", "Opened", t, key=key, n=0)
        rounds = rng.randint(1, 3)
        for r in range(rounds):
            t += int(round_ms * math.exp(rng.gauss(0.0, 0.2))) if r else rng.randint(50, 500)
            log.event("retries", "Retried", t, key=key, n=1)
        if i >= n - 5:
            # Between two rounds at the end of the log: the loop goes on.
            log.event("retries", "Retried", now - round_ms // 2, key=key, n=1)
            want[key] = "running"
            continue
        lost = i % 60 == 7
        want[key] = "stuck" if lost else "completed"
        arrivals = [
            (t + rng.randint(20, 300), "Scored", "scoring"),
            (t + rng.randint(20, 300), "Tagged", "tags"),
        ]
        got = [a for a in arrivals if not (lost and a[1] == "Tagged")]
        for at, etype, svc in sorted(got):
            log.event(svc, etype, at, key=key, n=2)
        if not lost:
            log.event("cases", "Closed", max(a[0] for a in got) + rng.randint(20, 200), key=key, n=3)
    with tempfile.TemporaryDirectory() as d:
        log.store(Path(d) / "s.duckdb")
        with Store.open(Path(d) / "s.duckdb") as s:
            rebuild(s, CFG, now_ms=now)
            p99 = dict(s.query("SELECT child_type, p99_ms FROM model_expect WHERE parent_type = 'Retried'"))
            rows = s.query(
                "SELECT i.label, i.status, s.expected_types FROM instances i "
                "LEFT JOIN stuck s USING (instance_id)"
            )
    assert set(p99) == {"Scored", "Tagged"}, p99
    assert max(p99.values()) < 1_000, p99
    got_status = {str(label).split("=", 1)[-1]: (status, exp) for label, status, exp in rows}
    for key, status in want.items():
        assert got_status[key][0] == status, (key, got_status[key])
        if status == "stuck":
            assert got_status[key][1] == ["Tagged"], (key, got_status[key])
