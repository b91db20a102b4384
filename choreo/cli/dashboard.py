"""Running the dashboard from a command (``tui``, ``tail``, ``demo``): the
terminal belongs to it, so any failure — in the app, in its workers, or in
the command around it — ends with the terminal restored, the traceback in the
log file, one line on stderr and a non-zero exit."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from choreo.core.errors import ChoreoError

if TYPE_CHECKING:
    from choreo.tui.app import ChoreoApp

log = logging.getLogger(__name__)


class DashboardFailed(ChoreoError):
    """A bug, not bad input: reported in one line, the traceback in the log."""

    exit_code = 1

    def __init__(self, command: str, error: BaseException, log_path: str) -> None:
        what = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        super().__init__(f"failed: {what} (the traceback is in {log_path})", title=command)


def raise_if_crashed(app: ChoreoApp, command: str, log_path: str) -> None:
    """After ``app.run()``: the app's own failure (logged by the app) as one line."""
    if app.crash is not None:
        raise DashboardFailed(command, app.crash, log_path)


@contextmanager
def failures_logged(command: str, log_path: str) -> Iterator[None]:
    """Around everything a dashboard command does while logs go to ``log_path``."""
    try:
        yield
    except (ChoreoError, KeyboardInterrupt):
        raise
    except Exception as exc:
        log.error("%s failed", command, exc_info=exc)
        raise DashboardFailed(command, exc, log_path) from None
