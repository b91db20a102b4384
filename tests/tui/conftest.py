"""Fixtures of the dashboard tests."""

from __future__ import annotations

import pytest

from tests.support.tui_fixtures import FixtureStore, build_fixture_store


@pytest.fixture(scope="session")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> FixtureStore:
    """All three example choreographies with the demo's default faults."""
    return build_fixture_store("mixed", tmp_path_factory.mktemp("tui-mixed"))
