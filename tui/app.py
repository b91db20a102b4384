"""The Textual app. ``make_app`` is the one way to build it, shared by the
CLI (``choreo tui``, ``choreo tail``, the demo) and the tests: everything the
app uses — the store reader, the live feed, the exporter — is handed in."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import WorkerFailed, get_current_worker

from choreo.core.errors import ChoreoError
from choreo.core.store import Store
from choreo.core.store_errors import store_failure
from choreo.reconstruct.query.asof import NowKind
from choreo.tui.context import AppContext, LiveSource, Reconstruction, WorkflowExporter
from choreo.tui.data.format import count
from choreo.tui.data.reader import ReaderClosed, StoreReader
from choreo.tui.messages import OpenInstance, OpenInstances, OpenModel, OpenStuck, StoreChanged
from choreo.tui.screens.base import DataScreen
from choreo.tui.screens.detail import DetailScreen
from choreo.tui.screens.help import HelpScreen
from choreo.tui.screens.instances import InstancesScreen
from choreo.tui.screens.model import ModelScreen
from choreo.tui.screens.notice import NoticeScreen, TooSmallScreen
from choreo.tui.screens.overview import OverviewScreen
from choreo.tui.screens.stuck import StuckScreen

MIN_SIZE = (80, 24)
LIVE_REFRESH_S = 0.5  # how often live events are reconstructed and shown, at most
REJUDGE_S = 5.0  # how often a store judged against the wall clock is judged again
CLOSE_WAIT_S = 60.0  # at most this long for running queries when closing

log = logging.getLogger(__name__)


class ChoreoApp(App[ChoreoError | None]):
    """Returns the error that stopped a live collector, if one did. Any other
    failure ends the app with the terminal restored and no traceback on it:
    the traceback goes to the log, ``crash`` holds the exception for the
    command to report in one line."""

    CSS_PATH = "app.tcss"
    TITLE = "choreo"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        # As in `choreo collect` and every other command: Ctrl-C quits (also from the
        # search box), the same way as q (Textual's default only says to press Ctrl-Q).
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(
        self,
        ctx: AppContext | None,
        *,
        problem: str | None = None,
        reconstruction: Reconstruction | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self._problem = problem
        self._reconstruction = reconstruction
        self._boot = (
            NoticeScreen("choreo", "Opening the store…")
            if ctx is not None
            else NoticeScreen("Cannot open the store", f"{problem or 'no store given'}\n\nq quits.")
        )
        self._too_small: TooSmallScreen | None = None
        self._overview_waits = False  # ready, but the terminal is too small to show it
        self._stop = threading.Event()
        self._updating = False
        self._rejudging = False
        self._quitting = False
        self.crash: BaseException | None = None
        self.closing = False  # set on the way out: workers then leave the screens alone
        if ctx is not None:
            self.sub_title = ctx.store_label

    def get_default_screen(self) -> Screen[None]:
        return self._boot

    async def on_event(self, event: events.Event) -> None:
        # Keys in the order the terminal sent them, before any is forwarded to a widget.
        if isinstance(event, events.Key) and not event.is_forwarded and self.ctx is not None:
            opens_search = (
                event.key == "slash"
                and isinstance(self.screen, DataScreen)
                and not isinstance(self.focused, Input)
            )
            if self.ctx.type_ahead.on_key(event, opens_search):
                return
        await super().on_event(event)

    # -- failures ---------------------------------------------------------
    def _deliver(self, callback: Callable[..., object], *args: object) -> None:
        """From a worker: run ``callback`` on the UI thread, unless closing."""
        if self.closing or get_current_worker().is_cancelled:
            return
        self.call_from_thread(callback, *args)

    def _handle_exception(self, error: Exception) -> None:
        # Textual would print a long traceback with locals to the terminal on
        # exit; the log file gets it instead and the command says one line.
        cause = error.error if isinstance(error, WorkerFailed) else error
        if self.closing and self.crash is None and isinstance(cause, ReaderClosed | RuntimeError):
            # A worker refused new work, or finished, while the app closes: not what ended it.
            log.debug("a dashboard worker stopped while it closed: %s", cause)
            return
        typed = store_failure(cause, self.ctx.store_label if self.ctx is not None else None)
        if typed is not None and self.crash is None:
            # A store failing under the dashboard (damaged, disk full) ends it
            # with the typed one-line error (the CLI raises what run()
            # returns): bad input or a bad disk, not a bug.
            self._stop.set()
            self.exit(typed, return_code=typed.exit_code)
            return
        if self.crash is None:
            # A worker's failure arrives wrapped; the cause is what to report.
            self.crash = error.error if isinstance(error, WorkerFailed) else error
            log.error("the dashboard failed", exc_info=self.crash)
        self._return_code = 1
        if self._exception is None:  # Pilot re-raises it in tests
            self._exception = error
            self._exception_event.set()
        self._close_messages_no_wait()

    # -- start-up ---------------------------------------------------------
    def on_mount(self) -> None:
        self._check_size(*self.size)
        if self.ctx is None:
            return
        if self.ctx.live is not None:
            # The live source reconstructs and judges on its first update.
            self._collect(self.ctx.live)
            self.set_interval(LIVE_REFRESH_S, self._live_tick)
            self._open_overview()
            return
        self._start(self.ctx)

    @work(thread=True, exclusive=True, group="start")
    def _start(self, ctx: AppContext) -> None:
        events, instances = ctx.reader.counts()
        label = ctx.store_label
        if events == 0:
            self._deliver(
                self._boot.show,
                "Empty store",
                f"{label} holds no events yet.\n\nFill it with `choreo collect --bootstrap HOST:PORT "
                "--topics REGEX`, `choreo import DUMP...`, or watch a cluster live with `choreo tail`.\n\n"
                "q quits.",
            )
            return
        rec = self._reconstruction
        if rec is not None:
            with ctx.reader.view() as store:
                stale = instances == 0 or rec.is_stale(store)
                if stale:
                    self._deliver(
                        self._boot.show,
                        "Reconstructing",
                        f"Reconstructing {count(events)} events in {label}…",
                    )
                else:
                    # Current tables: shown at once (their "as of" says when they were
                    # judged), then judged again at the dashboard's own "now".
                    self._deliver(self._open_overview)
                as_of = rec.bring_up_to_date(store)
            if as_of.kind is NowKind.LIVE:
                self._deliver(self.set_interval, REJUDGE_S, self._rejudge_tick)
            if stale:
                self._deliver(self._open_overview)
            else:
                self._deliver(self._updated, True)
            return
        if instances == 0:
            self._deliver(
                self._boot.show,
                "Not reconstructed yet",
                f"{label} holds {count(events)} events but no reconstructed instances, and it is "
                "open read-only: run `choreo reconstruct`, or open it without --read-only.\n\nq quits.",
            )
            return
        self._deliver(self._open_overview)

    def _open_overview(self) -> None:
        assert self.ctx is not None
        if self._too_small is not None:
            # The message stays on top; the overview follows once there is room.
            self._overview_waits = True
            return
        self.push_screen(OverviewScreen(self.ctx))

    # -- navigation -------------------------------------------------------
    def on_open_instances(self, message: OpenInstances) -> None:
        assert self.ctx is not None
        self.push_screen(InstancesScreen(self.ctx, message.query, message.focus_search))

    def on_open_stuck(self, message: OpenStuck) -> None:
        assert self.ctx is not None
        self.push_screen(StuckScreen(self.ctx, message.workflow))

    def on_open_instance(self, message: OpenInstance) -> None:
        assert self.ctx is not None
        self.push_screen(DetailScreen(self.ctx, message.instance_id))

    def on_open_model(self, message: OpenModel) -> None:
        assert self.ctx is not None
        self.push_screen(ModelScreen(self.ctx, message.workflow))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.ctx.log_path if self.ctx else None))

    # -- terminal size ----------------------------------------------------
    def on_resize(self, event: Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, w: int, h: int) -> None:
        small = w < MIN_SIZE[0] or h < MIN_SIZE[1]
        if small and self._too_small is None:
            self._too_small = TooSmallScreen(MIN_SIZE)
            self.push_screen(self._too_small)
        elif not small and self._too_small is not None:
            # Nothing else is pushed while it shows, so it is on top.
            self.pop_screen()
            self._too_small = None
            if self._overview_waits:
                self._overview_waits = False
                self._open_overview()

    # -- live -------------------------------------------------------------
    @work(thread=True, exclusive=True, group="collector")
    def _collect(self, feed: LiveSource) -> None:
        assert self.ctx is not None
        try:
            # A user of the store like any query: closing waits until the
            # batch in hand is stored and the collector's connection closed
            # (a store closed under it fails the close, not the collector).
            with self.ctx.reader.busy():
                feed.collect(self._stop)
        except ChoreoError as exc:
            # Cannot reach the cluster, refused settings: the command prints it.
            self._deliver(self.exit, exc)
            return
        if self._quitting and self.is_running:
            self._deliver(self.exit, None)

    def _rejudge_tick(self) -> None:
        if self._rejudging or self.closing or self.ctx is None or self._reconstruction is None:
            return
        self._rejudging = True
        self._rejudge(self.ctx, self._reconstruction)

    @work(thread=True, group="rejudge")
    def _rejudge(self, ctx: AppContext, rec: Reconstruction) -> None:
        try:
            with ctx.reader.view() as store:
                rec.bring_up_to_date(store)
        finally:
            self._deliver(self._rejudged)

    def _rejudged(self) -> None:
        self._rejudging = False
        self._updated(True)

    def _live_tick(self) -> None:
        if self._updating or self.closing or self.ctx is None or self.ctx.live is None:
            return
        self._updating = True
        self._live_update(self.ctx.live)

    @work(thread=True, group="live-update")
    def _live_update(self, feed: LiveSource) -> None:
        assert self.ctx is not None
        changed = False
        try:
            with self.ctx.reader.busy():  # the feed writes the store on a cursor of its own
                changed = feed.update()
        finally:
            self._deliver(self._updated, changed)

    def _updated(self, changed: bool) -> None:
        self._updating = False
        if changed and self.ctx is not None:
            self.ctx.version += 1
            if isinstance(self.screen, DataScreen):
                self.screen.post_message(StoreChanged(self.ctx.version))

    async def action_quit(self) -> None:
        live = self.ctx.live if self.ctx else None
        if live is None or not live.running:
            self.exit(None)
            return
        if self._quitting:
            return
        # Like `choreo collect` on Ctrl-C: the batch in hand is stored and
        # its offsets committed before the process ends.
        self._quitting = True
        self._stop.set()
        self.notify("Finishing the batch and committing offsets…", timeout=30)

    async def on_unmount(self) -> None:
        self.closing = True
        self._stop.set()
        if self.ctx is not None:
            # No new queries; those still running finish before whoever opened the store closes it.
            await asyncio.to_thread(self.ctx.reader.shut, CLOSE_WAIT_S)


def make_app(
    store: Store | None,
    *,
    store_label: str | None = None,
    problem: ChoreoError | None = None,
    live: LiveSource | None = None,
    reconstruction: Reconstruction | None = None,
    export_workflow: WorkflowExporter | None = None,
    export_dir: Path | None = None,
    log_path: str | None = None,
) -> ChoreoApp:
    """Build the dashboard around an open store (or the problem that stopped
    it from opening). ``reconstruction`` brings stale derived tables up to
    date first (in a worker); it needs the store open for writing."""
    if store is None:
        return ChoreoApp(None, problem=problem.one_line() if problem else None)
    ctx = AppContext(
        reader=StoreReader(store),
        store_label=store_label or str(store.path),
        live=live,
        export_workflow=export_workflow,
        export_dir=export_dir or Path.cwd(),
        log_path=log_path,
    )
    if store.read_only:
        reconstruction = None
    return ChoreoApp(ctx, reconstruction=reconstruction)
