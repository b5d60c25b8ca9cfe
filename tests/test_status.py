"""Issue 9.1: ``ts-plugin status`` on a real freqtrade database with states the plugin wrote, beside
the health file the plugin wrote; read-only; clear errors."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from freqtrade.persistence import Trade

from tests.freqtrade_helpers import add_trade, make_strategy, open_database, tick
from tests.test_cli import TS_PLUGIN, USER_ENV
from tests.test_governor import StandInExchange
from tests.test_readonly_db import _close_bot_connections, _fill, _fingerprint, build_bot_database
from ts_plugin.cli import main
from ts_plugin.core.state import Phase, TrailState
from ts_plugin.exchange.circuit import CircuitState
from ts_plugin.strategy.health_identity import health_file_name
from ts_plugin.tools.readonly_db import open_database as open_read_only
from ts_plugin.tools.status_view import (build_status, format_age, format_when, phase_at_exit, read_health,
                                   status_text)


def status(*argv, capsys):
    code = main(["status", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def row(text, trade_id):
    """The table line of a trade (first table it appears in)."""
    return next(line for line in text.splitlines() if re.match(rf"\s*{trade_id}\s", line))


@pytest.fixture
def bot_db(db):
    ids = build_bot_database()
    _close_bot_connections()
    return db, ids


def test_table_of_open_trades(bot_db, capsys):
    db, ids = bot_db
    code, out, _ = status("--db-url", f"sqlite:///{db}", capsys=capsys)
    assert code == 0
    assert out.startswith(f"Smart trailing status of SQLite database {db}, ")
    header = next(line for line in out.splitlines() if line.startswith("ID"))
    assert header.split() == ["ID", "Pair", "Side", "Phase", "Entry", "Peak", "Bot", "stop", "Locks", "in",
                              "Exch.", "stop", "Last", "exch.", "move", "Moves/skips", "Warnings"]
    active = row(out, ids["active"])
    for cell in ("BTC/USDT", "long", "ACTIVE", "50000.00", "52000.00", "51740.00", "+3.48%",
                 "2026-01-05 12:46 (", " ago)", "2/5"):
        assert cell in active
    assert active.rstrip().endswith("-")  # no warnings
    assert active.count("51740.00") == 2  # bot stop and the exchange's stop order
    short = row(out, ids["short"])
    for cell in ("ETH/USDT", "short 3x", "WAITING", "3000.00", "2990.00", "3150.00", "-5.00%", "0/0",
                 "no exchange stop"):
        assert cell in short
    assert "no plugin state yet" in row(out, ids["before_plugin"])
    corrupt = row(out, ids["corrupt"])
    assert " ? " in corrupt and "0.50000" in corrupt and "corrupt state (expected a JSON object" in corrupt
    assert "SOL/USDT" not in out and "Closed trades" not in out
    assert "Health file: none found beside the database" in out


def test_all_adds_closed_trades_with_exit_reason_and_phase_at_exit(bot_db, capsys):
    db, ids = bot_db
    code, out, _ = status("--db-url", f"sqlite:///{db}", "--all", capsys=capsys)
    assert code == 0
    closed_part = out.split("Closed trades (1):", 1)[1]
    closed = row(closed_part, ids["closed"])
    for cell in ("SOL/USDT", "long", "2026-01-05 12:25 (", "150.00", "154.20", "+2.59%",
                 "trailing_stop_loss", "ACTIVE"):
        assert cell in closed


def test_json_for_machines(bot_db, capsys):
    db, ids = bot_db
    code, out, _ = status("--db-url", f"sqlite:///{db}", "--all", "--json", capsys=capsys)
    assert code == 0
    report = json.loads(out)
    assert report["plugin_state"] is True and report["health"] is None
    trades = {t["trade_id"]: t for t in report["open_trades"]}
    assert set(trades) == set(ids.values()) - {ids["closed"]}
    active = trades[ids["active"]]
    assert {k: active[k] for k in ("pair", "side", "phase", "entry", "peak", "exchange_stop",
                                   "exchange_moves", "exchange_skips", "last_move_at", "warnings")} == {
        "pair": "BTC/USDT", "side": "long", "phase": "ACTIVE", "entry": 50000.0, "peak": 52000.0,
        "exchange_stop": 51740.0, "exchange_moves": 2, "exchange_skips": 5,
        "last_move_at": "2026-01-05T12:46:00Z", "warnings": []}
    assert active["bot_stop"] == pytest.approx(51740) and active["locks_in"] == pytest.approx(0.0348)
    assert active["exchange_stop_order"]["id"] == "stop-7"
    assert trades[ids["short"]]["leverage"] == 3.0 and trades[ids["short"]]["warnings"] == ["no exchange stop"]
    assert trades[ids["before_plugin"]]["phase"] is None
    (closed,) = report["closed_trades"]
    assert closed["trade_id"] == ids["closed"] and closed["phase"] == "CLOSED"
    assert closed["phase_at_exit"] == "ACTIVE" and closed["exit_reason"] == "trailing_stop_loss"
    assert closed["close_profit"] == pytest.approx(154.2 / 150 * 0.999 / 1.001 - 1, abs=1e-4)


def test_status_writes_nothing(bot_db, capsys):
    db, _ = bot_db
    before = _fingerprint(db)
    for argv in ([], ["--all"], ["--json"]):
        assert status("--db-url", f"sqlite:///{db}", *argv, capsys=capsys)[0] == 0
    assert _fingerprint(db) == before


def test_status_while_the_bot_holds_an_open_write_transaction(bot_db, capsys):
    db, ids = bot_db
    bot = sqlite3.connect(db, timeout=0, isolation_level=None)
    bot.execute("BEGIN IMMEDIATE")
    bot.execute("UPDATE trades SET stop_loss = 52100 WHERE id = ?", (ids["active"],))
    code, out, _ = status("--db-url", f"sqlite:///{db}", capsys=capsys)
    assert code == 0 and "51740.00" in row(out, ids["active"])  # the last committed stop
    bot.execute("COMMIT")  # the bot was not held up: no lock left behind (timeout=0)
    bot.close()
    assert "52100.00" in row(status("--db-url", f"sqlite:///{db}", capsys=capsys)[1], ids["active"])


# ----- the health file beside the database ---------------------------------------------------------


def test_health_beside_the_database_adds_what_only_the_bot_knows(db, capsys):
    """The plugin itself writes the health file (real governor and reconciliation over a stand-in
    exchange): the trade never got a stop on the exchange and the circuit is open."""
    strategy = make_strategy()
    strategy.config["user_data_dir"] = db.parent  # freqtrade's user_data, where the database is
    strategy.config["db_url"] = f"sqlite:///{db}"  # the health file names and is named after it
    strategy.order_types = {**strategy.order_types, "stoploss_on_exchange": True}
    strategy.dp = None
    strategy._ts_install_governor(StandInExchange())
    trade = add_trade(50000.0)
    _fill(strategy, trade, trade.entry_side, 50000.0, 0)
    tick(strategy, trade, 52000, 1)
    now = datetime.now(timezone.utc)
    strategy.bot_loop_start(current_time=now - timedelta(seconds=400))
    strategy._ts_governor.breaker.state = CircuitState.OPEN
    strategy.bot_loop_start(current_time=now - timedelta(seconds=60))  # a reconciliation pass later
    _close_bot_connections()

    code, out, _ = status("--db-url", f"sqlite:///{db}", capsys=capsys)
    assert code == 0
    warnings = row(out, trade.id)
    assert "unprotected: no live stop on the exchange" in warnings
    assert "circuit open: exchange stop moves paused" in warnings
    health_line = next(line for line in out.splitlines() if line.startswith("Health file:"))
    assert health_line.startswith(f"Health file: {db.parent / health_file_name(f'sqlite:///{db}')}, written ")
    assert re.search(r"\(1m ago\)$", health_line)
    assert "since the bot started: circuit OPEN, states rebuilt 0, plugin errors 0" in out

    report = json.loads(status("--db-url", f"sqlite:///{db}", "--json", capsys=capsys)[1])
    assert report["health"]["circuit"] == "OPEN" and report["health"]["stale"] is False
    assert report["health"]["age_s"] >= 60


def test_a_stale_health_file_is_said_and_its_alarms_not_shown(bot_db):
    db, ids = bot_db
    with open_read_only(str(db)) as database:
        records = database.trades()
    now = datetime(2026, 1, 5, 14, 0, tzinfo=timezone.utc)
    health = {"at": "2026-01-05T13:00:00Z", "exchange": {"circuit": "OPEN"},
              "trades": {str(ids["active"]): {"unprotected": True}}}
    stale = build_status(records, read_health(health, "h.json", now), now, "db")
    text = status_text(stale)
    assert "Health file: h.json, written 13:00:00 (1h 00m ago)" in text
    assert "is the bot running? Exchange-side warnings from it are not shown." in text
    assert "unprotected" not in text and "circuit open" not in text
    fresh = build_status(records, read_health(health, "h.json", now - timedelta(minutes=58)), now, "db")
    assert "unprotected" in row(status_text(fresh), ids["active"])


def test_health_written_before_the_stop_was_placed_does_not_hide_it(bot_db):
    """A health file says "not placed yet"; the database shows the stop placed after that file was
    written: the database is the newer truth (the e2e status test met this race)."""
    db, ids = bot_db
    with open_read_only(str(db)) as database:
        records = database.trades()
    placed = next(r for r in records if r.id == ids["active"]).stoploss_order["placed_at"]
    health = {"at": (placed - timedelta(seconds=30)).isoformat(),
              "trades": {str(ids["active"]): {"awaiting_stop": True, "unprotected": True}}}
    now = placed + timedelta(seconds=30)
    text = status_text(build_status(records, read_health(health, "h.json", now), now, "db"))
    line = row(text, ids["active"])
    assert "not placed yet" not in line and "unprotected" not in line and "no exchange stop" not in line
    later = {**health, "at": (placed + timedelta(seconds=10)).isoformat()}  # written after: believed
    text = status_text(build_status(records, read_health(later, "h.json", now), now, "db"))
    assert "unprotected: no live stop on the exchange" in row(text, ids["active"])


def test_health_named_explicitly(bot_db, tmp_path, capsys):
    db, ids = bot_db
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"at": datetime.now(timezone.utc).isoformat(),
                                     "trades": {str(ids["short"]): {"awaiting_stop": True}}}))
    code, out, _ = status("--db-url", f"sqlite:///{db}", "--health", str(elsewhere), capsys=capsys)
    assert code == 0 and f"Health file: {elsewhere}, written" in out
    assert "exchange stop not placed yet" in row(out, ids["short"])
    assert "no exchange stop" not in row(out, ids["short"])


# ----- nothing to show, bad input ---------------------------------------------------------------------


def test_a_database_without_plugin_state_says_so(db, capsys):
    add_trade(100.0)
    _close_bot_connections()
    code, out, _ = status("--db-url", f"sqlite:///{db}", capsys=capsys)
    assert code == 1
    assert out.startswith("no plugin state in this database")
    assert "1 trades, none with smart_trailing custom data" in out
    code, out, err = status("--db-url", f"sqlite:///{db}", "--json", capsys=capsys)
    assert code == 1 and json.loads(out)["plugin_state"] is False
    assert err.startswith("no plugin state in this database")


def test_an_empty_freqtrade_database_says_so(db, capsys):
    code, out, _ = status("--db-url", f"sqlite:///{db}", capsys=capsys)
    assert code == 1 and "no plugin state in this database" in out and "it holds no trades yet" in out


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "tradesv3.sqlite", "no such database file: {path}"),
    (lambda tmp: _sqlite_without_trades(tmp / "other.sqlite"),
     "SQLite database {path} is not a freqtrade database (it has no 'trades' table)"),
])
def test_bad_databases_exit_2_with_a_clear_message(tmp_path, capsys, make, message):
    path = make(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["status", "--db-url", f"sqlite:///{path}"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"ts-plugin status: error: {message.format(path=path)}" in err and "Traceback" not in err


def _sqlite_without_trades(path):
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER)")
    return path


def test_a_missing_health_file_named_explicitly_is_an_error(bot_db, tmp_path, capsys):
    db, _ = bot_db
    with pytest.raises(SystemExit) as exited:
        main(["status", "--db-url", str(db), "--health", str(tmp_path / "nope.json")])
    assert exited.value.code == 2 and "no health file" in capsys.readouterr().err


def test_the_console_script(bot_db):
    db, ids = bot_db
    done = subprocess.run([TS_PLUGIN, "status", "--db-url", f"sqlite:///{db}"], capture_output=True,
                          text=True, timeout=120, env=USER_ENV)
    assert done.returncode == 0, done.stderr
    assert "ACTIVE" in row(done.stdout, ids["active"])
    done = subprocess.run([TS_PLUGIN, "status", "--db-url", "sqlite:///nowhere/tradesv3.sqlite"],
                          capture_output=True, text=True, timeout=120, env=USER_ENV)
    assert done.returncode == 2 and "no such database file" in done.stderr and "Traceback" not in done.stderr


# ----- pieces -------------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds, text", [(None, "-"), (-3, "0s"), (45, "45s"), (720, "12m"),
                                           (3 * 3600 + 300, "3h 05m"), (2 * 86400 + 4 * 3600, "2d 04h")])
def test_ages(seconds, text):
    assert format_age(seconds) == text


def test_times_are_utc_with_their_age():
    now = datetime(2026, 1, 5, 14, 0, tzinfo=timezone.utc)
    assert format_when(datetime(2026, 1, 5, 13, 57, tzinfo=timezone.utc), now) == "13:57:00 (3m ago)"
    assert format_when(datetime(2026, 1, 4, 10, 0, tzinfo=timezone.utc), now) == "2026-01-04 10:00 (1d 04h ago)"
    tokyo = timezone(timedelta(hours=9))
    assert format_when(datetime(2026, 1, 5, 22, 57, tzinfo=tokyo), now) == "13:57:00 (3m ago)"


@pytest.mark.parametrize("breakeven, activated, phase", [
    (None, None, "WAITING"), (10.0, None, "BREAKEVEN"), (10.0, 20.0, "ACTIVE"), (None, 20.0, "ACTIVE")])
def test_phase_at_exit(breakeven, activated, phase):
    state = TrailState(is_short=False, entry=100.0, activation_price=101.5, peak=102.0, stop=None,
                       phase=Phase.CLOSED, opened_at=0.0, updated_at=30.0, breakeven_at=breakeven,
                       activated_at=activated, exit_reason="trailing_stop_loss")
    assert phase_at_exit(state) == phase


def test_status_of_a_database_freqtrade_reopened(db, capsys):
    """What a restarted bot sees is what status sees: the bot re-opening (migrating) the database
    after status read it changes nothing for either."""
    ids = build_bot_database()
    _close_bot_connections()
    first = status("--db-url", str(db), "--json", capsys=capsys)[1]
    open_database(db)
    assert Trade.session.get(Trade, ids["active"]).get_custom_data("smart_trailing")["phase"] == "ACTIVE"
    _close_bot_connections()
    again = status("--db-url", str(db), "--json", capsys=capsys)[1]
    def rows(text):  # without the ages, which grow between the two runs
        return [{k: v for k, v in t.items() if not k.endswith("_age_s")} for t in json.loads(text)["open_trades"]]

    assert rows(again) == rows(first)
