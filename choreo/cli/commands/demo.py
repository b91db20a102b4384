"""`choreo demo`: the example choreographies as real services on an embedded
cluster, collected and reconstructed, from one command."""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import replace
from types import FrameType
from typing import TYPE_CHECKING

import click

from choreo.cli.output import echo
from choreo.collector.extract import Extractor
from choreo.collector.kafka_tap import Collector
from choreo.core.config import ChoreoConfig
from choreo.core.errors import ChoreoError
from choreo.core.logsetup import default_log_file, logs_to_file
from choreo.core.snapshot_publish import Publisher
from choreo.core.store import Store
from choreo.demo.check import check_stuck
from choreo.demo.faults import DEFAULT_MIX, NO_FAULTS, FaultPlan, parse_service_ms, parse_stall
from choreo.demo.run import Demo, DemoResult, check_db_path
from choreo.demo.scenario import ALL_WORKFLOWS, Scenario, service_names
from choreo.demo.tap import collect_settings
from choreo.demo.truth import load_truth
from choreo.reconstruct.engine.pipeline import is_stale, judge, rebuild
from choreo.reconstruct.query.asof import AsOf, NowKind, record_as_of
from choreo.reconstruct.query.read import stuck_list, workflow_counts
from choreo.reconstruct.query.records import STATUS_ORDER

if TYPE_CHECKING:
    from choreo.tui.app import ChoreoApp

LIVE_GROUP = "choreo-demo-live"
_SHOW_STUCK = 8


class _Progress:
    """One rewritten line on a terminal; nothing when stderr is not one."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.width = 0

    def __call__(self, text: str) -> None:
        if self.tty:
            echo(text.ljust(self.width), err=True, nl=False, rewrite=True)
            self.width = len(text)

    def end(self) -> None:
        if self.tty and self.width:
            echo(" " * self.width, err=True, nl=False, rewrite=True)
            echo("", err=True, nl=False, rewrite=True)
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
    # After --keep-running the ground truth was rewritten to cover every saga.
    t = load_truth(result.paths.truth)
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
        check = check_stuck(store, t)
    header = f"  {'workflow':<12}{'sagas':>7}" + "".join(f"{s:>13}" for s in STATUS_ORDER)
    lines.append(header)
    for wf in sorted(counts):
        per = counts[wf]
        lines.append(
            f"  {wf:<12}{sum(per.values()):>7}" + "".join(f"{per.get(s, 0):>13}" for s in STATUS_ORDER)
        )
    if result.rebuild.traps:
        traps = ", ".join(sorted(result.rebuild.traps))
        lines += ["", f"identifiers not used for stitching (see `choreo keys`): {traps}"]
    if stuck:
        lines += ["", f"stuck sagas ({n_stuck}, most overdue first):"]
        for s in stuck:
            lines.append(f"  {s.label or s.instance_id}: {s.explanation}")
        if n_stuck > len(stuck):
            lines.append(f"  ... and {n_stuck - len(stuck)} more")
    # After --keep-running, the sagas started last are stuck for good but not overdue yet.
    continued = c["instances"] > result.truth["counts"]["instances"]
    lines += [
        "",
        f"next: choreo stuck --db {result.paths.db} --config {result.paths.config}",
        f"      choreo show <any id above> --db {result.paths.db} --config {result.paths.config}",
    ]
    if continued:
        lines.append("(the sagas started last are not collected or overdue yet)")
    # The closing line: how the stuck list compares with what really happened.
    lines.append(check.line(str(result.paths.truth)))
    return lines


@click.command()
@click.option(
    "--no-tui",
    is_flag=True,
    help="Print a summary instead of opening the dashboard (also when not on a terminal).",
)
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
    help="Keep the cluster and services running afterwards, starting new sagas: the dashboard "
    "follows them live (with --no-tui: until Ctrl-C).",
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
    # The dashboard needs a terminal; piped or in CI the summary is the output.
    dashboard = not no_tui and sys.stdin.isatty() and sys.stdout.isatty()
    try:
        try:
            result = runner.run()
        finally:
            progress.end()
        if dashboard:
            if keep_running:
                runner.keep_running()
            else:
                runner.close()  # the store says it all; nothing needs the cluster any more
            _dashboard(runner, live=keep_running)
            runner.close()
            if keep_running:
                # The dashboard judged the sagas as of its last update; the summary is as of now.
                with Store.open(runner.paths.db) as store:
                    now = int(time.time() * 1000)
                    judge(store, runner.config, now)
                    record_as_of(store, AsOf(now, NowKind.LIVE))
        for line in _summary(result):
            echo(line)
        if keep_running and not dashboard:
            _keep_running(runner)
    finally:
        runner.close()


class LiveUpdate:
    """Brings the derived tables up to date while the dashboard follows the run:
    a rebuild when events arrived, otherwise only a re-judgement at ``now``.
    Holding ``lock`` while working lets the caller wait for the last update
    before closing the store."""

    def __init__(self, config: ChoreoConfig) -> None:
        self.config = config
        self.lock = threading.Lock()

    def __call__(self, store: Store, now_ms: int) -> object:
        with self.lock:
            if is_stale(store, self.config):
                out: object = rebuild(store, self.config, now_ms=now_ms)
            else:
                out = judge(store, self.config, now_ms)
            record_as_of(store, AsOf(now_ms, NowKind.LIVE))
            return out


def dashboard_app(runner: Demo, store: Store, *, live: LiveUpdate | None = None) -> ChoreoApp:
    """The dashboard on the demo's store; with ``live``, following the demo's running cluster."""
    from choreo.cli.commands.tui import reconstruction
    from choreo.cli.live_feed import LiveFeed
    from choreo.tui.app import make_app
    from choreo.tui.data.export import export_workflow_diagram

    config = runner.config
    feed = None
    if live is not None and runner.cluster is not None:
        bootstrap = runner.cluster.bootstrap
        # A group of its own: rejoining the run's group waits out the embedded cluster's
        # rebalance delay; reading the run's records again is absorbed by the store's key.
        settings = collect_settings(bootstrap, runner.topics, config, group=LIVE_GROUP)
        collector = Collector(settings, store, Extractor(config.extract))
        feed = LiveFeed(collector, live, bootstrap)
    return make_app(
        store,
        store_label=str(runner.paths.db),
        live=feed,
        reconstruction=reconstruction(config),
        export_workflow=export_workflow_diagram,
        export_dir=runner.paths.db.parent,
    )


def _dashboard(runner: Demo, *, live: bool) -> None:
    from choreo.cli.dashboard import failures_logged, raise_if_crashed

    update = LiveUpdate(runner.config) if live else None
    with (
        Store.open(runner.paths.db) as store,
        logs_to_file(default_log_file()) as log_path,
        failures_logged("demo", log_path),
        Publisher(store, "choreo demo"),
    ):
        app = dashboard_app(runner, store, live=update)
        try:
            outcome = app.run()
        finally:
            if update is not None:
                # A live update may still be running in a worker thread: let it finish
                # before the store's connection closes under it.
                with update.lock:
                    pass
        raise_if_crashed(app, "demo", log_path)
    if isinstance(outcome, ChoreoError):
        raise outcome


def _keep_running(runner: Demo) -> None:
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        bootstrap = runner.keep_running()
        echo("")
        echo(
            f"the services keep running on {bootstrap}, starting new sagas; Ctrl-C to stop. Watch them with:"
        )
        echo(f"  choreo collect -b {bootstrap} -t '.*' --db live.duckdb --config {runner.paths.config}")
        while not stop.wait(0.5):
            pass
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
