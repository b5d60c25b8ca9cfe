"""exchange.native_backstop: validated like its neighbours; at start-up an exchange without a backstop
gets a WARNING naming it (and the bot runs on its regular stop), dry-run holds none."""

import logging
from types import SimpleNamespace

import pytest

from ts_plugin.core.config import ConfigError, parse_config
from ts_plugin.exchange.backstop_keeper import BINANCE_USDM_VENUE, BackstopKeeper
from ts_plugin.exchange.wiring import backstop_keeper


def test_off_by_default_and_strict():
    assert parse_config({}).exchange.native_backstop is False
    assert parse_config({"exchange": {"native_backstop": True}}).exchange.native_backstop is True
    for value, shown in (("yes", '"yes"'), (1, "1"), (None, "null")):
        with pytest.raises(ConfigError) as caught:
            parse_config({"exchange": {"native_backstop": value}})
        assert f"smart_trailing.exchange.native_backstop = {shown}: allowed: true or false" in str(caught.value)


def _governor(ccxt_id, mode, name):
    exchange = SimpleNamespace(_api=SimpleNamespace(id=ccxt_id), trading_mode=SimpleNamespace(value=mode),
                               name=name)
    return SimpleNamespace(exchange=exchange)


def test_binance_usdm_futures_gets_a_keeper():
    keeper = backstop_keeper(_governor("binanceusdm", "futures", "Binance"), True, dry_run=False)
    assert isinstance(keeper, BackstopKeeper) and keeper.venue is BINANCE_USDM_VENUE


@pytest.mark.parametrize("ccxt_id, mode, name, words", [
    ("binance", "spot", "Binance", "Binance spot: a trailingDelta stop would have to replace the regular stop"),
    ("bybit", "spot", "Bybit", "Bybit spot: no native trailing backstop is supported"),
    ("okx", "spot", "OKX", "OKX spot: no native trailing backstop is supported"),
])
def test_unsupported_exchange_is_named_in_a_warning(caplog, ccxt_id, mode, name, words):
    with caplog.at_level(logging.INFO, logger="ts_plugin"):
        assert backstop_keeper(_governor(ccxt_id, mode, name), True, dry_run=False) is None
    (line,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert words in line.getMessage() and "no native trailing backstop will be held" in line.getMessage()


def test_off_or_dry_run_holds_none_without_a_warning(caplog):
    with caplog.at_level(logging.INFO, logger="ts_plugin"):
        keeper = backstop_keeper(_governor("binanceusdm", "futures", "Binance"), False, dry_run=False)
        assert keeper is not None and not keeper.enabled  # off: it only cleans up what an earlier run left
        assert backstop_keeper(_governor("binance", "spot", "Binance"), False, dry_run=False) is None
        assert backstop_keeper(_governor("binanceusdm", "futures", "Binance"), True, dry_run=True) is None
        assert backstop_keeper(_governor("binanceusdm", "futures", "Binance"), False, dry_run=True) is None
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("dry-run holds no backstop" in r.getMessage() for r in caplog.records)


# ----- the backstop's id in the stored state ---------------------------------------------------------


def test_stored_backstop_round_trips_and_is_absent_when_none_is_held():
    import json
    from dataclasses import replace

    from ts_plugin.core.machine import new_state, step
    from ts_plugin.core.state import StateError, decode, encode

    config = parse_config({})
    state, _ = step(new_state(50000.0, False, 1_700_000_000.0, config), 52000.0, 1_700_003_600.0, config)
    plain = encode(state)
    assert "backstop_id" not in plain and decode(plain).backstop_id is None  # unchanged without one
    held = replace(state, backstop_id="3000007", backstop_native=0.5)
    stored = json.loads(json.dumps(encode(held)))
    assert stored["backstop_id"] == "3000007" and stored["backstop_native"] == 0.5
    assert encode(decode(stored)) == encode(held) and decode(stored).backstop_native == 0.5
    with pytest.raises(StateError, match="backstop_id"):
        decode({**stored, "backstop_id": 3000007})
    # its amount, and older backstops kept beside it until the price is back at the peak
    kept = replace(held, backstop_amount=1.97067, backstop_kept=("3000005",), backstop_kept_until=52000.0)
    stored = json.loads(json.dumps(encode(kept)))
    assert stored["backstop_kept"] == ["3000005"] and stored["backstop_amount"] == 1.97067
    assert encode(decode(stored)) == encode(kept) and "backstop_kept" not in encode(held)
    with pytest.raises(StateError, match="backstop_kept"):
        decode({**stored, "backstop_kept": "3000005"})


def test_client_id_names_the_trade():
    from ts_plugin.exchange.backstop import client_id, trade_id_of

    assert client_id(42, 1764000000123) == "tsbk-42-1764000000123" and len(client_id(10**7, 10**13)) <= 36
    assert trade_id_of(client_id(42, 7)) == 42
    assert [trade_id_of(c) for c in (None, "", "x-42-1", "tsbk-x-1", "sandboxalgo3000001")] == [None] * 5
