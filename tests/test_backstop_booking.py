"""A backstop's fill is booked exactly once, on its own trade, with freqtrade's real Order and Trade
records on a SQLite database and freqtrade's own recovery (``handle_onexchange_order``).

The defect: the keeper handed the fill to freqtrade under the regular stop's order id, so the fill's
own exchange id never reached freqtrade's orders. When the pair's next trade then found too little in
the wallet, freqtrade's recovery listed the pair's orders from shortly before that trade opened, met
the fill as an unknown order and booked it again, as the new trade's exit (seen: the next trade's
amount fell to 0.0094, the emergency exit sold only that, 0.9999 stayed open with no trade). And a
backstop that fired while the trade had no regular stop was booked by nobody but that recovery, which
closed the trade with no exit reason."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest
from freqtrade.exceptions import InvalidOrderException
from freqtrade.freqtradebot import FreqtradeBot
from freqtrade.persistence import Order, Trade

from tests.freqtrade_helpers import OPENED, add_trade, open_database
from ts_plugin.core.state import Phase, TrailState
from ts_plugin.exchange.backstop import BINANCE_USDM
from ts_plugin.exchange.backstop_keeper import BackstopKeeper, Venue
from ts_plugin.exchange.watch import Watches

STAMP = int(OPENED.timestamp() * 1000) + 60_000
FILL = {"id": "3000007", "id_stop": "7000007", "status": "closed", "status_stop": "triggered",
        "symbol": "BTC/USDT", "side": "sell", "type": "market", "amount": 0.9999, "filled": 0.9999,
        "remaining": 0.0, "average": 102.1, "price": 102.1, "cost": 102.09, "timestamp": STAMP,
        "lastTradeTimestamp": STAMP}
LISTED_FILL = {**{k: v for k, v in FILL.items() if k not in ("id_stop", "status_stop")}, "id": "7000007"}


class Keeping:
    """The keeper with a governor's surroundings around real trades (no exchange: the backstop's
    read answers ``FILL`` once it fired)."""

    def __init__(self) -> None:
        self.states: dict[int, TrailState] = {}
        self.fired = False
        exchange = SimpleNamespace(get_rate=lambda pair, refresh, side, is_short: 101.0,
                                   amount_to_precision=lambda pair, amount: round(amount, 5))
        ledger = SimpleNamespace(
            open_trade=lambda pair: next(iter(Trade.get_trades_proxy(pair=pair, is_open=True)), None),
            state_of=lambda trade: self.states.get(trade.id), peek=lambda trade: self.states.get(trade.id),
            save=lambda trade, state, persist=True: self.states.__setitem__(trade.id, state))
        self.governor = SimpleNamespace(
            exchange=exchange, ledger=ledger, reconciled=True, counters=Counter(), watches=Watches(),
            settings=SimpleNamespace(min_update_interval_s=60.0, cancel_foreign_stop_orders=False),
            _wall=lambda: 1000.0, breaker=SimpleNamespace(allows=lambda now: True),
            _guarded=lambda label, func, read_only=False: func(), alarm=lambda *a, **f: None,
            events=SimpleNamespace(emit=lambda *a, **f: None),
            _original={"cancel_stoploss_order": lambda oid, pair: None, "fetch_stoploss_order": self._read})
        venue = Venue("test", BINANCE_USDM, lambda *a: {"id": "3000007"}, lambda *a: None,
                      lambda order: order.get("clientOrderId", ""))
        self.keeper = BackstopKeeper(self.governor, venue)

    def _read(self, order_id: str, pair: str) -> dict:
        if order_id != "3000007":
            raise InvalidOrderException("unknown order")
        return dict(FILL) if self.fired else {"id": order_id, "status": "open", "filled": 0.0}

    def trailing(self, trade: Trade) -> None:
        self.states[trade.id] = TrailState(
            is_short=False, entry=100.0, activation_price=101.0, peak=102.6, stop=102.09, phase=Phase.ACTIVE,
            opened_at=0.0, updated_at=0.0, distance=0.005, backstop_id="3000007", backstop_native=0.5,
            backstop_amount=0.9999)


def regular_stop(trade: Trade) -> Order:
    stop = Order(ft_order_side="stoploss", ft_pair=trade.pair, ft_is_open=True, ft_amount=trade.amount,
                 ft_price=99.0, order_id="3000008", status="open", symbol=trade.pair, order_type="stop_market",
                 side="sell", price=99.0, amount=trade.amount, filled=0.0, remaining=trade.amount,
                 stop_price=99.0, order_date=OPENED)
    trade.orders.append(stop)
    Trade.commit()
    return stop


def freqtrade_books(trade: Trade, order_id: str, order: dict) -> None:
    """What freqtrade's ``update_trade_state`` does with an order it read: update the record named
    by the answer, then recompute the trade from the record named by the id it asked for."""
    trade.update_order(order)
    trade.update_trade(trade.select_order_by_order_id(order_id))
    Trade.commit()


def freqtrade_recovers(trade: Trade, listed: list[dict], wallet: float) -> None:
    """freqtrade's own recovery on ``trade`` (too little in the wallet to exit): the pair's orders
    on the exchange are ``listed``."""
    bot = SimpleNamespace(
        exchange=SimpleNamespace(fetch_orders=lambda pair, since: listed),
        update_trade_state=lambda trade, order_id, order, send_msg=True: freqtrade_books(trade, order_id, order),
        order_close_notify=lambda *a, **k: None, cancel_stoploss_on_exchange=lambda trade: trade,
        wallets=SimpleNamespace(get_owned=lambda pair, base: wallet))
    FreqtradeBot.handle_onexchange_order(bot, trade)


@pytest.fixture
def keeping(tmp_path):
    open_database(tmp_path / "trades.sqlite")
    yield Keeping()
    Trade.session.remove()


def entered(trade: Trade, order_id: str, amount: float, price: float) -> None:
    """The trade's entry filled, booked through freqtrade's own ``update_trade``."""
    entry = Order(ft_order_side="buy", ft_pair=trade.pair, ft_is_open=False, ft_amount=amount, ft_price=price,
                  order_id=order_id, status="closed", symbol=trade.pair, order_type="market", side="buy",
                  price=price, average=price, amount=amount, filled=amount, remaining=0.0, cost=price * amount,
                  order_date=OPENED, order_filled_date=OPENED)
    trade.orders.append(entry)
    trade.update_trade(entry)
    Trade.commit()


def next_trade(entry_id: str = "buy-next") -> tuple[Trade, dict]:
    """The pair's next trade, opened seconds after the backstop's fill, and its entry as listed."""
    trade = add_trade(entry=102.2)
    entered(trade, entry_id, 1.0093, 102.2)
    listed = {"id": trade.orders[0].order_id, "symbol": trade.pair, "side": "buy", "type": "market",
              "status": "closed", "amount": 1.0093, "filled": 1.0093, "remaining": 0.0, "average": 102.2,
              "price": 102.2, "timestamp": STAMP + 5000}
    return trade, listed


def test_a_backstop_fill_carried_by_the_stop_is_booked_once_under_its_own_id(keeping):
    trade = add_trade(entry=100.0)
    entered(trade, "buy-first", 0.9999, 100.0)
    stop = regular_stop(trade)
    keeping.trailing(trade)
    keeping.fired = True

    # freqtrade reads its stop: the keeper hands it the backstop's fill, freqtrade books it
    answer = keeping.keeper.after_fetch(stop.order_id, trade.pair, {"id": "3000008", "status": "open",
                                                                    "filled": 0.0, "amount": 0.9999})
    assert keeping.keeper.carried("7000007", trade.pair) == answer  # a read of the record, named by the fill
    freqtrade_books(trade, stop.order_id, answer)
    closed = Trade.session.get(Trade, trade.id)
    assert not closed.is_open and closed.exit_reason == "stoploss_on_exchange" and closed.close_rate == 102.1

    # the pair's next trade finds too little in the wallet: freqtrade's recovery lists the fill
    following, entry = next_trade()
    freqtrade_recovers(following, [LISTED_FILL, entry], wallet=1.0093)
    following = Trade.session.get(Trade, following.id)
    assert following.is_open and following.amount == 1.0093  # its own fill, nothing booked twice
    assert [o.order_id for o in following.orders] == [entry["id"]]
    fill = Order.order_by_id("7000007", trade.pair)  # the fill, under the id the exchange lists it by
    assert fill.ft_trade_id == trade.id and fill.ft_order_side == "stoploss" and fill.filled == 0.9999
    old_stop = Order.order_by_id("3000008", trade.pair)  # still known as the bot's stop, nothing filled
    assert old_stop.ft_trade_id == trade.id and old_stop.status == "canceled" and not old_stop.filled
    closed = Trade.session.get(Trade, trade.id)
    assert sum(o.filled or 0 for o in closed.orders if o.ft_order_side != "buy") == 0.9999


def test_a_backstop_that_fired_before_the_first_regular_stop_closes_its_trade_as_a_stop_exit(keeping):
    trade = add_trade(entry=100.0)
    entered(trade, "buy-first", 0.9999, 100.0)
    keeping.trailing(trade)  # the backstop went on before freqtrade's first stop was placed
    keeping.fired = True
    assert not trade.open_sl_orders

    keeping.keeper.reconcile([trade], [])  # the backstop is gone from the exchange's list: it fired
    closed = Trade.session.get(Trade, trade.id)
    assert not closed.is_open and closed.exit_reason == "stoploss_on_exchange" and closed.close_rate == 102.1
    fill = Order.order_by_id("7000007", trade.pair)  # the market order, read later as one (its fee)
    assert fill.ft_trade_id == trade.id and fill.ft_order_side == "sell" and fill.filled == 0.9999
    assert keeping.governor.counters["backstop_exits"] == 1
    keeping.keeper.reconcile([], [])  # booked once: nothing left to book

    following, entry = next_trade()
    freqtrade_recovers(following, [LISTED_FILL, entry], wallet=1.0093)
    following = Trade.session.get(Trade, following.id)
    assert following.is_open and following.amount == 1.0093
    assert len(Trade.session.get(Trade, trade.id).orders) == 2


def test_a_fill_freqtrade_recorded_already_is_never_handed_out_again(keeping):
    trade = add_trade(entry=100.0)
    entered(trade, "buy-first", 0.9999, 100.0)
    stop = regular_stop(trade)
    keeping.trailing(trade)
    keeping.fired = True
    recorded = Order.parse_from_ccxt_object(LISTED_FILL, trade.pair, "sell")  # freqtrade's recovery found it
    trade.orders.append(recorded)
    Trade.commit()
    asked = {"id": "3000008", "status": "open", "filled": 0.0}
    assert keeping.keeper.after_fetch(stop.order_id, trade.pair, asked) is asked
    assert Order.order_by_id("3000008", trade.pair).order_id == "3000008"


def test_a_read_of_a_stop_freqtrade_no_longer_holds_open_carries_nothing(keeping):
    """The regular stop was cancelled (freqtrade recorded it so) before the backstop fired: a read of
    it (the plugin's own check of a recorded stop) hands nothing over; the reconciliation books the fill."""
    trade = add_trade(entry=100.0)
    entered(trade, "buy-first", 0.9999, 100.0)
    stop = regular_stop(trade)
    stop.status, stop.ft_is_open = "canceled", False
    Trade.commit()
    keeping.trailing(trade)
    keeping.fired = True
    cancelled = {"id": "3000008", "status": "canceled", "filled": 0.0}
    keeping.keeper.check(trade, keeping.states[trade.id])
    assert keeping.keeper.after_fetch("3000008", trade.pair, cancelled) is cancelled
    assert Order.order_by_id("3000008", trade.pair).status == "canceled" and trade.is_open
    keeping.keeper.reconcile([trade], [])
    closed = Trade.session.get(Trade, trade.id)
    assert not closed.is_open and closed.exit_reason == "stoploss_on_exchange"
    assert Order.order_by_id("7000007", trade.pair).ft_trade_id == trade.id


def test_freqtrades_own_stop_fill_is_recorded_under_the_market_orders_id(keeping):
    """freqtrade's conditional stop filled (its answer names the market order by ``id_stop``): the
    record takes that id, so the recovery on the pair's next trade does not book the fill again."""
    trade = add_trade(entry=100.0)
    entered(trade, "buy-first", 0.9999, 100.0)
    stop = regular_stop(trade)
    filled = {**FILL, "id": "3000008", "id_stop": "7000009", "type": "stoploss", "average": 99.0, "price": 99.0}
    answer = keeping.keeper.after_fetch("3000008", trade.pair, filled)
    assert answer["id"] == "7000009" and keeping.keeper.carried("7000009", trade.pair) == answer
    freqtrade_books(trade, stop.order_id, answer)
    closed = Trade.session.get(Trade, trade.id)
    assert not closed.is_open and closed.exit_reason == "stoploss_on_exchange" and closed.close_rate == 99.0

    following, entry = next_trade()
    listed = {**LISTED_FILL, "id": "7000009", "average": 99.0, "price": 99.0}
    freqtrade_recovers(following, [listed, entry], wallet=1.0093)
    following = Trade.session.get(Trade, following.id)
    assert following.is_open and following.amount == 1.0093
    assert Order.order_by_id("7000009", trade.pair).ft_trade_id == trade.id
