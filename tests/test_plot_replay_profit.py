"""The plot replay with ``activation_basis: "profit_after_fees"``: the machine is fed freqtrade's own
``current_profit`` (after the trade's fees, with its leverage), so a replayed stop path activates where
the backtest activated, not earlier on the bare price.

- on hand-made candles: on spot a rise past entry x (1 + activation_profit) that fees leave short of
  it does not activate, the next, higher candle does; at leverage 3 (long and short) the profit
  ratio, about three times the move, activates on a rise short of that price level;
- on freqtrade's real backtest of Binance USD-M futures at leverage 3, long and short: every trade's
  replay activates at the moment the plugin activated in the run, holds the stop freqtrade held at the
  end and exits where freqtrade exited."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.backtest_strategies.move_entries_trailing import LEVERAGE_KEY
from tests.conftest import ROOT
from ts_plugin.core.config import parse_config
from ts_plugin.tools.plot.profit import profit_for
from ts_plugin.tools.plot.replay import BacktestTrade, Candle, replay

FEE = 0.001
SETTINGS = {"activation_basis": "profit_after_fees", "activation_profit": 0.015, "trail_distance": 0.005}


def _record(is_short: bool, leverage: float) -> dict:
    """The fields of freqtrade's exported trade record the replay reads."""
    return {"pair": "BTC/USDT:USDT", "open_rate": 100.0, "amount": 3.0, "fee_open": FEE, "fee_close": FEE,
            "is_short": is_short, "leverage": leverage}


@pytest.mark.parametrize("is_short", [False, True])
def test_futures_activation_on_the_leveraged_profit_after_fees(is_short):
    """Leverage 3: freqtrade's profit ratio is about three times the price move less the fees, so the
    plugin activates on a move well short of the 1.5 % price level; the replay must too."""
    sign = -1 if is_short else 1
    profit_at = profit_for(_record(is_short, 3.0), "futures")
    moves = [m / 10_000 for m in range(1, 150)]  # 0.01 % steps up to 1.49 %: all short of the price level
    first = next(move for move in moves if profit_at(100.0 * (1 + sign * move)) > SETTINGS["activation_profit"])
    before, reached = 100.0 * (1 + sign * (first - 0.0001)), 100.0 * (1 + sign * first)
    candles = [Candle(0, 100.0, 100.05, 99.95, 100.0),
               Candle(300, 100.0, max(before, 100.0), min(before, 100.0), before),
               Candle(600, before, max(reached, before), min(reached, before), reached)]
    trade = BacktestTrade(is_short=is_short, open_rate=100.0, open_time=0.0, close_time=600.0,
                          initial_stop=100.0 * (1 - sign * 0.05), leverage=3.0)
    config = parse_config(SETTINGS)
    run = replay(trade, candles, config, profit_at=profit_at)
    assert run.state.activated_at == 600
    assert run.stops[-1].phase == "ACTIVE" and run.stops[-1].time == 600
    assert replay(trade, candles, config).state.activated_at is None  # on price alone: not yet


def test_spot_fees_hold_activation_back_past_the_price_level():
    """Spot, no leverage: 1.6 % up is past the 1.5 % level, but after 0.1 % fees each way it is 1.4 %."""
    profit_at = profit_for(_record(False, 1.0), "spot")
    assert profit_at(101.6) < 0.015 < profit_at(101.8)
    candles = [Candle(0, 100.0, 100.1, 99.9, 100.0), Candle(300, 100.0, 101.6, 100.0, 101.5),
               Candle(600, 101.5, 101.8, 101.5, 101.7)]
    trade = BacktestTrade(is_short=False, open_rate=100.0, open_time=0.0, close_time=600.0, initial_stop=95.0)
    config = parse_config(SETTINGS)
    assert replay(trade, candles, config, profit_at=profit_at).state.activated_at == 600
    assert replay(trade, candles, config).state.activated_at == 300  # on price alone: one candle early


# ----- against freqtrade's backtesting ----------------------------------------------------------------

