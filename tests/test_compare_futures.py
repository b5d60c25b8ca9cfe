"""``ts-plugin compare`` on futures: with ``"trading_mode": "futures"`` in a --config file it compares the
futures candles of DATADIR/futures, as ``ts-plugin backtest`` does. On the shared Binance USD-M candles
(XRP/USDT:USDT) with a user's strategy trading long and short at leverage 3, the ``yours`` row equals
a plain ``freqtrade backtesting`` run (a subprocess of freqtrade's own command line) of the same
strategy and config, and ``plugin-builtin`` (mapped at the trades' leverage 3) closes the trades
``builtin`` closes; without the trading mode the folder is refused with the way to compare it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.builtin_match_runs import SAME, is_entry_candle_trailing
from tests.conftest import ROOT
from tests.plain_backtest import plain_backtesting
from tests.test_compare_runs import _check_rows, _compare, _same
from ts_plugin.cli import main
from ts_plugin.sandbox import SandboxExchange
from ts_plugin.tools.compare.comparison import Setup, run_comparison
from ts_plugin.tools.futures_candles import FUTURES_DEFAULTS, futures_pairs_in

FUTURES = ROOT.parent / "shared" / "data" / "binance_futures"
PAIR = "XRP/USDT:USDT"
TIMERANGE = "20211118-20211121"  # trade candles, mark and funding all present (the data's README)
# A user's futures strategy: long after a rise, short after a fall, at leverage 3; the mixin added.
USER_STRATEGY = textwrap.dedent('''
    from freqtrade.strategy import IStrategy
    from pandas import DataFrame

    from ts_plugin import SmartTrailingMixin


    class MyFuturesMoves(SmartTrailingMixin, IStrategy):
        INTERFACE_VERSION = 3
        timeframe = "5m"
        can_short = True
        stoploss = -0.05
        minimal_roi = {"0": 10.0}
        use_exit_signal = False
        startup_candle_count = 2
        smart_trailing = {"activation_profit": 0.015, "trail_distance": 0.005,
                          "breakeven": {"trigger_profit": 0.008, "offset": 0.002}}

        def leverage(self, pair, current_time, current_rate, proposed_leverage, max_leverage, entry_tag,
                     side, **kwargs):
            return 3.0

        def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe["move"] = dataframe["close"] / dataframe["close"].shift(1) - 1
            return dataframe

        def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe["enter_long"] = (dataframe["move"] > 0.003).astype(int)
            dataframe["enter_short"] = (dataframe["move"] < -0.003).astype(int)
            return dataframe

        def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            return dataframe
''')
# The user's config: futures and a stake; margin mode and pricing left to compare's futures defaults.
USER_CONFIG = {"trading_mode": "futures", "stake_currency": "USDT", "stake_amount": 100, "dry_run_wallet": 1000,
               "max_open_trades": 1}


def _need_futures() -> None:
    if not (FUTURES / "futures").is_dir():
        pytest.skip(f"real Binance futures candles not present at {FUTURES} (the shared real data, see its README)")


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "strategies"
    folder.mkdir()
    (folder / "my_futures_moves.py").write_text(USER_STRATEGY)
    config = tmp_path / "futures.json"
    config.write_text(json.dumps(USER_CONFIG))
    return folder, config


def _plain_backtest(tmp_path: Path, folder: Path, config: Path) -> dict:
    """freqtrade's own ``backtesting`` command, offline against a sandbox serving the futures pair; its
    stats. The base config and the futures defaults compare puts under the user's config, then it."""
    defaults = tmp_path / "plain-futures-defaults.json"
    defaults.write_text(json.dumps(FUTURES_DEFAULTS))
    sandbox = SandboxExchange(futures_pairs_in(FUTURES)).start()
    try:
        return plain_backtesting(sandbox, [PAIR], tmp_path, "plain", "MyFuturesMoves", folder,
                                 [defaults, config], FUTURES, TIMERANGE)
    finally:
        sandbox.stop()


