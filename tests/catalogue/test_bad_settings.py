"""Promise: a bad setting (config file, option) is a one-line cause and exit 2
before anything is touched, never a traceback (issue 15, findings 9 and 11).

Config numbers are finite and in range (and never pasted into SQL); every
command checks the whole config, not only the commands that use a part.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.catalogue_helpers import FIXTURE_DUMP, assert_one_line, fixture_store
from tests.support.import_helpers import choreo


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield fixture_store(tmp_path_factory.mktemp("settings") / "s.duckdb")


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ("[reconstruct]\ndefault_timeout = inf\n", "reconstruct.default_timeout"),
        ("[reconstruct]\nstuck_factor = inf\n", "reconstruct.stuck_factor"),
        ("[reconstruct]\nstuck_factor = nan\n", "reconstruct.stuck_factor"),
        ("[reconstruct]\nmin_overdue = 1e300\n", "reconstruct.min_overdue"),
        ("[reconstruct]\nredelivery_window = inf\n", "reconstruct.redelivery_window"),
        ("[workflows.order]\ntimeout = inf\n", "workflows.order.timeout"),
        ('[extract]\ntype_from = ["bogus"]\n', "extract.type_from"),
    ],
)
def test_bad_config_numbers_and_sources(store: Path, tmp_path: Path, toml: str, says: str) -> None:
    cfg = tmp_path / "choreo.toml"
    cfg.write_text(toml)
    run = choreo("stuck", "--db", store, "--config", cfg)
    assert_one_line(run.code, run.err, says=says)


@pytest.mark.parametrize("command", ["import", "status"])
def test_now_out_of_range(store: Path, command: str) -> None:
    extra = [FIXTURE_DUMP] if command == "import" else []
    run = choreo(command, "--db", store, "--now", "99999999999999999999", *extra)
    assert_one_line(run.code, run.err, says="--now")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--connect-timeout", "inf"], "--connect-timeout"),
        (["--connect-timeout", "nan"], "--connect-timeout"),
        (["--until-idle", "nan"], "--until-idle"),
        (["-b", "127.0.0.1:99999"], "port"),
        (["-b", "127.0.0.1:0"], "port"),
        (["-b", "localhost:http"], "port"),
    ],
)
def test_bad_collect_options(tmp_path: Path, args: list[str], says: str) -> None:
    db = tmp_path / "s.duckdb"
    run = choreo("collect", "-b", "127.0.0.1:9", "-t", "orders", "--db", db, "--connect-timeout", "5", *args)
    assert_one_line(run.code, run.err, says=says)
    assert not db.exists()  # refused before the store was touched
