"""The restart scenarios (tests/restart_scenarios.py) on a real SQLite file, as freqtrade's default."""

import pytest

from tests.restart_scenarios import RestartScenarios


class TestRestartOnSqlite(RestartScenarios):
    @pytest.fixture
    def new_database_url(self, tmp_path):
        files = iter(range(100))
        return lambda: f"sqlite:///{tmp_path / f'tradesv3-{next(files)}.sqlite'}"
