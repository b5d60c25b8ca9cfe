"""``ts-plugin status --db-url postgresql+psycopg://...`` on a real PostgreSQL server: it shows what it
shows for the same trades on SQLite, and writes nothing. Skipped with a message where no server can run."""

from __future__ import annotations

import json

import pytest

from tests.restart_scenarios import Database
from tests.test_readonly_db import build_bot_database
from ts_plugin.cli import main

pytest_plugins = ["tests.pg_fixtures"]

TABLES = ("trades", "orders", "trade_custom_data")
MOMENT_KEYS = ("at", "database", "last_move_age_s", "age_s")  # when and where it ran, not what it read


def _written(url: str) -> dict:
    """The trades a bot leaves in its database (tests/test_readonly_db.py's set), through freqtrade's
    own persistence; the bot's connections are closed afterwards. Their ids by name."""
    database = Database(url).open()
    ids = build_bot_database()
    database.close()
    return ids


def _status(capsys, url: str) -> dict:
    code = main(["status", "--db-url", url, "--json", "--all"])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def _content(server, url: str) -> dict:
    name = url.rsplit("/", 1)[1]
    with server.connect(name) as connection:
        return {table: connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall() for table in TABLES}


def _without_moments(value):
    if isinstance(value, dict):
        return {k: _without_moments(v) for k, v in value.items() if k not in MOMENT_KEYS}
    if isinstance(value, list):
        return [_without_moments(v) for v in value]
    return value


def test_status_on_postgres_shows_what_it_shows_on_sqlite(capsys, postgres_url, tmp_path):
    ids = _written(postgres_url)
    assert _written(f"sqlite:///{tmp_path / 'tradesv3.sqlite'}") == ids
    on_postgres = _status(capsys, postgres_url)
    on_sqlite = _status(capsys, f"sqlite:///{tmp_path / 'tradesv3.sqlite'}")
    assert on_postgres["database"].startswith("PostgreSQL database postgresql+psycopg://")
    assert _without_moments(on_postgres) == _without_moments(on_sqlite)

    active = next(t for t in on_postgres["open_trades"] if t["trade_id"] == ids["active"])
    assert (active["phase"], active["peak"], active["bot_stop"]) == ("ACTIVE", 52000, 51740)
    assert active["exchange_stop_order"]["id"] == "stop-7" and active["exchange_moves"] == 2
    corrupt = next(t for t in on_postgres["open_trades"] if t["trade_id"] == ids["corrupt"])
    assert corrupt["warnings"]
    (closed,) = on_postgres["closed_trades"]
    assert closed["exit_reason"] == "trailing_stop_loss" and closed["phase_at_exit"] == "ACTIVE"


@pytest.mark.parametrize("driver", ["postgresql+psycopg", "postgresql"])
def test_status_writes_nothing_on_postgres(capsys, postgres_server, postgres_url, driver):
    """No write transaction anywhere on the server while status runs, and every row as it was."""
    _written(postgres_url)
    url = postgres_url.replace("postgresql+psycopg://", f"{driver}://")
    before = _content(postgres_server, postgres_url)
    first = postgres_server.last_transaction_id()
    assert _status(capsys, url)["open_trades_count"] == 4
    assert postgres_server.last_transaction_id() == first + 1
    assert _content(postgres_server, postgres_url) == before


def test_a_postgres_database_that_is_missing_or_not_freqtrades_is_named(capsys, postgres_server):
    with pytest.raises(SystemExit) as missing:
        main(["status", "--db-url", postgres_server.url("no_such_bot")])
    assert missing.value.code == 2
    assert 'database "no_such_bot" does not exist' in capsys.readouterr().err
    empty = postgres_server.url(postgres_server.create_database())
    with pytest.raises(SystemExit) as other:
        main(["status", "--db-url", empty])
    assert other.value.code == 2 and "is not a freqtrade database" in capsys.readouterr().err
