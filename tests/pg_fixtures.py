"""PostgreSQL fixtures; a test module that needs them declares ``pytest_plugins = ["tests.pg_fixtures"]``.

``postgres_server`` is one real server for the whole session, stopped at its end whatever happened;
``postgres_url`` is a fresh, empty database on it for each test (freqtrade's ``--db-url`` form). Where
no server can run (no binaries, no psycopg) the tests are skipped with a message naming what to install.
"""

from __future__ import annotations

import importlib.util

import pytest

from tests.postgres_server import DRIVER_HINT, PostgresServer, Unavailable


@pytest.fixture(scope="session")
def postgres_server():
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip(f"PostgreSQL tests skipped: {DRIVER_HINT}")
    try:
        server = PostgresServer()
    except Unavailable as reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    try:
        server.start()
    except Unavailable as reason:
        server.stop()
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A new empty database for this test; its SQLAlchemy URL (postgresql+psycopg://...)."""
    return postgres_server.url(postgres_server.create_database())
