"""The restart scenarios (tests/restart_scenarios.py) on a real PostgreSQL server (--db-url
postgresql+psycopg://...); skipped with a message where no server can run."""

import pytest

from tests.restart_scenarios import RestartScenarios

pytest_plugins = ["tests.pg_fixtures"]


class TestRestartOnPostgres(RestartScenarios):
    @pytest.fixture
    def new_database_url(self, postgres_server):
        return lambda: postgres_server.url(postgres_server.create_database())
