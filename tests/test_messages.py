"""Issue 7.5: Telegram / webhook messages read like freqtrade's own; the log keeps key=value lines."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from freqtrade.enums import RunMode

from tests.freqtrade_helpers import OPENED, add_trade, make_strategy, tick
from ts_plugin.core.events import (
    CROSSED_DETAIL, EventLog, EventName, TradeView, format_message, format_price, trade_view,
)

TICK_SIZE, DECIMAL_PLACES, SIGNIFICANT_DIGITS = 4, 2, 3


def _trade(**kw):
    values = dict(is_short=False, open_rate=50000.0, leverage=1.0, price_precision=0.01,
                  precision_mode_price=TICK_SIZE, stake_currency="USDT")
    values.update(kw)
    return SimpleNamespace(**values)


@pytest.mark.parametrize("value, precision, mode, text", [
    (51242.499999999996, 0.01, TICK_SIZE, "51242.50"),
    (0.000012345678, 1e-08, TICK_SIZE, "0.00001235"),
    (3000.1, 2, DECIMAL_PLACES, "3000.10"),
    (1.23456789, 5, SIGNIFICANT_DIGITS, "1.2346"),
    (60893.909999999996, None, None, "60893.91"),
])
def test_prices_are_written_at_the_pairs_precision(value, precision, mode, text):
    view = TradeView(price_precision=precision, precision_mode=mode)
    assert format_price(value, view) == text


def test_an_activation_message_says_what_happened_and_what_the_stop_locks_in():
    view = trade_view(_trade(), stop=51242.499999999996)
    text = format_message("ACTIVATED", 12, "BTC/USDT",
                          {"price": 51500.0, "stop": None, "detail": "by price"}, view)
    lines = text.splitlines()
    assert lines[0] == "\N{SHIELD} *Smart trailing:* Trailing stop activated by price BTC/USDT (#12)"
    assert "*Direction:* `long`" in lines
    assert "*Entry:* `50000.00 USDT`" in lines and "*Price:* `51500.00 USDT`" in lines
    assert "*Stop:* `51242.50 USDT` (locks in `+2.49%` vs entry, before fees)" in lines
    assert "=" not in text  # not a key=value log line


def test_a_short_with_leverage_and_a_stop_still_below_the_entry():
    view = trade_view(_trade(is_short=True, open_rate=100.0, leverage=5.0, price_precision=0.001),
                      stop=101.5)
    text = format_message("BREAKEVEN", 3, "ETH/USDT:USDT", {"price": 99.1, "stop": 99.8}, view)
    assert "*Direction:* `short (5x)`" in text
    assert "*Stop:* `101.500 USDT` (limits the loss to `-1.50%` vs entry, before fees)" in text
    assert "*Price vs entry:* `+0.90%`" in text


@pytest.mark.parametrize("fields, headline", [
    ({"reason": "trailing_stop_loss", "phase": "ACTIVE", "price": 51700.0, "stop": 51740.0},
     "Closed by the trailing stop"),
    ({"reason": "trailing_stop_loss", "phase": "BREAKEVEN", "price": 50090.0, "stop": 50100.0},
     "Closed by the breakeven stop"),
    ({"reason": "stop_loss", "phase": "WAITING", "price": 47500.0, "stop": 47500.0}, "Closed by the hard stop"),
    ({"price": 50300.0, "stop": 50400.0, "detail": CROSSED_DETAIL},
     "Stop already at or through the price: exiting now"),
])
def test_exit_messages_name_what_closed_the_trade(fields, headline):
    text = format_message("TRIGGERED", 7, "BTC/USDT", fields, trade_view(_trade()))
    assert text.splitlines()[0].endswith(f"{headline} BTC/USDT (#7)")
    if "reason" in fields:
        assert f"*Exit reason:* `{fields['reason']}`" in text  # underscores only inside code spans


def test_free_text_cannot_break_telegram_markdown():
    text = format_message("WARNING", None, "-", {"reason": "bad `value` *here*_x"})
    assert "*Reason:* `bad 'value' *here*_x`" in text


def test_the_log_keeps_key_value_lines_and_the_message_goes_to_people(caplog):
    sent = []
    log = EventLog(verbose=True, send=sent.append)
    with caplog.at_level(logging.INFO, logger="ts_plugin"):
        log.emit(EventName.ACTIVATED, 12, "BTC/USDT", price=51500.0, stop=None, detail="by price",
                 trade=_trade(), stop_now=51242.5)
        log.emit(EventName.STOP_RAISED, 12, "BTC/USDT", price=51600.0, stop=51342.0, trade=_trade())
    assert "smart_trailing event=ACTIVATED trade_id=12 pair=BTC/USDT price=51500 detail=by price" in caplog.text
    assert "event=STOP_RAISED" in caplog.text
    assert len(sent) == 1 and sent[0].startswith("\N{SHIELD} *Smart trailing:* Trailing stop activated")
    assert log.activated_by == {"price": 1}


def test_governor_events_find_their_trade_and_a_failing_send_never_raises(caplog):
    log = EventLog(verbose=True, send=lambda text: (_ for _ in ()).throw(RuntimeError("telegram down")))
    log.lookup = lambda trade_id, pair: trade_view(_trade()) if trade_id == 4 else None
    with caplog.at_level(logging.INFO, logger="ts_plugin"):
        log.emit(EventName.STOP_ADOPTED, 4, "BTC/USDT", order_id="991", stop=50100.0, reason="answer lost")
    assert "could not send event message" in caplog.text
    sent = []
    log.send = sent.append
    log.emit(EventName.STOP_ADOPTED, 4, "BTC/USDT", order_id="991", stop=50100.0, reason="answer lost")
    assert "*Stop:* `50100.00 USDT` (locks in `+0.20%`" in sent[0] and "*Order id:* `991`" in sent[0]


def test_a_dry_run_bot_sends_readable_messages_for_its_trades(db):
    """Through the real adapter: a trade trails, the messages carry its precision and locked profit."""
    strategy = make_strategy(runmode=RunMode.DRY_RUN, breakeven={"trigger_profit": 0.008, "offset": 0.002})
    sent = []
    strategy.dp = SimpleNamespace(send_msg=lambda text, always_send=False: sent.append(text), _exchange=None)
    strategy.ft_bot_start()
    trade = add_trade(50000.0)
    trade.price_precision, trade.precision_mode_price = 0.01, TICK_SIZE
    fill = SimpleNamespace(ft_order_side=trade.entry_side, safe_amount=trade.amount, safe_price=50000.0)
    strategy.order_filled(pair=trade.pair, trade=trade, order=fill, current_time=OPENED)
    tick(strategy, trade, 50450.0, 5)  # breakeven
    tick(strategy, trade, 51500.0, 10)  # activation
    texts = [t for t in sent if "settings in force" not in t]
    assert [t.splitlines()[0] for t in texts] == [
        f"\N{SHIELD} *Smart trailing:* Breakeven stop set BTC/USDT (#{trade.id})",
        f"\N{SHIELD} *Smart trailing:* Trailing stop activated by price BTC/USDT (#{trade.id})",
    ]
    assert "*Stop:* `50100.00 USDT` (locks in `+0.20%` vs entry, before fees)" in texts[0]
    assert "*Stop:* `51242.50 USDT` (locks in `+2.49%` vs entry, before fees)" in texts[1]
