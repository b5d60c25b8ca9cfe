"""Restarts through a real SQLite database with a fresh strategy object: nothing is lost or replayed."""

import pytest
from freqtrade.persistence import Trade
from freqtrade.persistence.custom_data import _CustomData

from tests.freqtrade_helpers import add_trade, make_strategy, open_database, reload_trade, tick
from ts_plugin.exchange.wiring import StrategyLedger
from ts_plugin.store import CUSTOM_DATA_KEY


def _start_trade(strategy):
    trade = add_trade(50000.0)
    strategy.order_filled(pair=trade.pair, trade=trade, order=_entry_order(trade),
                          current_time=trade.open_date_utc)
    return trade


def _entry_order(trade):
    class FilledEntry:  # what order_filled reads from freqtrade's Order
        ft_order_side = trade.entry_side
        safe_amount = trade.amount

    return FilledEntry()


def test_audit_restart_scenario(db):
    strategy = make_strategy()
    trade = _start_trade(strategy)
    tick(strategy, trade, 51500, 30)
    tick(strategy, trade, 52000, 45)
    assert trade.stop_loss == pytest.approx(51740)
    before = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert before["phase"] == "ACTIVE" and before["peak"] == 52000

    open_database(db)  # the bot process restarts on the same database
    restarted = make_strategy()
    trade = reload_trade(trade.id)
    assert trade.get_custom_data(CUSTOM_DATA_KEY) == before
    tick(restarted, trade, 51800, 70)
    assert trade.stop_loss == pytest.approx(51740)
    assert trade.get_custom_data(CUSTOM_DATA_KEY) == before  # nothing changed, nothing written
    tick(restarted, trade, 52500, 80)
    assert trade.stop_loss == pytest.approx(52237.5)
    after = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert after["activated_at"] == before["activated_at"] and after["stop_raises"] == 3
    assert restarted._ts_events.counts["ACTIVATED"] == 0
    assert restarted.trailing_summary()["rebuilt"] == 0


PATH = [(50400, 10), (50900, 20), (51500, 30), (51300, 35), (52000, 45), (51800, 70), (52500, 80),
        (52400, 90)]


def _replay(db_path, restart_at):
    open_database(db_path)
    strategy = make_strategy(breakeven={"trigger_profit": 0.008, "offset": 0.002})
    trade = _start_trade(strategy)
    stops = []
    for index, (price, minutes) in enumerate(PATH):
        if index == restart_at:
            open_database(db_path)
            strategy = make_strategy(breakeven={"trigger_profit": 0.008, "offset": 0.002})
            trade = reload_trade(trade.id)
        tick(strategy, trade, price, minutes)
        stops.append(trade.stop_loss)
    stored = trade.get_custom_data(CUSTOM_DATA_KEY)
    Trade.session.remove()
    return stops, stored


@pytest.mark.parametrize("restart_at", [1, 2, 3, 5, 7])
def test_restart_is_invisible(tmp_path, restart_at):
    """The same ticks with a restart in between leave the same stops and the same stored object."""
    straight = _replay(tmp_path / "straight.sqlite", restart_at=None)
    restarted = _replay(tmp_path / "restarted.sqlite", restart_at=restart_at)
    assert restarted == straight
    assert straight[1]["breakeven_at"] is not None and straight[1]["phase"] == "ACTIVE"


def test_reload_config_keeps_state(db):
    """/reload_config re-creates the strategy object; the database session stays."""
    strategy = make_strategy()
    trade = _start_trade(strategy)
    tick(strategy, trade, 52000, 45)
    reloaded = make_strategy()
    tick(reloaded, trade, 51900, 50)
    assert trade.stop_loss == pytest.approx(51740)
    assert reloaded._ts_events.counts["ACTIVATED"] == 0
    assert trade.get_custom_data(CUSTOM_DATA_KEY)["stop_raises"] == 1


