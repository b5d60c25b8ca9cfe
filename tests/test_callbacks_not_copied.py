"""freqtrade hands the plugin's own callbacks the trade itself, not a deep copy of it.

freqtrade's ``strategy_safe_wrapper`` deep-copies the trade before every strategy callback unless the
callback's ``__qualname__`` starts with ``IStrategy.``; the plugin marks its own callbacks so
(``hooks.library_callback``). That check is what keeps a backtest with the plugin cheaper than one
with a constant ``custom_stoploss``: a deep copy of the trade per call is the largest single cost of
a backtest (BENCHMARKS.md). Nothing else would notice if a freqtrade release changed it, so these
tests call the callbacks through freqtrade's real wrapper, as ``IStrategy`` and ``Backtesting`` do.
"""

from __future__ import annotations

import inspect

import pytest
from freqtrade.strategy.strategy_wrapper import strategy_safe_wrapper

from tests.freqtrade_helpers import OPENED, AuditStrategy, add_trade, book_fill, make_strategy
from ts_plugin import SmartTrailingMixin

# Each marked callback, the plugin part it hands the trade to, and how freqtrade wraps and calls it
# (IStrategy.ft_stoploss_adjust, IStrategy.should_exit's custom_exit, Backtesting's order_filled).
# The trade's position among the part's arguments is the last item.
CALLBACKS = {
    "custom_stoploss": ("_ts_stoploss_part", {"default_retval": None, "supress_error": True}, 1),
    "custom_exit": ("_ts_exit_part", {"default_retval": False}, 0),
    "order_filled": ("_ts_fill_part", {"supress_error": True}, 1),
}

COST = ("every backtest and hyperopt now pays freqtrade's deep copy of the trade on each call of the "
        "plugin's {name}, and custom_stoploss runs on every candle of every open trade: that copy is the "
        "largest single cost of a backtest (BENCHMARKS.md: a constant custom_stoploss, which pays it, "
        "took 1.7x to 3x the plugin's wall time)")


class UserNamedStoploss(AuditStrategy):
    """A strategy's own custom_stoploss: the plugin wraps it and keeps its name, so freqtrade copies."""

    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, after_fill,
                        **kwargs):
        return None


def _marked() -> set[str]:
    return {name for name, value in vars(SmartTrailingMixin).items()
            if inspect.isfunction(value) and value.__qualname__.endswith("[ts_plugin]")}


def _arguments(name: str, trade) -> dict:
    common = {"pair": trade.pair, "trade": trade, "current_time": OPENED}
    if name == "custom_stoploss":
        return {**common, "current_rate": 50500.0, "current_profit": 0.01, "after_fill": False}
    if name == "custom_exit":
        return {**common, "current_rate": 50500.0, "current_profit": 0.01}
    return {**common, "order": book_fill(trade, trade.entry_side, 50000.0, 50000.0, trade.amount)}


def _received(strategy, name: str, trade, monkeypatch) -> list:
    """Call ``strategy.<name>`` through freqtrade's wrapper; the trades the plugin's part was given."""
    part, wrapper_options, position = CALLBACKS[name]
    seen: list = []
    inner = getattr(strategy, part)

    def recording(*args, **kwargs):
        seen.append(kwargs["trade"] if "trade" in kwargs else args[position])
        return inner(*args, **kwargs)

    monkeypatch.setattr(strategy, part, recording)
    strategy_safe_wrapper(getattr(strategy, name), **wrapper_options)(**_arguments(name, trade))
    return seen


def test_the_plugin_marks_exactly_its_trade_callbacks():
    assert _marked() == set(CALLBACKS), (
        "the plugin's callbacks marked as library code changed; extend CALLBACKS so each is checked "
        "through freqtrade's wrapper")


@pytest.mark.parametrize("name", sorted(CALLBACKS))
def test_freqtrade_hands_the_plugins_own_callback_the_trade_itself(name, db, monkeypatch):
    trade = add_trade(50000.0)
    seen = _received(make_strategy(), name, trade, monkeypatch)
    assert seen, f"the plugin's part of {name} did not run through freqtrade's strategy_safe_wrapper"
    assert all(received is trade for received in seen), (
        f"freqtrade's strategy_safe_wrapper (freqtrade.strategy.strategy_wrapper) now deep-copies the trade "
        f"for the plugin's {name} although its __qualname__ is "
        f"{getattr(SmartTrailingMixin, name).__qualname__!r}: freqtrade changed the check that skips the "
        f"copy for IStrategy's own methods (it was: __qualname__ starts with 'IStrategy.'); "
        + COST.format(name=name) + ". Adapt ts_plugin.strategy.hooks.library_callback to the new check.")


def test_a_user_named_callback_still_gets_freqtraders_copy(db, monkeypatch):
    """The companion: the wrapper still copies for a strategy's own code, as measured (so the test
    above proves the marking, not a wrapper that stopped copying altogether)."""
    trade = add_trade(50000.0)
    strategy = make_strategy(UserNamedStoploss)
    assert type(strategy).custom_stoploss.__qualname__ == "UserNamedStoploss.custom_stoploss"
    seen = _received(strategy, "custom_stoploss", trade, monkeypatch)
    assert seen and all(received is not trade for received in seen), (
        "freqtrade's strategy_safe_wrapper no longer deep-copies the trade for a strategy's own "
        "custom_stoploss: its copy rule changed; re-measure BENCHMARKS.md's like-for-like figures "
        "(they assume that copy) and check the plugin's own marking still holds")
    assert all(received.id == trade.id and received.open_rate == trade.open_rate for received in seen)