@pytest.mark.slow
def test_yours_row_equals_plain_freqtrade_backtesting_of_futures_at_leverage_3(capsys, tmp_path):
    _need_futures()
    folder, config = _setup(tmp_path)
    report, progress = _compare(capsys, tmp_path, "--strategy", "MyFuturesMoves", "--strategy-path", str(folder),
                                "--datadir", str(FUTURES), "--timerange", TIMERANGE, "--config", str(config),
                                "--variants", "off", "yours")
    rows = _check_rows(report, ["off", "yours"])
    assert rows["yours"]["exits"]["trailing_stop"] > 0
    assert "NOTE: futures" not in progress  # one leverage, no mapped row: nothing to say about it
    stats = _plain_backtest(tmp_path, folder, config)
    _same(rows["yours"], stats)
    trades = stats["trades"]
    assert {trade["is_short"] for trade in trades} == {False, True}  # long and short
    assert {trade["leverage"] for trade in trades} == {3.0}
    assert {trade["pair"] for trade in trades} == {PAIR}


@pytest.mark.slow
def test_plugin_builtin_equals_builtin_trade_for_trade_at_a_constant_leverage_3(tmp_path):
    """freqtrade's built-in trails trailing_stop_positive / 3 behind the peak at leverage 3: mapped at the
    trades' one leverage, plugin-builtin closes the same trades, long and short, except where a trailing
    exit on the entry candle is priced by freqtrade's other worst case (builtin_match.py)."""
    _need_futures()
    folder, _ = _setup(tmp_path)
    # every entry signal opens a trade whatever the open ones do (position stacking, no trade limit, a
    # wallet that never runs out): a trade closed on another candle cannot shift the later entries
    config = tmp_path / "stacking.json"
    config.write_text(json.dumps({**USER_CONFIG, "position_stacking": True, "max_open_trades": -1,
                                  "dry_run_wallet": 1_000_000}))
    said: list[str] = []
    outcome = run_comparison(Setup(strategy="MyFuturesMoves", strategy_path=folder, datadir=FUTURES,
                                   userdir=tmp_path / "ud", configs=[config], timerange=TIMERANGE,
                                   chosen=["builtin", "plugin-builtin"]), progress=said.append)
    assert outcome.mapped_leverage == 3.0
    assert any("every trade had leverage 3" in line for line in said) and not any("NOTE" in line for line in said)
    builtin, plugin = (outcome.results[name]["trades"] for name in ("builtin", "plugin-builtin"))
    assert {trade["leverage"] for trade in builtin + plugin} == {3.0}
    assert {trade["is_short"] for trade in builtin} == {False, True}
    assert sum(trade["exit_reason"] == "trailing_stop_loss" for trade in builtin) > 0
    assert len(plugin) == len(builtin) > 0
    twins = {(t["pair"], t["open_date"], t["is_short"]): t for t in plugin}
    assert len(twins) == len(plugin)
    identical = entry_candle = 0
    for trade in builtin:
        twin = twins[(trade["pair"], trade["open_date"], trade["is_short"])]
        if all(trade[key] == twin[key] for key in (*SAME, "close_rate")):
            identical += 1
        else:  # only freqtrade's worst-case price of a trailing exit on the entry candle may differ
            assert is_entry_candle_trailing(trade) or is_entry_candle_trailing(twin), (trade, twin)
            entry_candle += 1
    assert identical > entry_candle
    print(f"{identical} of {len(builtin)} trades identical, {entry_candle} differ at an entry-candle trailing exit")


def test_a_futures_folder_without_the_trading_mode_is_refused_with_the_way_out(capsys, tmp_path):
    _need_futures()
    folder, _ = _setup(tmp_path)
    assert main(["compare", "--userdir", str(tmp_path / "ud"), "--strategy", "MyFuturesMoves",
                 "--strategy-path", str(folder), "--datadir", str(FUTURES), "--timeframe", "5m"]) == 2
    err = capsys.readouterr().err
    assert f"--datadir {FUTURES}: no 5m feather candles" in err
    assert '"trading_mode": "futures"' in err and "Traceback" not in err
