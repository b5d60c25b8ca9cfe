"""Restarts through a real trade database with a fresh strategy object: nothing is lost or replayed.

The scenarios are written once, in ``RestartScenarios``; each database's test module subclasses it and
provides ``new_database_url``, a callable returning the URL of a new, empty database (a SQLite file,
a PostgreSQL database). A restart closes every connection of the old "process" and opens the database
again with freqtrade's own ``init_db``, as a bot process does when it starts.
"""

from __future__ import annotations

import pytest
from freqtrade.persistence import Trade, init_db
from freqtrade.persistence.custom_data import _CustomData

from tests.freqtrade_helpers import OPENED, add_trade, book_fill, make_strategy, reload_trade, tick
from ts_plugin.exchange.wiring import StrategyLedger
from ts_plugin.strategy.store import CUSTOM_DATA_KEY

PATH = [(50400, 10), (50900, 20), (51500, 30), (51300, 35), (52000, 45), (51800, 70), (52500, 80),
        (52400, 90)]


class Database:
    """One trade database as successive bot processes see it."""

    def __init__(self, url: str) -> None:
        self.url = url

    def open(self) -> "Database":
        init_db(self.url)
        return self

    def close(self) -> None:
        """What a process's end does to its connections: uncommitted work is gone, nothing is held."""
        engine = Trade.session.get_bind()
        Trade.session.remove()
        _CustomData.session.remove()
        engine.dispose()

    def restart(self) -> None:
        self.close()
        self.open()


def start_trade(strategy):
    trade = add_trade(50000.0)
    strategy.order_filled(pair=trade.pair, trade=trade, order=_filled(trade.entry_side, trade.amount),
                          current_time=trade.open_date_utc)
    return trade


def _filled(side: str, amount: float):
    class FilledOrder:  # what order_filled reads from freqtrade's Order
        ft_order_side = side
        safe_amount = amount

    return FilledOrder()


def filled_away_from_the_quote(strategy, quote: float, price: float, is_short: bool = False):
    """A market entry asked at ``quote`` and filled at ``price``, as freqtrade books it (its hard stop
    re-set from the fill and flagged ``is_stop_loss_trailing``), the plugin's fill and after-fill tick."""
    trade = add_trade(quote, is_short=is_short)
    trade.price_precision, trade.precision_mode_price = 0.001, 4  # ccxt's TICK_SIZE, Bybit's XMR tick
    Trade.commit()
    order = book_fill(trade, trade.entry_side, quote, price, trade.amount)
    strategy.order_filled(pair=trade.pair, trade=trade, order=order, current_time=OPENED)
    after_fill(strategy, trade, price, minutes=1)
    return trade


def after_fill(strategy, trade, rate: float, minutes: float):
    """The call freqtrade makes right after each fill (custom_stoploss with after_fill)."""
    from datetime import timedelta

    strategy.ft_stoploss_adjust(rate, trade, OPENED + timedelta(minutes=minutes), trade.calc_profit_ratio(rate),
                                0, after_fill=True)
    Trade.commit()


def replay(database: Database, restart_at: int | None):
    """The ticks of PATH on a new trade, restarting the process before tick ``restart_at``."""
    database.open()
    strategy = make_strategy(breakeven={"trigger_profit": 0.008, "offset": 0.002})
    trade = start_trade(strategy)
    stops = []
    for index, (price, minutes) in enumerate(PATH):
        if index == restart_at:
            database.restart()
            strategy = make_strategy(breakeven={"trigger_profit": 0.008, "offset": 0.002})
            trade = reload_trade(trade.id)
        tick(strategy, trade, price, minutes)
        stops.append(trade.stop_loss)
    stored = trade.get_custom_data(CUSTOM_DATA_KEY)
    database.close()
    return stops, stored


