"""Issue 13.4: two bots sharing a user_data folder; one bot's health is never shown as another's.

Each bot writes its own health file (named after its database) saying which bot and database wrote
it; ``ts-plugin status`` reads only a file of the database it was asked about and says, in one line,
which file it ignored and whose it is.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone

import pytest

from tests.freqtrade_helpers import make_strategy
from tests.test_readonly_db import _close_bot_connections, build_bot_database
from tests.test_status import row, status
from ts_plugin.strategy.health import publish
from ts_plugin.strategy.health_identity import (LEGACY_HEALTH_FILE, belongs_to, database_identity, health_file_name,
                                       redacted_url)


@pytest.fixture
def two_bots(db):
    """Two databases in one user_data folder (``tradesv3.sqlite`` and ``other.sqlite``, same trades),
    and each bot's health file as the plugin writes it; the other bot's says its circuit is OPEN and
    the ACTIVE trade is unprotected."""
    ids = build_bot_database()
    _close_bot_connections()
    other = db.parent / "other.sqlite"
    shutil.copyfile(db, other)
    files = {}
    for name, path in (("bot-a", db), ("bot-b", other)):
        strategy = make_strategy()
        strategy.config.update(user_data_dir=db.parent, db_url=f"sqlite:///{path}", bot_name=name)
        publish(strategy, datetime.now(timezone.utc).timestamp())
        files[name] = db.parent / health_file_name(f"sqlite:///{path}")
    running = json.loads(files["bot-b"].read_text())
    running.update(exchange={"circuit": "OPEN", "unprotected_windows_ms": {"count": 4}},
                   trades={str(ids["active"]): {"unprotected": True}})
    files["bot-b"].write_text(json.dumps(running))
    return db, other, ids, files


def test_each_bot_writes_its_own_file_saying_whose_it_is(two_bots):
    db, other, _, files = two_bots
    assert files["bot-a"].name == "smart_trailing_health.tradesv3.json"
    assert files["bot-b"].name == "smart_trailing_health.other.json"
    written = json.loads(files["bot-a"].read_text())
    assert written["bot_name"] == "bot-a" and written["db_url"] == f"sqlite:///{db}"
    assert written["database"] == {"kind": "sqlite", "path": str(db), "file": "tradesv3.sqlite"}


def test_status_of_the_stopped_bot_never_shows_the_running_bots_health(two_bots, capsys):
    db, other, ids, files = two_bots
    # the running bot's view under the old shared name, as the first bot's status once found it
    shutil.copyfile(files["bot-b"], db.parent / LEGACY_HEALTH_FILE)
    code, out, err = status("--db-url", f"sqlite:///{db}", capsys=capsys)
    assert code == 0
    assert "unprotected" not in row(out, ids["active"]) and "circuit OPEN" not in out
    assert f"Health file: {files['bot-a']}, written " in out and err == ""
    files["bot-a"].unlink()  # the stopped bot never wrote its own: only the running bot's is there
    code, out, err = status("--db-url", f"sqlite:///{db}", capsys=capsys)
    assert code == 0 and "unprotected" not in row(out, ids["active"]) and "circuit OPEN" not in out
    assert err.splitlines() == [f"ignoring the health file {db.parent / LEGACY_HEALTH_FILE}: it belongs to "
                                f"bot 'bot-b' with the database sqlite:///{other}"]

    code, out, _ = status("--db-url", f"sqlite:///{other}", capsys=capsys)
    assert code == 0 and "unprotected: no live stop on the exchange" in row(out, ids["active"])
    assert "circuit OPEN" in out and "unprotected windows 4" in out


def test_a_health_file_named_by_hand_is_ignored_when_it_is_another_databases(two_bots, capsys):
    db, other, ids, files = two_bots
    code, out, err = status("--db-url", f"sqlite:///{db}", "--health", str(files["bot-b"]), capsys=capsys)
    assert code == 0 and "circuit OPEN" not in out and "unprotected" not in row(out, ids["active"])
    assert err.strip() == (f"ignoring the health file {files['bot-b']}: it belongs to bot 'bot-b' with the "
                           f"database sqlite:///{other}")


def test_an_old_file_that_does_not_say_whose_it_is_is_not_read(two_bots, capsys):
    db, _, ids, files = two_bots
    files["bot-a"].unlink()
    (db.parent / LEGACY_HEALTH_FILE).write_text(json.dumps(
        {"at": datetime.now(timezone.utc).isoformat(), "exchange": {"circuit": "OPEN"}}))
    code, out, err = status("--db-url", f"sqlite:///{db}", capsys=capsys)
    assert code == 0 and "circuit OPEN" not in out
    assert "does not say which database it belongs to" in err


def test_the_file_name_and_the_identity_of_a_database():
    assert health_file_name("sqlite:///tradesv3.dryrun.sqlite") == "smart_trailing_health.tradesv3.dryrun.json"
    assert health_file_name("sqlite://") == "smart_trailing_health.memory.json"
    assert health_file_name("postgresql+psycopg://ft:pw@db:5432/bot a") == "smart_trailing_health.bot_a.json"
    assert health_file_name(None) == LEGACY_HEALTH_FILE
    assert "s3cret" not in redacted_url("postgresql+psycopg://ft:s3cret@db:5432/freqtrade")
    server = {"database": database_identity("postgresql+psycopg://ft:s3cret@db:5432/freqtrade"),
              "bot_name": "x", "db_url": "postgresql+psycopg://ft:***@db:5432/freqtrade"}
    assert "s3cret" not in json.dumps(server)
    assert belongs_to(server, "postgresql://ft:other@127.0.0.1:5432/freqtrade") is None  # host alias
    assert belongs_to(server, "postgresql://ft@db:5432/another") == (
        "it belongs to bot 'x' with the database postgresql+psycopg://ft:***@db:5432/freqtrade")


def test_a_mounted_folder_matches_by_file_name_when_the_bots_path_is_not_here(tmp_path):
    """Docker: the bot wrote /freqtrade/user_data/tradesv3.sqlite; status reads the mounted copy."""
    database = tmp_path / "tradesv3.sqlite"
    database.write_bytes(b"")
    written = {"database": {"kind": "sqlite", "path": "/nonexistent/freqtrade/user_data/tradesv3.sqlite",
                            "file": "tradesv3.sqlite"}}
    assert belongs_to(written, f"sqlite:///{database}") is None
    assert belongs_to(written, f"sqlite:///{tmp_path / 'other.sqlite'}") is not None