def test_trade_without_state_is_adopted_once_with_warning(db, caplog):
    """Plugin added to a running bot: the open trade is protected from its own facts, loudly."""
    trade = add_trade(50000.0)
    trade.adjust_min_max_rates(52000, 49900)
    trade.adjust_stop_loss(52000, 0.005)  # an earlier trailing stop at 51740
    Trade.commit()
    strategy = make_strategy()
    tick(strategy, trade, 51900, 60)
    tick(strategy, trade, 51950, 65)
    stored = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert stored["phase"] == "ACTIVE" and stored["peak"] == 52000 and stored["rebuilds"] == 1
    assert stored["stop"] == pytest.approx(51740)
    assert strategy.trailing_summary()["rebuilt"] == 1
    assert "event=WARNING" in caplog.text and "no stored state" in caplog.text
    tick(strategy, trade, 52600, 70)
    assert trade.stop_loss == pytest.approx(52600 * 0.995)


@pytest.mark.parametrize("corruption", ["str-value", "bad-json", "old-schema"])
def test_corrupt_state_is_rebuilt_and_readable_again(db, corruption, caplog):
    strategy = make_strategy()
    trade = _start_trade(strategy)
    tick(strategy, trade, 52000, 45)
    if corruption == "str-value":
        trade.delete_custom_data(CUSTOM_DATA_KEY)
        trade.set_custom_data(CUSTOM_DATA_KEY, "garbage")
    elif corruption == "bad-json":
        row = Trade.session.query(_CustomData).filter(_CustomData.ft_trade_id == trade.id).one()
        row.cd_value = "{not json"
        Trade.commit()
    else:
        trade.set_custom_data(CUSTOM_DATA_KEY, {"v": 0, "peak": 1})

    restarted = make_strategy()
    exits = tick(restarted, trade, 51900, 50)
    assert not exits
    assert trade.stop_loss == pytest.approx(51740)  # never loosened
    assert "unreadable" in caplog.text and restarted.trailing_summary()["rebuilt"] == 1
    again = make_strategy()
    tick(again, trade, 51950, 55)
    assert again.trailing_summary()["rebuilt"] == 0
    assert trade.get_custom_data(CUSTOM_DATA_KEY)["peak"] == 52000


def test_quiet_ticks_write_nothing(db):
    strategy = make_strategy()
    trade = _start_trade(strategy)
    tick(strategy, trade, 52000, 45)
    row = Trade.session.query(_CustomData).filter(_CustomData.ft_trade_id == trade.id).one()
    written = row.updated_at
    for minutes, price in enumerate([51990, 51900, 51950, 51800, 52000], start=50):
        tick(strategy, trade, price, minutes)
    Trade.session.refresh(row)
    assert row.updated_at == written


def test_exit_closes_state(db):
    strategy = make_strategy()
    trade = _start_trade(strategy)
    tick(strategy, trade, 52000, 45)
    exits = tick(strategy, trade, 51700, 50)
    assert exits and exits[0].exit_type.value == "trailing_stop_loss"
    trade.exit_reason = exits[0].exit_reason
    trade.is_open = False

    class FilledExit:
        ft_order_side = trade.exit_side
        safe_amount = trade.amount

    strategy.order_filled(pair=trade.pair, trade=trade, order=FilledExit(), current_time=trade.open_date_utc)
    stored = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert stored["phase"] == "CLOSED" and stored["exit_reason"] == "trailing_stop_loss"
    assert strategy.trailing_summary()["triggered"] == 1 and not strategy._ts_store.cache


def test_one_state_per_trade_when_the_session_reloads_the_trade(db):
    """SQLite hands open_date back without its timezone after a commit: still one cached state."""
    strategy = make_strategy()
    trade = _start_trade(strategy)
    tick(strategy, trade, 51500, 30)
    Trade.session.expire_all()  # the next attribute access reloads the row from SQLite
    tick(strategy, trade, 52000, 45)
    assert len(strategy._ts_store.cache) == 1
    assert StrategyLedger(strategy).state_of(reload_trade(trade.id)).peak == 52000