class RestartScenarios:
    """The restart tests; a subclass named Test... provides the ``new_database_url`` fixture."""

    @pytest.fixture
    def database(self, new_database_url):
        database = Database(new_database_url()).open()
        yield database
        database.close()

    def test_audit_restart_scenario(self, database):
        strategy = make_strategy()
        trade = start_trade(strategy)
        tick(strategy, trade, 51500, 30)
        tick(strategy, trade, 52000, 45)
        assert trade.stop_loss == pytest.approx(51740)
        before = trade.get_custom_data(CUSTOM_DATA_KEY)
        assert before["phase"] == "ACTIVE" and before["peak"] == 52000

        database.restart()  # the bot process restarts on the same database
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

    @pytest.mark.parametrize("restart_at", [1, 2, 3, 5, 7])
    def test_restart_is_invisible(self, new_database_url, restart_at):
        """The same ticks with a restart in between leave the same stops and the same stored object."""
        straight = replay(Database(new_database_url()), restart_at=None)
        restarted = replay(Database(new_database_url()), restart_at=restart_at)
        assert restarted == straight
        assert straight[1]["breakeven_at"] is not None and straight[1]["phase"] == "ACTIVE"

    def test_reload_config_keeps_state(self, database):
        """/reload_config re-creates the strategy object; the database session stays."""
        strategy = make_strategy()
        trade = start_trade(strategy)
        tick(strategy, trade, 52000, 45)
        reloaded = make_strategy()
        tick(reloaded, trade, 51900, 50)
        assert trade.stop_loss == pytest.approx(51740)
        assert reloaded._ts_events.counts["ACTIVATED"] == 0
        assert trade.get_custom_data(CUSTOM_DATA_KEY)["stop_raises"] == 1

    def test_trade_without_state_is_adopted_once_with_warning(self, database, caplog):
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
    def test_corrupt_state_is_rebuilt_and_readable_again(self, database, corruption, caplog):
        strategy = make_strategy()
        trade = start_trade(strategy)
        tick(strategy, trade, 52000, 45)
        if corruption == "str-value":
            trade.delete_custom_data(CUSTOM_DATA_KEY)
            trade.set_custom_data(CUSTOM_DATA_KEY, "garbage")
        elif corruption == "bad-json":
            row = Trade.session.query(_CustomData).filter(_CustomData.ft_trade_id == trade.id,
                                                          _CustomData.cd_key == CUSTOM_DATA_KEY).one()
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

    def test_quiet_ticks_write_nothing(self, database):
        strategy = make_strategy()
        trade = start_trade(strategy)
        tick(strategy, trade, 52000, 45)
        rows = Trade.session.query(_CustomData).filter(_CustomData.ft_trade_id == trade.id).all()
        written = {row.cd_key: (row.updated_at, row.cd_value) for row in rows}
        assert CUSTOM_DATA_KEY in written
        for minutes, price in enumerate([51990, 51900, 51950, 51800, 52000], start=50):
            tick(strategy, trade, price, minutes)
        for row in rows:
            Trade.session.refresh(row)
        assert {row.cd_key: (row.updated_at, row.cd_value) for row in rows} == written

    def test_exit_closes_state(self, database):
        strategy = make_strategy()
        trade = start_trade(strategy)
        tick(strategy, trade, 52000, 45)
        exits = tick(strategy, trade, 51700, 50)
        assert exits and exits[0].exit_type.value == "trailing_stop_loss"
        trade.exit_reason = exits[0].exit_reason
        trade.is_open = False
        strategy.order_filled(pair=trade.pair, trade=trade, order=_filled(trade.exit_side, trade.amount),
                              current_time=trade.open_date_utc)
        stored = trade.get_custom_data(CUSTOM_DATA_KEY)
        assert stored["phase"] == "CLOSED" and stored["exit_reason"] == "trailing_stop_loss"
        assert strategy.trailing_summary()["triggered"] == 1 and not strategy._ts_store.cache

    def test_one_state_per_trade_when_the_session_reloads_the_trade(self, database):
        """The database hands open_date back without its timezone after a commit (SQLite and
        PostgreSQL both store it naive): still one cached state."""
        strategy = make_strategy()
        trade = start_trade(strategy)
        tick(strategy, trade, 51500, 30)
        Trade.session.expire_all()  # the next attribute access reloads the row from the database
        tick(strategy, trade, 52000, 45)
        assert len(strategy._ts_store.cache) == 1
        assert StrategyLedger(strategy).state_of(reload_trade(trade.id)).peak == 52000

    @pytest.mark.parametrize("is_short, quote, fill, quiet", [
        (False, 103.479, 103.796, [104.2, 103.9]),  # the Bybit soak's trade: 0.3 % above the quote
        (True, 103.479, 103.162, [102.8, 103.1]),
    ])
    def test_a_fill_away_from_the_quote_is_not_a_moved_stop(self, database, caplog, is_short, quote, fill, quiet):
        """freqtrade re-sets the hard stop from the fill and flags it trailing: nothing trailed, so the
        stored state is kept across a restart (it was rebuilt, its stop dropped, with a WARNING)."""
        strategy = make_strategy()
        trade = filled_away_from_the_quote(strategy, quote, fill, is_short)
        assert trade.is_stop_loss_trailing and trade.stop_loss != trade.initial_stop_loss  # freqtrade's flag
        for minutes, price in enumerate(quiet, start=5):
            tick(strategy, trade, price, minutes)
        before = trade.get_custom_data(CUSTOM_DATA_KEY)
        assert before["phase"] == "WAITING" and before["stop"] is None

        trade_id = trade.id
        database.restart()
        restarted, trade = make_strategy(), reload_trade(trade_id)
        tick(restarted, trade, quiet[-1], 20)
        assert restarted.trailing_summary()["rebuilt"] == 0 and "rebuilt from the trade" not in caplog.text
        assert trade.get_custom_data(CUSTOM_DATA_KEY) == before
        peak = fill * (0.98 if is_short else 1.02)  # past the 1.5 % activation: trails from the fill
        tick(restarted, trade, peak, 25)
        assert trade.get_custom_data(CUSTOM_DATA_KEY)["phase"] == "ACTIVE"
        assert trade.stop_loss == pytest.approx(peak * (1.005 if is_short else 0.995), abs=0.002)

    def test_an_adjustment_before_the_restart_is_not_a_moved_stop(self, database, caplog):
        """A buy at 50600 on an entry at 50000: average 50300, freqtrade's hard stop re-set from it
        (47785, flagged trailing); the state below activation is kept across the restart."""
        strategy = make_strategy()
        trade = filled_away_from_the_quote(strategy, 50000.0, 50000.0)  # filled at the quote
        tick(strategy, trade, 50300, 5)
        order = book_fill(trade, trade.entry_side, 50500, 50600, 0.01)
        strategy.order_filled(pair=trade.pair, trade=trade, order=order, current_time=OPENED)
        after_fill(strategy, trade, 50600, minutes=6)
        assert trade.open_rate == pytest.approx(50300) and trade.stop_loss == pytest.approx(47785)
        assert trade.is_stop_loss_trailing
        before = trade.get_custom_data(CUSTOM_DATA_KEY)
        assert before["phase"] == "WAITING" and before["stop"] is None and before["entry"] == pytest.approx(50300)

        trade_id = trade.id
        database.restart()
        restarted, trade = make_strategy(), reload_trade(trade_id)
        tick(restarted, trade, 50400, 10)
        assert restarted.trailing_summary()["rebuilt"] == 0 and "rebuilt from the trade" not in caplog.text
        assert trade.get_custom_data(CUSTOM_DATA_KEY) == before
        tick(restarted, trade, 51100, 15)  # past 50300 x 1.015 = 51054.5
        assert trade.get_custom_data(CUSTOM_DATA_KEY)["phase"] == "ACTIVE"
        assert trade.stop_loss == pytest.approx(51100 * 0.995)

    @pytest.mark.parametrize("edit, words", [
        ({"phase": "WAITING", "stop": None, "activated_at": None, "distance": None}, "no stored stop"),
        ({"stop": 50000.0}, "looser than the trade's stop"),
    ])
    def test_a_real_trailing_move_after_a_fill_away_and_an_adjustment_still_rebuilds(
            self, database, caplog, edit, words):
        """The trade trailed to 51740 after both: a row without that stop, or with a looser one,
        is still rebuilt, freqtrade's stop kept."""
        strategy = make_strategy()
        trade = filled_away_from_the_quote(strategy, 49900.0, 50000.0)
        book_fill(trade, trade.entry_side, 49950, 50000, 0.01)
        strategy.order_filled(pair=trade.pair, trade=trade, order=trade.orders[-1], current_time=OPENED)
        after_fill(strategy, trade, 50000, minutes=2)
        tick(strategy, trade, 52000, 45)
        assert trade.stop_loss == pytest.approx(51740)
        trade.set_custom_data(CUSTOM_DATA_KEY, {**trade.get_custom_data(CUSTOM_DATA_KEY), **edit})
        Trade.commit()

        trade_id = trade.id
        database.restart()
        restarted, trade = make_strategy(), reload_trade(trade_id)
        tick(restarted, trade, 51900, 50)
        assert words in caplog.text and restarted.trailing_summary()["rebuilt"] == 1
        assert trade.stop_loss == pytest.approx(51740)
        assert trade.get_custom_data(CUSTOM_DATA_KEY)["stop"] == pytest.approx(51740)