FUTURES = ROOT.parent / "shared" / "data" / "binance_futures"
FUTURES_PAIR = "XRP/USDT:USDT"
FUTURES_RANGE = "20211118-20211121"  # trade candles, mark and funding all present (the data's README)
# MoveEntriesTrailing recording the moment the plugin activated each trade in the run.
RECORDING_STRATEGY = textwrap.dedent('''
    from tests.backtest_strategies.move_entries_trailing import MoveEntriesTrailing


    class ActivationMoments(MoveEntriesTrailing):
        # breakeven on a 0.3 % rise: before the profit at leverage 3 reaches the activation
        smart_trailing = {**MoveEntriesTrailing.smart_trailing, "activation_basis": "profit_after_fees",
                          "breakeven": {"trigger_profit": 0.003, "offset": 0.001}}

        def __init__(self, config):
            super().__init__(config)
            self.activated = {}

        def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, after_fill, **kwargs):
            value = super().custom_stoploss(pair, trade, current_time, current_rate, current_profit, after_fill,
                                            **kwargs)
            state = self._ts_store.cache.get(self._ts_store.key(trade))
            if state is not None and state.activated_at is not None:
                opened = int(round(trade.open_date_utc.timestamp() * 1000))
                self.activated.setdefault((pair, opened), state.activated_at)
            return value
''')


@pytest.mark.slow
def test_replay_activates_where_a_futures_backtest_activated(tmp_path):
    if not (FUTURES / "futures").is_dir():
        pytest.skip(f"real Binance futures candles not present at {FUTURES} (the shared real data, see its README)")
    from tests.test_plot_replay import assert_replays_match
    from ts_plugin.sandbox import SandboxExchange, ccxt_overrides
    from ts_plugin.tools.demo import BACKTEST_CONFIG, build_backtest_config, run_backtest
    from ts_plugin.tools.futures_candles import FUTURES_DEFAULTS, futures_pairs_in
    from ts_plugin.tools.plot.sources import open_backtest, replay_backtest

    strategies = tmp_path / "strategies"
    strategies.mkdir()
    (strategies / "activation_moments.py").write_text(RECORDING_STRATEGY)
    user = tmp_path / "config.json"
    user.write_text(json.dumps({
        "trading_mode": "futures", "margin_mode": "isolated", "stake_currency": "USDT", "stake_amount": 100,
        "dry_run_wallet": 10_000, "max_open_trades": 1, "entry_pricing": FUTURES_DEFAULTS["entry_pricing"],
        "exit_pricing": FUTURES_DEFAULTS["exit_pricing"], LEVERAGE_KEY: 3.0}))
    sandbox = SandboxExchange(futures_pairs_in(FUTURES)).start()
    try:
        config = build_backtest_config(BACKTEST_CONFIG, FUTURES, ccxt_overrides(sandbox.url),
                                       strategy="ActivationMoments", strategy_path=strategies,
                                       pairs=[FUTURES_PAIR], user_data_dir=tmp_path, timeframe="5m",
                                       user_configs=[user], timerange=FUTURES_RANGE, export="trades")
        results, strategy = run_backtest(config)
    finally:
        sandbox.stop()
    assert strategy._ts_config().activation_basis == "profit_after_fees"
    source = open_backtest(tmp_path / "backtest_results", FUTURES, strategy_path=strategies)
    assert_replays_match(source)  # the stop held at the end, the exits: as freqtrade's run
    replayed = {(pair, item.record["open_timestamp"]): item.replay
                for pair, (_, items) in replay_backtest(source).items() for item in items}
    assert {key[0] for key in replayed} == {FUTURES_PAIR}
    records = next(iter(results["strategy"].values()))["trades"]
    assert {trade["is_short"] for trade in records} == {False, True} and {t["leverage"] for t in records} == {3.0}
    assert strategy.activated and len(strategy.activated) < len(replayed)  # some activated, some never did
    for key, run in replayed.items():
        assert run.state.activated_at == strategy.activated.get(key), key
