"""The text of ``/trailing``: every field a trader needs per open trade, in freqtrade's Markdown style."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from freqtrade.exchange.exchange_utils import TICK_SIZE

from ts_plugin.core.state import Phase, TrailState
from ts_plugin.strategy.trailing_report import (
    NO_OPEN_TRADES,
    USAGE,
    TrailingRow,
    age_text,
    messages,
    parse_trade_id,
)

NOW = datetime(2026, 1, 5, 12, 30, tzinfo=timezone.utc).timestamp()


def _trade(trade_id=7, is_short=False, entry=100.0, leverage=1.0, stop_loss=95.0):
    return SimpleNamespace(id=trade_id, pair="ETH/USDT:USDT", is_short=is_short, open_rate=entry,
                           leverage=leverage, price_precision=0.01, precision_mode_price=TICK_SIZE,
                           stake_currency="USDT", stop_loss=stop_loss)


def _state(**changes):
    base = dict(is_short=False, entry=100.0, activation_price=101.5, peak=104.0, stop=103.48,
                phase=Phase.ACTIVE, opened_at=NOW - 3600, updated_at=NOW)
    return TrailState(**{**base, **changes})


def test_active_trade_with_its_exchange_stop_and_last_move():
    state = _state(exchange_stop=103.48, exchange_moved_at=NOW - 185)
    (text,) = messages([TrailingRow(_trade(), state, {}, "CLOSED")], NOW)
    lines = text.splitlines()
    assert lines[0] == "\N{SHIELD} *Smart trailing:* ETH/USDT:USDT (#7) `long`"
    assert "*Phase:* `ACTIVE` (trailing behind the peak)" in lines
    assert "*Entry:* `100.00 USDT`" in lines and "*Peak:* `104.00 USDT` (`+4.00%`)" in lines
    assert "*Bot stop:* `103.48 USDT` (locks in `+3.48%`)" in lines
    assert "*Exchange stop:* `103.48 USDT`, moved 12:26:55 UTC (3m ago)" in lines
    assert lines[-1] == "*Warnings:* none"


def test_waiting_short_with_leverage_shows_the_hard_stop_and_the_activation_price():
    state = _state(is_short=True, peak=99.0, stop=None, phase=Phase.WAITING, activation_price=98.5)
    (text,) = messages([TrailingRow(_trade(is_short=True, leverage=3.0, stop_loss=105.0), state)], NOW)
    assert "`short 3x`" in text and "*Phase:* `WAITING`" in text
    assert "*Activates at:* `98.50 USDT`" in text and "*Peak:* `99.00 USDT` (`+1.00%`)" in text
    assert "*Bot stop:* `105.00 USDT` (limits the loss to `-5.00%`) (hard stop)" in text
    assert "Exchange stop" not in text  # no stoploss on exchange: nothing to say about it


def test_warnings_in_words():
    state = _state(rebuilds=2, crossed_at=NOW)
    side = {"unprotected": True, "create_failed": True, "exchange_lagging": True, "last_skip": "rate_limited"}
    (text,) = messages([TrailingRow(_trade(), state, side, "OPEN")], NOW)
    warnings = text.splitlines()[-1]
    for words in ("stop through the price: exiting now", "state rebuilt from the trade x2",
                  "unprotected: no live stop on the exchange", "last stop placement failed",
                  "exchange stop behind (rate\\_limited)", "stop moves on the exchange paused"):
        assert words in warnings
    assert "*Exchange stop:* `none`" in text


def test_text_outside_code_spans_is_escaped_for_telegrams_markdown():
    trade = _trade()
    trade.pair = "1000_SHIB/USDT"
    (text,) = messages([TrailingRow(trade, _state(), {"exchange_lagging": True, "last_skip": "min_move"})], NOW)
    assert "1000\\_SHIB/USDT" in text and "(min\\_move)" in text
    outside_code = "".join(text.split("`")[::2]).replace("\\_", "")
    assert "_" not in outside_code


def test_trade_without_plugin_state_yet():
    (text,) = messages([TrailingRow(_trade(), None)], NOW)
    assert "Phase" not in text and "*Bot stop:* `95.00 USDT`" in text
    assert "no plugin state yet" in text


def test_one_trade_none_or_a_missing_one():
    rows = [TrailingRow(_trade(1), _state()), TrailingRow(_trade(2), _state())]
    assert len(messages(rows, NOW)) == 2
    (only,) = messages(rows, NOW, trade_id=2)
    assert "(#2)" in only
    assert messages(rows, NOW, trade_id=3) == ["\N{SHIELD} *Smart trailing:* no open trade #3."]
    assert messages([], NOW) == [NO_OPEN_TRADES]


@pytest.mark.parametrize("args, expected", [(None, None), ([], None), (["12"], 12), (["#12"], 12)])
def test_trade_id_argument(args, expected):
    assert parse_trade_id(args) == expected


@pytest.mark.parametrize("args", [["abc"], ["1", "2"], ["-1"], ["1.5"]])
def test_bad_argument_says_the_usage(args):
    with pytest.raises(ValueError, match="Usage"):
        parse_trade_id(args)
    assert "/trailing <trade_id>" in USAGE


@pytest.mark.parametrize("seconds, text", [(-3, "0s"), (45, "45s"), (720, "12m"), (11100, "3h 05m"),
                                           (187200, "2d 04h")])
def test_age_text(seconds, text):
    assert age_text(seconds) == text
