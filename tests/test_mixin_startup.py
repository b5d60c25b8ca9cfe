"""Start-up checks: a set-up in which the trailing stop would silently do nothing must not start."""

import logging

import pytest
from freqtrade.exceptions import OperationalException

from tests.freqtrade_helpers import AuditStrategy, make_strategy


def test_invalid_config_section_stops_start_up_naming_key_and_range():
    with pytest.raises(OperationalException) as caught:
        make_strategy(trail_distance=0)
    assert "smart_trailing.trail_distance = 0: allowed: > 0 and < 1" in str(caught.value)


def test_config_section_wins_over_class_defaults():
    strategy = make_strategy(activation_profit=0.03)
    assert strategy._ts_config().activation_profit == 0.03
    assert strategy._ts_config().trail_distance == 0.005  # from the class


def test_custom_stoploss_must_be_enabled():
    class NoCustom(AuditStrategy):
        use_custom_stoploss = False

    with pytest.raises(OperationalException, match="use_custom_stoploss = true"):
        make_strategy(NoCustom)


def test_builtin_trailing_is_refused():
    class BuiltIn(AuditStrategy):
        trailing_stop = True

    with pytest.raises(OperationalException, match="trailing_stop = true .* conflicts"):
        make_strategy(BuiltIn)


def test_a_broken_tick_is_logged_and_counted_never_raised(caplog):
    strategy = make_strategy()

    class Broken:
        id = 7
        open_date = None

    assert strategy.custom_stoploss("BTC/USDT", Broken(), None, 1.0, 0.0, False) is None
    assert strategy.trailing_summary()["tick_errors"] == 1
    assert "tick failed for trade 7" in caplog.text


def test_native_backstop_without_stoploss_on_exchange_is_said(caplog):
    """The backstop lives beside the exchange stop: asked for without one, a WARNING says none is held."""
    strategy = make_strategy(exchange={"native_backstop": True})
    assert not strategy.order_types.get("stoploss_on_exchange")
    with caplog.at_level(logging.INFO, logger="ts_plugin"):
        strategy.ft_bot_start()
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "native_backstop is on but order_types.stoploss_on_exchange is off" in line
