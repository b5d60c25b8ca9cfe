"""``ts-plugin status`` warns of an exchange stop behind the bot's only when it is a real lag.

Every move of the bot's stop leaves the exchange's stop behind for a moment: until freqtrade's next
question, or the policy's interval. That moment is normal and must not read as an alarm (the live
status test met it as ``exchange stop behind (waiting)``); a gap that outlasts the policy's limits,
which the bot itself raises as a WARNING, must show. The health file is written by the real plugin
(governor and lag alarm over a stand-in exchange); status reads it beside a real database.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.freqtrade_helpers import add_trade, make_strategy, tick
from tests.test_governor import StandInExchange
from tests.test_readonly_db import _close_bot_connections, _fill
from tests.test_status import row, status
from ts_plugin.exchange.lag import ALARM_SLACK_S
from ts_plugin.strategy.health_identity import health_file_name

LAG_WARNING = "exchange stop behind"


def _bot_with_a_trailing_trade(db):
    strategy = make_strategy()
    strategy.config["user_data_dir"] = db.parent  # freqtrade's user_data, where the database is
    strategy.config["db_url"] = f"sqlite:///{db}"  # the health file names its database
    strategy.order_types = {**strategy.order_types, "stoploss_on_exchange": True}
    strategy.dp = None
    strategy._ts_install_governor(StandInExchange())
    trade = add_trade(50000.0)
    _fill(strategy, trade, trade.entry_side, 50000.0, 0)
    tick(strategy, trade, 52000, 1)  # ACTIVE, the bot's stop at 51740
    return strategy, trade


def _behind(strategy, trade, at: datetime) -> None:
    """freqtrade asks with the exchange's stop an emergency gap below the bot's (as after a jump)."""
    governor = strategy._ts_governor
    key = (trade.pair, trade.id)
    governor.lag.gap(key, governor.watches.of(key), 45000.0, 51740.0, False, at.timestamp())


def test_a_moment_behind_is_no_warning_a_lag_beyond_the_limits_is(db, capsys):
    strategy, trade = _bot_with_a_trailing_trade(db)
    limit_s = strategy._ts_governor.settings.min_update_interval_s + ALARM_SLACK_S
    now = datetime.now(timezone.utc)
    start = now - timedelta(seconds=limit_s + 60)

    _behind(strategy, trade, start)
    strategy.bot_loop_start(current_time=start + timedelta(seconds=5))  # health written 5 s into it
    code, out, _ = status("--db-url", f"sqlite:///{db}", capsys=capsys)
    assert code == 0
    assert f"Health file: {db.parent / health_file_name(f'sqlite:///{db}')}, written " in out  # read, not ignored
    assert LAG_WARNING not in row(out, trade.id)

    _behind(strategy, trade, start + timedelta(seconds=limit_s + 1))  # still behind past the limits
    assert strategy._ts_governor.counters["alarm_behind"] == 1  # the bot's own WARNING
    strategy.bot_loop_start(current_time=now - timedelta(seconds=10))
    _close_bot_connections()
    code, out, _ = status("--db-url", f"sqlite:///{db}", capsys=capsys)
    assert code == 0
    assert f"{LAG_WARNING} (waiting)" in row(out, trade.id)
