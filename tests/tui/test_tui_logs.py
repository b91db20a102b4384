"""While the dashboard owns the terminal, logs go to a file, and back after."""

from __future__ import annotations

import logging
from pathlib import Path

from choreo.core.logsetup import logs_to_file, setup_logging


def test_logs_go_to_a_file_while_the_dashboard_runs(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        setup_logging(1)  # -v: to stderr
        before = list(root.handlers)
        path = tmp_path / "logs" / "choreo.log"
        with logs_to_file(path) as where:
            assert where == str(path)
            assert all(isinstance(h, logging.FileHandler) for h in root.handlers)
            logging.getLogger("choreo.test").info("while the TUI runs")
        assert root.handlers == before
        assert "while the TUI runs" in path.read_text()
        # Logs already going to a file stay there.
        setup_logging(1, tmp_path / "mine.log")
        with logs_to_file(path) as where:
            assert where == str(tmp_path / "mine.log")
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
            h.close()
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
