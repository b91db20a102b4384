"""The Textual app. ``make_app`` is the one way to build it, shared by the
CLI (``choreo tui``, ``choreo tail``, the demo) and the tests: everything the
app uses — the store reader, the live feed, the exporter — is handed in."""

from __future__ import annotations

import threading
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.events import Resize
from textual.screen import Screen

from choreo.core.errors import ChoreoError
from choreo.core.store import Store
from choreo.tui.context import AppContext, LiveSource, Reconstruction, WorkflowExporter
from choreo.tui.data.format import count
from choreo.tui.data.reader import StoreReader
from choreo.tui.messages import OpenInstance, OpenInstances, OpenModel, StoreChanged
from choreo.tui.screens.base import DataScreen
from choreo.tui.screens.detail import DetailScreen
from choreo.tui.screens.help import HelpScreen
from choreo.tui.screens.instances import InstancesScreen
from choreo.tui.screens.model import ModelScreen
from choreo.tui.screens.notice import NoticeScreen, TooSmallScreen
from choreo.tui.screens.overview import OverviewScreen

MIN_SIZE = (80, 24)
LIVE_REFRESH_S = 0.5  # how often live events are reconstructed and shown, at most


class ChoreoApp(App[ChoreoError | None]):
    """Returns the error that stopped a live collector, if one did."""

    CSS_PATH = "app.tcss"
    TITLE = "choreo"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("q", "quit", "Quit"),
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
        self._quitting = False
        if ctx is not None:
            self.sub_title = ctx.store_label

    def get_default_screen(self) -> Screen[None]:
        return self._boot

    # -- start-up ---------------------------------------------------------
    def on_mount(self) -> None:
        self._check_size(*self.size)
        if self.ctx is None:
            return
        if self.ctx.live is not None:
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
            self.call_from_thread(
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
                if instances == 0 or rec.is_stale(store):
                    self.call_from_thread(
                        self._boot.show,
                        "Reconstructing",
                        f"Reconstructing {count(events)} events in {label}…",
                    )
                    rec.rebuild(store)
        elif instances == 0:
            self.call_from_thread(
                self._boot.show,
                "Not reconstructed yet",
                f"{label} holds {count(events)} events but no reconstructed instances, and it is "
                "open read-only: run `choreo reconstruct`, or open it without --read-only.\n\nq quits.",
            )
            return
        self.call_from_thread(self._open_overview)

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
        try:
            feed.collect(self._stop)
        except ChoreoError as exc:
            # Cannot reach the cluster, refused settings: the command prints it.
            self.call_from_thread(self.exit, exc)
            return
        if self._quitting and self.is_running:
            self.call_from_thread(self.exit, None)

    def _live_tick(self) -> None:
        if self._updating or self.ctx is None or self.ctx.live is None:
            return
        self._updating = True
        self._live_update(self.ctx.live)

    @work(thread=True, group="live-update")
    def _live_update(self, feed: LiveSource) -> None:
        changed = False
        try:
            changed = feed.update()
        finally:
            self.call_from_thread(self._updated, changed)

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

    def on_unmount(self) -> None:
        self._stop.set()


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
        reader=StoreReader(store, live=live is not None),
        store_label=store_label or str(store.path),
        live=live,
        export_workflow=export_workflow,
        export_dir=export_dir or Path.cwd(),
        log_path=log_path,
    )
    if store.read_only:
        reconstruction = None
    return ChoreoApp(ctx, reconstruction=reconstruction)
