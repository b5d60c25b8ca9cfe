"""Issue 9: freqtrade's database read strictly read-only, from a real database freqtrade's own
persistence wrote, with states the real plugin produced."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace
from datetime import timedelta, timezone

import pytest
from freqtrade.persistence import Order, Trade
from freqtrade.persistence.custom_data import _CustomData

from tests.freqtrade_helpers import OPENED, add_trade, make_strategy, tick
from ts_plugin.core.state import Phase, encode
from ts_plugin.strategy.store import CUSTOM_DATA_KEY
from ts_plugin.tools.readonly_db import DatabaseError, open_database

TICK_SIZE = 4  # ccxt's precision mode: price_precision is the tick


def _fill(strategy, trade, side, price, minutes):
    class Filled:  # what order_filled reads from freqtrade's Order
        ft_order_side = side
        safe_amount = trade.amount
        safe_price = price

    strategy.order_filled(pair=trade.pair, trade=trade, order=Filled(),
                          current_time=OPENED + timedelta(minutes=minutes))


def _open(strategy, entry, pair="BTC/USDT", is_short=False, tick_size=0.01):
    trade = add_trade(entry, is_short=is_short)
    trade.pair, trade.price_precision, trade.precision_mode_price = pair, tick_size, TICK_SIZE
    trade.stake_currency = "USDT"
    Trade.commit()
    _fill(strategy, trade, trade.entry_side, entry, 0)
    return trade


def _stop_order(trade, order_id, stop, is_open=True):
    order = Order(ft_trade_id=trade.id, ft_order_side="stoploss", ft_pair=trade.pair, ft_is_open=is_open,
                  ft_amount=trade.amount, ft_price=stop, order_id=order_id, status="open" if is_open else
                  "canceled", symbol=trade.pair, order_type="stop_loss_limit", side=trade.exit_side,
                  stop_price=stop, amount=trade.amount, order_date=OPENED + timedelta(minutes=50))
    Trade.session.add(order)
    Trade.commit()


def _with_exchange_side(trade, **fields):
    """What the exchange governor stores in the state when it moves the exchange's stop."""
    state = replace(make_strategy()._ts_store.read(trade), **fields)
    trade.set_custom_data(CUSTOM_DATA_KEY, encode(state))


def build_bot_database() -> dict[str, int]:
    """Trades as a dry-run bot with stoploss on exchange leaves them in an open database (``db``):
    an ACTIVE long with its exchange stop, a WAITING short without one, a closed trailing exit,
    a trade from before the plugin and one with a corrupt state. Their ids by name."""
    strategy = make_strategy()
    active = _open(strategy, 50000.0)
    tick(strategy, active, 51500, 30)
    tick(strategy, active, 52000, 45)  # ACTIVE, stop 51740
    _stop_order(active, "old-stop", 50400.0, is_open=False)
    _stop_order(active, "stop-7", 51740.0)
    _with_exchange_side(active, exchange_stop=51740.0, exchange_stop_id="stop-7",
                        exchange_moved_at=(OPENED + timedelta(minutes=46)).timestamp(),
                        exchange_moves=2, exchange_skips=5)

    short = _open(strategy, 3000.0, pair="ETH/USDT", is_short=True)
    short.leverage = 3.0
    Trade.commit()
    tick(strategy, short, 2990, 10)
    _with_exchange_side(short, exchange_stop=3150.0, exchange_stop_id="gone-1")  # no open order

    closed = _open(strategy, 150.0, pair="SOL/USDT")
    tick(strategy, closed, 155, 20)  # ACTIVE, stop 154.225
    closed.close_rate, closed.close_date = 154.2, OPENED + timedelta(minutes=25)
    closed.exit_reason, closed.is_open = "trailing_stop_loss", False
    closed.close_profit = closed.calc_profit_ratio(154.2)
    Trade.commit()
    _fill(strategy, closed, closed.exit_side, 154.2, 25)

    before_plugin = add_trade(2.5)
    before_plugin.pair = "XRP/USDT"
    Trade.commit()

    corrupt = _open(strategy, 0.5, pair="DOGE/USDT", tick_size=0.00001)
    corrupt.delete_custom_data(CUSTOM_DATA_KEY)
    corrupt.set_custom_data(CUSTOM_DATA_KEY, "garbage")
    return {"active": active.id, "short": short.id, "closed": closed.id,
            "before_plugin": before_plugin.id, "corrupt": corrupt.id}


def _close_bot_connections():
    """The bot's process ends its sessions: no connection of freqtrade's stays open."""
    engine = Trade.session.get_bind()
    Trade.session.remove()
    _CustomData.session.remove()
    engine.dispose()


