"""The demo's choices that do not need a backtest: stake currency and refusing an empty folder."""

from ts_plugin.cli import main
from ts_plugin.tools.demo import stake_for


def test_usdt_candles_keep_the_demo_config_stake():
    assert stake_for({"BTC/USDT": 60_000.0, "ETH/USDT": 3_000.0}) == {}


def test_candles_quoted_in_btc_are_staked_in_btc():
    extra = stake_for({"ETH/BTC": 0.09, "LTC/BTC": 0.018, "XMR/BTC": 0.03})
    assert extra["stake_currency"] == "BTC" and extra["max_open_trades"] == 3
    assert extra["stake_amount"] == "unlimited"


def test_mixed_quotes_are_left_to_the_config():
    assert stake_for({"ETH/BTC": 0.09, "BTC/USDT": 60_000.0}) == {}


def test_a_folder_without_candles_is_refused_with_a_message(tmp_path, capsys):
    assert main(["demo", "--datadir", str(tmp_path)]) == 2
    assert f"No 5m feather candles in {tmp_path}" in capsys.readouterr().err
