"""`choreo demo`: the example choreographies as real services on an embedded
cluster, collected and reconstructed, from one command."""

from __future__ import annotations

import signal
import sys
import threading
from dataclasses import replace
from types import FrameType

import click

from choreo.examples.demo import Demo, DemoResult, check_db_path
from choreo.examples.faults import DEFAULT_MIX, NO_FAULTS, FaultPlan, parse_service_ms, parse_stall
from choreo.examples.scenario import ALL_WORKFLOWS, Scenario, service_names
from choreo.store import Store
from reconstruct.read import stuck_list, workflow_counts

STATUSES = ("completed", "failed", "compensated", "running", "stuck")
_SHOW_STUCK = 8


class _Progress:
    """One rewritten line on a terminal; nothing when stderr is not one."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.width = 0

    def __call__(self, text: str) -> None:
        if self.tty:
            click.echo("\r" + text.ljust(self.width), err=True, nl=False)
            self.width = len(text)

    def end(self) -> None:
        if self.tty and self.width:
            click.echo("\r" + " " * self.width + "\r", err=True, nl=False)
            self.width = 0


def _faults(
    services: list[str],
    no_faults: bool,
    decline: float | None,
    stockout: float | None,
    reject: float | None,
    stalls: tuple[str, ...],
    refund_stall: float | None,
    slow: tuple[str, ...],
    dup: float | None,
    skew: tuple[str, ...],
    poison: int | None,
) -> FaultPlan:
    # The default mix names services of every choreography; keep those that run.
    plan = NO_FAULTS if no_faults else DEFAULT_MIX.only_for(services)
    if decline is not None:
        plan = replace(plan, decline_rate=decline)
    if stockout is not None:
        plan = replace(plan, stockout_rate=stockout)
    if reject is not None:
        plan = replace(plan, reject_rate=reject)
    if stalls:
        plan = replace(plan, stalls=tuple(parse_stall(s) for s in stalls))
    if refund_stall is not None:
        plan = replace(plan, refund_stall_rate=refund_stall)
    if slow:
        plan = replace(plan, slow=dict(parse_service_ms(s, 4000, "--slow") for s in slow))
    if dup is not None:
        plan = replace(plan, dup_rate=dup)
    if skew:
        plan = replace(plan, skew=dict(parse_service_ms(s, None, "--skew") for s in skew))
    if poison is not None:
        plan = replace(plan, poison=poison)
    return plan


def _summary(result: DemoResult) -> list[str]:
    t = result.truth
    c = t["counts"]
    n_topics = len({r["topic"] for r in t["records"]})
    lines = [
        f"choreo demo: {c['instances']} sagas in {len(t['workflows'])} choreographies, "
        f"{c['records']} events on {n_topics} topics of an embedded Kafka-protocol cluster "
        f"(seed {t['seed']}, {result.seconds:.1f}s)",
        f"collected {result.collect.stored} events ({result.collect.poison} poison records kept raw) "
        f"into {result.paths.db}; reconstructed {result.rebuild.instances} instances",
        "",
    ]
    with Store.open(result.paths.db, read_only=True) as store:
        counts = workflow_counts(store)
        stuck = stuck_list(store, limit=_SHOW_STUCK)
        n_stuck = len(stuck_list(store))
    header = f"  {'workflow':<12}{'sagas':>7}" + "".join(f"{s:>13}" for s in STATUSES)
    lines.append(header)
    for wf in sorted(counts):
        per = counts[wf]
        lines.append(f"  {wf:<12}{sum(per.values()):>7}" + "".join(f"{per.get(s, 0):>13}" for s in STATUSES))
    if result.rebuild.traps:
        traps = ", ".join(sorted(result.rebuild.traps))
        lines += ["", f"identifiers not used for stitching (see `choreo keys`): {traps}"]
    if stuck:
        lines += ["", f"stuck sagas ({n_stuck}, most overdue first):"]
        for s in stuck:
            lines.append(f"  {s.label or s.instance_id}: {s.explanation}")
        if n_stuck > len(stuck):
            lines.append(f"  ... and {n_stuck - len(stuck)} more")
    expected = sum(v["stuck"] for v in c["outcomes"].values())
    lines += [
        "",
        f"ground truth: {result.paths.truth} (the simulator knows {expected} stuck; choreo found "
        f"{result.stuck_seen})",
        f"next: choreo stuck --db {result.paths.db} --config {result.paths.config}",
        f"      choreo show <any id above> --db {result.paths.db} --config {result.paths.config}",
    ]
    return lines


@click.command()
@click.option("--no-tui", is_flag=True, help="Print a summary instead of opening the dashboard.")
@click.option(
    "--instances",
    type=click.IntRange(1, 10_000),
    default=100,
    show_default=True,
    help="Sagas to start per choreography.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same sagas and faults.")
@click.option(
    "--keep-running",
    is_flag=True,
    help="Afterwards keep the cluster and services running, starting new sagas, until Ctrl-C.",
)
@click.option(
    "--db",
    "db",
    default="demo.duckdb",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Store to (re)create; its choreo.toml and ground truth go next to it.",
)
@click.option(
    "--workflow",
    "workflows",
    multiple=True,
    type=click.Choice(ALL_WORKFLOWS),
    help="Run only these choreographies (repeatable) [default: all].",
)
@click.option("--no-faults", is_flag=True, help="Start from no faults at all (knobs below still apply).")
@click.option("--decline-rate", type=click.FloatRange(0, 1), help="Payments declined [0.1].")
@click.option("--stockout-rate", type=click.FloatRange(0, 1), help="Paid orders out of stock [0.12].")
@click.option("--reject-rate", type=click.FloatRange(0, 1), help="Videos rejected by moderation [0.1].")
@click.option(
    "--stall",
    "stalls",
    multiple=True,
    metavar="SERVICE[:AT]",
    help="SERVICE stops reacting from fraction AT of the sagas on [carrier-service:0.75, "
    "recommendation-service:0.85].",
)
@click.option(
    "--refund-stall-rate",
    type=click.FloatRange(0, 1),
    help="Owed refunds the payment service never issues [0.4].",
)
@click.option(
    "--slow",
    multiple=True,
    metavar="SERVICE[:MS]",
    help="SERVICE needs MS per record, so it lags [transcoder:4000].",
)
@click.option("--dup-rate", type=click.FloatRange(0, 1), help="Events published twice [0.03].")
@click.option(
    "--skew",
    multiple=True,
    metavar="SERVICE:MS",
    help="SERVICE's clock is off by MS [inventory-service:-8000].",
)
@click.option("--poison", type=click.IntRange(0, 10_000), help="Records that are not events at all [6].")
def demo(
    no_tui: bool,
    instances: int,
    seed: int,
    keep_running: bool,
    db: str,
    workflows: tuple[str, ...],
    no_faults: bool,
    decline_rate: float | None,
    stockout_rate: float | None,
    reject_rate: float | None,
    stalls: tuple[str, ...],
    refund_stall_rate: float | None,
    slow: tuple[str, ...],
    dup_rate: float | None,
    skew: tuple[str, ...],
    poison: int | None,
) -> None:
    """Run the example choreographies on an embedded cluster and show what choreo makes of them.

    Real services (each its own consumer group) react to each other's events:
    an order saga with payments, stock and shipping; a sign-up fan-out; a
    video pipeline. Faults are on by default: declined payments, stock-outs,
    a carrier that stops delivering, refunds that never happen, a slow
    transcoder, duplicates, a skewed clock, poison records. Times are
    compressed ~150x (MS values are simulated milliseconds).

    \b
    Leaves behind:
      demo.duckdb       the store (try `choreo stuck --db demo.duckdb --config demo.toml`)
      demo.toml         the services' consumer groups and the declared workflows
      demo.truth.json   what really happened, per saga (the simulator's ground truth)
    """
    check_db_path(db)
    chosen = workflows or ALL_WORKFLOWS
    plan = _faults(
        service_names(Scenario(workflows=chosen).choreographies()),
        no_faults,
        decline_rate,
        stockout_rate,
        reject_rate,
        stalls,
        refund_stall_rate,
        slow,
        dup_rate,
        skew,
        poison,
    )
    scenario = Scenario(seed=seed, instances=instances, workflows=chosen, faults=plan)
    progress = _Progress()
    runner = Demo(scenario, db, progress=progress)
    try:
        try:
            result = runner.run()
        finally:
            progress.end()
        for line in _summary(result):
            click.echo(line)
        if keep_running:
            _keep_running(runner)
    finally:
        runner.close()


def _keep_running(runner: Demo) -> None:
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        bootstrap = runner.keep_running()
        click.echo("")
        click.echo(
            f"the services keep running on {bootstrap}, starting new sagas; Ctrl-C to stop. Watch them with:"
        )
        click.echo(f"  choreo collect -b {bootstrap} -t '.*' --db live.duckdb --config {runner.paths.config}")
        while not stop.wait(0.5):
            pass
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