def _fingerprint(path):
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_trades_are_read_as_freqtrade_wrote_them(db):
    ids = build_bot_database()
    with open_database(f"sqlite:///{db}") as database:
        records = {r.id: r for r in database.trades()}
        everything = {r.id: r for r in database.trades(include_closed=True)}
    assert set(records) == set(ids.values()) - {ids["closed"]}
    assert set(everything) == set(ids.values())

    active = records[ids["active"]]
    assert active.pair == "BTC/USDT" and not active.is_short and active.open_rate == 50000.0
    assert active.open_date == OPENED and active.open_date.tzinfo is timezone.utc
    assert active.stop_loss == pytest.approx(51740) and active.price_precision == 0.01
    assert active.stoploss_order == {"id": "stop-7", "stop": 51740.0, "status": "open",
                                     "placed_at": OPENED + timedelta(minutes=50)}
    state = active.smart_trailing
    assert state.phase is Phase.ACTIVE and state.peak == 52000 and state.stop == pytest.approx(51740)
    assert (state.exchange_moves, state.exchange_skips, state.exchange_stop_id) == (2, 5, "stop-7")

    short = records[ids["short"]]
    assert short.is_short and short.leverage == 3.0 and short.stoploss_order is None
    assert short.smart_trailing.phase is Phase.WAITING

    closed = everything[ids["closed"]]
    assert not closed.is_open and closed.exit_reason == "trailing_stop_loss" and closed.close_rate == 154.2
    assert closed.close_date == OPENED + timedelta(minutes=25)
    assert closed.smart_trailing.phase is Phase.CLOSED and closed.smart_trailing.activated_at is not None

    assert records[ids["before_plugin"]].smart_trailing is None
    assert not records[ids["before_plugin"]].has_smart_trailing
    corrupt = records[ids["corrupt"]]
    assert corrupt.smart_trailing is None and corrupt.has_smart_trailing
    assert corrupt.custom_data[CUSTOM_DATA_KEY] == "garbage"
    assert "expected a JSON object" in corrupt.smart_trailing_error


def test_custom_data_is_decoded_like_freqtrade_does(db):
    trade = add_trade(100.0)
    values = {"flag": True, "count": 3, "ratio": 0.25, "name": "x", "nested": {"a": [1, 2]}}
    for key, value in values.items():
        trade.set_custom_data(key, value)
    with open_database(str(db)) as database:  # a bare path is an SQLite file
        (record,) = database.trades()
    assert record.custom_data == values
    assert record.custom_data == {key: trade.get_custom_data(key) for key in values}  # freqtrade's reading


def test_unreadable_custom_data_is_reported_not_raised(db):
    trade = add_trade(100.0)
    trade.set_custom_data(CUSTOM_DATA_KEY, {"v": 1})
    _close_bot_connections()
    with sqlite3.connect(db) as writer:
        writer.execute("UPDATE trade_custom_data SET cd_value = '{not json'")
    with open_database(f"sqlite:///{db}") as database:
        (record,) = database.trades()
    assert record.smart_trailing is None and "could not be decoded" in record.smart_trailing_error


def test_reading_changes_nothing_on_disk(db):
    """The file is untouched. freqtrade keeps SQLite in WAL mode, whose readers share an index file:
    with the bot stopped, SQLite's reader creates its -shm and an empty -wal beside the file (as the
    bot's own next start would); nothing is written into them."""
    build_bot_database()
    _close_bot_connections()
    before = _fingerprint(db)
    with open_database(f"sqlite:///{db}") as database:
        database.trades(include_closed=True)
        database.trades()
    assert _fingerprint(db) == before
    assert {p.name for p in db.parent.iterdir()} <= {db.name, f"{db.name}-wal", f"{db.name}-shm"}
    wal = db.with_name(f"{db.name}-wal")
    assert not wal.exists() or wal.stat().st_size == 0


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_reads_beside_a_writer_holding_an_uncommitted_write_and_holds_no_lock(db, journal_mode):
    """A bot in the middle of its write transaction: the reader sees the last committed state and
    leaves no lock behind (the writer commits without waiting)."""
    ids = build_bot_database()
    _close_bot_connections()
    writer = sqlite3.connect(db, timeout=0, isolation_level=None)
    writer.execute(f"PRAGMA journal_mode={journal_mode}")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE trades SET stop_loss = 1 WHERE id = ?", (ids["active"],))
    with open_database(f"sqlite:///{db}") as database:
        seen = {r.id: r.stop_loss for r in database.trades()}
        assert seen[ids["active"]] == pytest.approx(51740)  # the committed value
        writer.execute("COMMIT")  # timeout=0: would fail if the reader still held a lock
        writer.execute("BEGIN EXCLUSIVE")  # nor does an idle reader block an exclusive writer
        writer.execute("COMMIT")
        assert {r.id: r.stop_loss for r in database.trades()}[ids["active"]] == 1
    writer.close()


def test_the_read_only_connection_refuses_writes(db):
    add_trade(100.0)
    with open_database(f"sqlite:///{db}") as database:
        with database._engine.connect() as connection:
            with pytest.raises(Exception, match="readonly|read-only|query_only|attempt to write"):
                connection.exec_driver_sql("UPDATE trades SET stop_loss = 1")


def test_a_missing_file_is_named_and_not_created(tmp_path):
    missing = tmp_path / "tradesv3.sqlite"
    with pytest.raises(DatabaseError, match=f"no such database file: {missing}"):
        open_database(f"sqlite:///{missing}")
    assert not missing.exists()


def test_a_sqlite_file_that_is_not_freqtrades_is_refused(tmp_path):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE things (id INTEGER)")
    with pytest.raises(DatabaseError, match="is not a freqtrade database .*no 'trades' table"):
        open_database(f"sqlite:///{other}")
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a database at all" * 40)
    with pytest.raises(DatabaseError, match="could not open SQLite database .*not a database"):
        open_database(str(text))


@pytest.mark.parametrize("url, message", [
    ("", "no database URL given"),
    ("sqlite://", "in-memory SQLite database holds no trades"),
    ("mysql://user@127.0.0.1/freqtrade", "unsupported database 'mysql'"),
    ("postgresql+psycopg://user:secret@127.0.0.1:9/freqtrade",
     r"could not open PostgreSQL database postgresql\+psycopg://user:\*\*\*@127.0.0.1:9/freqtrade"),
])
def test_bad_urls_and_unreachable_servers_are_named(url, message):
    with pytest.raises(DatabaseError, match=message) as raised:
        open_database(url)
    assert "secret" not in str(raised.value)
