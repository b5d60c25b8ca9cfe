"""Issue 9.5: the health view is written after the bot's first iteration and then every minute,
whatever the reconciliation interval, with a per-trade section keyed by trade id."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tests.freqtrade_helpers import OPENED, add_trade, make_strategy, tick
from tests.test_governor import StandInExchange
from tests.test_readonly_db import _fill
from ts_plugin.exchange import wiring
from ts_plugin.strategy.health import HEALTH_FILE, HEALTH_INTERVAL_S, HealthSchedule

RECONCILE_EVERY_S = 300.0  # exchange.orphan_check_interval_s, the default


def test_schedule_first_loop_next_loop_then_every_interval():
    schedule, published = HealthSchedule(), []
    for second in (0, 5, 10, 30, 59, 64, 65, 100, 125, 126):
        if schedule.due(second):
            schedule.mark(second)
            published.append(second)
    assert HEALTH_INTERVAL_S == 60
    assert published == [0, 5, 65, 125]


def _written_at(folder):
    """Seconds after OPENED of the health file's time stamp."""
    at = json.loads((folder / HEALTH_FILE).read_text())["at"]
    return round(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() - OPENED.timestamp())


def _loop(strategy, seconds):
    strategy.bot_loop_start(current_time=OPENED + timedelta(seconds=seconds))


@pytest.fixture
def bot(db, tmp_path):
    """A dry-run strategy with stoploss on exchange over a stand-in exchange, one open trade."""
    strategy = make_strategy()
    strategy.config["user_data_dir"] = tmp_path
    strategy.order_types = {**strategy.order_types, "stoploss_on_exchange": True}
    strategy.dp = None  # no whitelist: the reconciliation looks at the open trades only
    strategy._ts_install_governor(StandInExchange())
    trade = add_trade(50000.0)
    _fill(strategy, trade, trade.entry_side, 50000.0, 0)
    tick(strategy, trade, 52000, 0)  # ACTIVE at once
    return strategy, trade, tmp_path


def test_written_after_the_first_iteration_and_every_minute_apart_from_reconciliation(bot, mocker):
    strategy, trade, folder = bot
    reconciliations = mocker.spy(wiring, "reconcile_now")
    written = []
    for second in (0, 5, 10, 30, 64, 65, 90, 125, 300, 305):
        _loop(strategy, second)
        if not written or written[-1] != _written_at(folder):
            written.append(_written_at(folder))
    assert written == [0, 5, 65, 125, 300]  # start-up, after the first iteration, minutes, reconciliation
    assert [call.args[2] - OPENED.timestamp() for call in reconciliations.call_args_list] == [0, RECONCILE_EVERY_S]


def test_per_trade_section_has_the_counters_status_shows(bot):
    strategy, trade, folder = bot
    _loop(strategy, 0)  # the trade has no stop on the exchange yet: awaiting, not an alarm
    first = json.loads((folder / HEALTH_FILE).read_text())["trades"][str(trade.id)]
    assert first["phase"] == "ACTIVE" and first["stop"] == pytest.approx(51740)
    assert first["awaiting_stop"] is True and first["unprotected"] is False
    assert {"exchange_stop", "exchange_moved_at", "exchange_moves", "exchange_skips", "rebuilds",
            "last_skip", "create_failed", "exchange_behind_since"} <= set(first)
    _loop(strategy, RECONCILE_EVERY_S)  # still none a whole pass later: unprotected
    later = json.loads((folder / HEALTH_FILE).read_text())
    assert later["trades"][str(trade.id)]["unprotected"] is True
    assert later["last_reconciliation"]["unprotected_trades"] == [trade.id]


def test_without_stop_on_exchange_the_section_has_the_state_only(db, tmp_path):
    strategy = make_strategy()
    strategy.config["user_data_dir"] = tmp_path
    trade = add_trade(50000.0)
    _fill(strategy, trade, trade.entry_side, 50000.0, 0)
    tick(strategy, trade, 50100, 0)
    _loop(strategy, 0)
    health = json.loads((tmp_path / HEALTH_FILE).read_text())
    assert "exchange" not in health
    assert health["trades"] == {str(trade.id): {
        "phase": "WAITING", "stop": None, "exchange_stop": None, "exchange_moved_at": None,
        "exchange_moves": 0, "exchange_skips": 0, "stop_raises": 0, "rebuilds": 0}}
    assert not list(tmp_path.glob("*.partial"))  # written whole, then renamed
