"""Holds each trailing trade's native trailing backstop on the exchange (``exchange.native_backstop``).

While a trade is ACTIVE the exchange holds, beside freqtrade's regular stop, one native trailing order
at the plugin's distance (rounded wider to the exchange's grid, ``backstop.py``): if the bot stops, the
exchange goes on trailing from where the bot was. The keeper
- places it when the trade becomes ACTIVE, with the bot's peak as activation price while the price is
  below it (the exchange then trails from the bot's peak, not from a lower price), none once past;
- replaces it only when its rounded distance changes (a step, momentum), new order first;
- cancels it when the trade closes: freqtrade's stop filled (seen as freqtrade reads its stop) or any
  other exit (seen as freqtrade cancels its stop after the exit filled);
- when the backstop closed the position first, gives freqtrade that fill as the outcome of the trade's
  stop order (after cancelling that stop), so freqtrade closes the trade on its own stop path: exit
  reason ``stoploss_on_exchange``, notifications, protections. It looks only while the price has given
  back at least half the backstop's distance from the bot's peak (one request per iteration then,
  none otherwise), and at every reconciliation;
- at each reconciliation: a backstop of a trade that is not open (or not its recorded one) is an
  orphan and is cancelled; a recorded backstop that is gone is checked (fired, or re-placed).
Per-exchange calls live in ``venues``; the order id and native distance are stored in the trade's
state (``backstop_id``, ``backstop_native``), so a restarted bot finds its backstop again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable

from freqtrade.exceptions import InvalidOrderException

from ts_plugin.events import EventName
from ts_plugin.exchange.backstop import (BINANCE_USDM, BYBIT_LINEAR, PriceDistance, TrailGrid, client_id,
                                         trade_id_of)
from ts_plugin.exchange.listing import OPEN_STATUSES
from ts_plugin.exchange.venues import binance_futures, bybit
from ts_plugin.state import Phase, TrailState

logger = logging.getLogger("ts_plugin")

FIRED_STATUSES = frozenset({"closed", "triggered"})
TOO_WIDE = "backstop_too_wide"  # alarm kind: the distance is wider than the exchange allows


@dataclass(frozen=True)
class Venue:
    """One exchange's backstop: its units (``backstop.py``) and its calls (see ``venues``).

    An order venue (Binance) holds the backstop as an order with a client id naming the trade, read
    like a stop and listed with the stops. A position venue (Bybit, ``per_position``) holds it as a
    setting of the position: setting it again replaces it (nothing to cancel), it is read from the
    position (``read``) and listed from the positions (``list_held``), and it belongs to the pair's
    trade."""

    name: str
    grid: TrailGrid | PriceDistance
    place: Callable[..., dict]  # (exchange, pair, side, amount, native, activation, client id)
    cancel: Callable[[Any, str, str], Any]  # (exchange, order id, pair)
    client_id_of: Callable[[dict], str]
    per_position: bool = False
    read: Callable[[Any, str, str], dict | None] | None = None  # (exchange, backstop id, pair)
    list_held: Callable[[Any, Iterable[str]], list[dict]] | None = None  # (exchange, pairs)


BINANCE_USDM_VENUE = Venue("Binance USD-M futures", BINANCE_USDM, binance_futures.place,
                           binance_futures.cancel, binance_futures.client_id_of)
BYBIT_LINEAR_VENUE = Venue("Bybit linear perpetuals", BYBIT_LINEAR, bybit.place_trailing, bybit.clear_trailing,
                           lambda order: "", per_position=True, read=bybit.read_trailing,
                           list_held=bybit.held_trailing)


def _trading_mode(exchange: Any) -> str:
    return str(getattr(getattr(exchange, "trading_mode", None), "value", None)
               or getattr(exchange, "trading_mode", "") or "spot")


def venue_for(exchange: Any) -> Venue | None:
    """The backstop venue of this bot's exchange and trading mode, or None when there is none."""
    ccxt_id = getattr(getattr(exchange, "_api", None), "id", "")
    if _trading_mode(exchange) != "futures":
        return None
    if ccxt_id in binance_futures.CCXT_IDS:
        return BINANCE_USDM_VENUE
    if ccxt_id == bybit.CCXT_ID:
        return BYBIT_LINEAR_VENUE
    return None


def unsupported(exchange: Any) -> str:
    """Why this exchange gets no backstop, for the start-up WARNING."""
    name = getattr(exchange, "name", None) or getattr(getattr(exchange, "_api", None), "id", "?")
    mode = _trading_mode(exchange)
    if str(name).lower().startswith("binance") and mode == "spot":
        return ("Binance spot: a trailingDelta stop would have to replace the regular stop (one order "
                "locks the coins), and it cannot be kept never looser than the bot's stop (before its "
                "activation price it holds no level at all; from placement it trails from the price, "
                "below the bot's peak)")
    return f"{name} {mode}: no native trailing backstop is supported for it"


class BackstopKeeper:
    """Installed beside the governor; every exchange call goes through the governor's retries and
    circuit breaker."""

    def __init__(self, governor: Any, venue: Venue) -> None:
        self.governor = governor
        self.venue = venue
        self.fired: dict[Any, dict] = {}  # trade id -> the backstop's fill, until freqtrade took it
        self._retry_at: dict[Any, float] = {}  # trade id -> wall time of the next attempt after a failure
        self._serial = 0

    # ----- the trade's life -----------------------------------------------------------------------

    def follow(self, trade: Any) -> None:
        """Each iteration (freqtrade asking about its stop): place, replace or drop the trade's
        backstop when its rounded distance changed. No request otherwise."""
        governor = self.governor
        if not governor.reconciled or trade is None or trade.id in self.fired:
            return
        state = governor.ledger.state_of(trade)
        if state is None or state.phase is not Phase.ACTIVE or not state.distance:
            return
        now = governor._wall()
        if self._retry_at.get(trade.id, 0.0) > now or not governor.breaker.allows(now):
            return
        units, tick = self.venue.grid, self._tick(trade.pair)
        wanted = units.native_at(state.distance, state.peak, tick)
        live = state.backstop_native if state.backstop_id else None
        if not units.stale(live, state.distance, state.peak, tick):
            return
        if wanted is None:
            governor.alarm((trade.pair, trade.id), TOO_WIDE,
                           f"trailing distance {state.distance:.2%} is wider than {self.venue.name} "
                           f"allows ({units.limits}): no backstop held")
            self.drop(trade, "distance wider than the exchange allows")
            return
        governor.watches.settle((trade.pair, trade.id), TOO_WIDE)
        self._place(trade, state, wanted)

    def _place(self, trade: Any, state: TrailState, native: float) -> None:
        governor, exchange = self.governor, self.governor.exchange
        side = "buy" if trade.is_short else "sell"
        activation = self._activation(trade, state)
        self._serial = max(self._serial + 1, int(governor._wall() * 1000))
        client = client_id(trade.id, self._serial)
        try:
            order = governor._guarded("place backstop", lambda: self.venue.place(
                exchange, trade.pair, side, float(trade.amount), native, activation, client))
        except Exception as exc:
            governor.counters["backstop_failures"] += 1
            self._retry_at[trade.id] = governor._wall() + max(governor.settings.min_update_interval_s, 5.0)
            logger.warning("smart_trailing: placing the native trailing backstop of %s failed; "
                           "retried later: %s", trade.pair, exc)
            return
        self._retry_at.pop(trade.id, None)
        old = state.backstop_id
        self._save(trade, backstop_id=str(order["id"]), backstop_native=native)
        governor.counters["backstops_replaced" if old else "backstops_placed"] += 1
        logger.info("smart_trailing: native trailing backstop %s for %s (trade %s): %s%s%s",
                    order["id"], trade.pair, trade.id, self.venue.grid.shown(native),
                    f", activation at {activation}" if activation is not None else "",
                    f", replacing {old}" if old else "")
        if old and not self.venue.per_position:  # a position's trailing stop was replaced in place
            self._cancel(old, trade.pair)

    def _tick(self, pair: str) -> float | None:
        """The pair's price tick (for a distance held in price), None when the market does not say."""
        try:
            tick = self.governor.exchange.markets[pair]["precision"]["price"]
            return float(tick) if tick else None
        except Exception:
            return None

    def _activation(self, trade: Any, state: TrailState) -> float | None:
        """The bot's peak while the price is short of it (the exchange then trails from the bot's
        peak); None once the price is at or past it (it trails from the price, which is the peak)."""
        exchange = self.governor.exchange
        try:
            current = float(exchange.get_rate(trade.pair, refresh=False, side="exit", is_short=trade.is_short))
        except Exception:
            return None
        below = current > state.peak if trade.is_short else current < state.peak
        return float(exchange.price_to_precision(trade.pair, state.peak)) if below else None

    def drop(self, trade: Any, reason: str) -> None:
        """Cancel the trade's backstop (the trade closed, or no backstop is wanted any more)."""
        state = self.governor.ledger.peek(trade)
        if state is None or not state.backstop_id:
            return
        self._cancel(state.backstop_id, trade.pair)
        self._save(trade, backstop_id=None, backstop_native=None)
        self.governor.counters["backstops_cancelled"] += 1
        logger.info("smart_trailing: native trailing backstop %s of %s (trade %s) cancelled: %s",
                    state.backstop_id, trade.pair, trade.id, reason)

    def _cancel(self, order_id: str, pair: str) -> bool:
        governor = self.governor
        try:
            governor._guarded("cancel backstop", lambda: self.venue.cancel(governor.exchange, order_id, pair))
        except InvalidOrderException:
            return True  # not live any more (filled, cancelled): nothing left to cancel
        except Exception as exc:
            governor.counters["backstop_failures"] += 1
            logger.warning("smart_trailing: cancelling native trailing backstop %s of %s failed; the "
                           "reconciliation retries: %s", order_id, pair, exc)
            return False
        return True

    def _save(self, trade: Any, **fields: Any) -> None:
        state = self.governor.ledger.peek(trade)
        if state is not None:
            self.governor.ledger.save(trade, replace(state, **fields))

    # ----- what freqtrade reads and cancels -------------------------------------------------------

    def after_fetch(self, order_id: str, pair: str, order: dict) -> dict:
        """freqtrade read its stop order: a filled stop ends the backstop; a backstop that closed the
        position first becomes the stop's outcome."""
        trade = self.governor.ledger.open_trade(pair)
        record = trade.select_order_by_order_id(str(order_id)) if trade is not None else None
        if record is None or getattr(record, "ft_order_side", None) != "stoploss":
            return order
        if _filled(order):
            self.drop(trade, "the stop filled")
            return order
        fill = self.fired.get(trade.id) or self._fired_now(trade)
        if fill is None:
            return order
        if order.get("status") in OPEN_STATUSES:
            self._cancel_stop(str(order_id), pair)
        self.governor.counters["backstop_exits"] += 1
        logger.info("smart_trailing: stop order %s of %s (trade %s) carries the fill of native trailing "
                    "backstop %s", order_id, pair, trade.id, fill.get("id"))
        return {**fill, "id": order["id"], "id_stop": fill.get("id_stop") or fill.get("id"),
                "type": "stoploss", "status_stop": "triggered"}

    def _cancel_stop(self, order_id: str, pair: str) -> None:
        """The position is gone: freqtrade's stop goes too (a failure leaves it to the reconciliation,
        which cancels it as an orphan once the trade is closed)."""
        governor = self.governor
        original = governor._original["cancel_stoploss_order"]
        try:
            governor._guarded("cancel stop", lambda: original(order_id, pair))
        except InvalidOrderException:
            pass
        except Exception as exc:
            logger.warning("smart_trailing: cancelling stop order %s of %s after its backstop fired "
                           "failed: %s", order_id, pair, exc)

    def _fired_now(self, trade: Any) -> dict | None:
        """Has the backstop closed the position? Asked only while the price has given back at least
        half the backstop's distance from the bot's peak."""
        state = self.governor.ledger.peek(trade)
        if state is None or not state.backstop_id or not state.backstop_native:
            return None
        try:
            current = float(self.governor.exchange.get_rate(trade.pair, refresh=False, side="exit",
                                                            is_short=trade.is_short))
        except Exception:
            return None
        half = self.venue.grid.fraction(state.backstop_native, state.peak) / 2
        near = current >= state.peak * (1 + half) if trade.is_short else current <= state.peak * (1 - half)
        return self.check(trade, state) if near else None

    def check(self, trade: Any, state: TrailState) -> dict | None:
        """Read the trade's backstop: its fill when it fired (remembered for freqtrade), None while it
        is live. One that is gone without a fill is forgotten, so the next iteration re-places it."""
        governor = self.governor
        fetch = governor._original.get("fetch_stoploss_order") or governor.exchange.fetch_stoploss_order
        if self.venue.read is not None:
            fetch = lambda order_id, pair: self.venue.read(governor.exchange, order_id, pair)  # noqa: E731
        try:
            current = governor._guarded("read backstop", lambda: fetch(state.backstop_id, trade.pair))
        except InvalidOrderException:
            current = None
        except Exception as exc:
            logger.warning("smart_trailing: reading native trailing backstop %s of %s failed: %s",
                           state.backstop_id, trade.pair, exc)
            return None
        status = (current or {}).get("status")
        if status in OPEN_STATUSES:
            return None
        if current is not None and _filled(current):
            self.fired[trade.id] = current
            self._save(trade, backstop_id=None, backstop_native=None)
            governor.events.emit(EventName.WARNING, trade.id, trade.pair, order_id=state.backstop_id,
                                 price=current.get("average") or current.get("price"),
                                 reason="the exchange's native trailing backstop closed the position "
                                        "before the bot's stop")
            return current
        governor.counters["backstops_missing"] += 1
        logger.warning("smart_trailing: native trailing backstop %s of %s (trade %s) is gone (%s); "
                       "placing it again", state.backstop_id, trade.pair, trade.id, status or "unknown")
        self._save(trade, backstop_id=None, backstop_native=None)
        return None

    def after_cancel(self, order_id: str, pair: str) -> None:
        """freqtrade cancelled a stop: if its trade is no longer open (an exit filled), the backstop goes."""
        from freqtrade.persistence import Order

        record = Order.order_by_id(str(order_id), pair)
        trade = getattr(record, "trade", None)
        if trade is not None and not trade.is_open:
            self.drop(trade, "the trade closed")

    # ----- reconciliation -------------------------------------------------------------------------

    def is_backstop(self, order: dict) -> bool:
        return trade_id_of(self.venue.client_id_of(order)) is not None

    def held(self, listed: list[dict], pairs: Iterable[str]) -> list[dict] | None:
        """The backstops the exchange holds: from the listing of stop orders, or, for a position
        venue, from its positions (None when they could not be read: no orphan is judged then)."""
        if self.venue.list_held is None:
            return [order for order in listed if self.is_backstop(order)]
        governor = self.governor
        try:
            return governor._guarded("list backstops", lambda: self.venue.list_held(governor.exchange, pairs))
        except Exception as exc:
            logger.warning("smart_trailing: reading the positions' trailing stops failed; the next "
                           "reconciliation looks again: %s", exc)
            return None

    def _owner(self, order: dict, trades: dict[Any, Any]) -> Any:
        """The open trade a listed backstop belongs to: named by its client id, or, held by a
        position, the pair's trade."""
        if self.venue.per_position:
            return next((t for t in trades.values() if t.pair == order.get("symbol")), None)
        return trades.get(trade_id_of(self.venue.client_id_of(order)))

    def reconcile(self, open_trades: Iterable[Any], listed: list[dict] | None) -> None:
        """Cancel orphaned backstops, adopt an unrecorded one of an ACTIVE trade, look after a recorded
        one that is gone (fired: freqtrade gets its fill; otherwise placed again)."""
        governor = self.governor
        trades = {trade.id: trade for trade in open_trades if trade.has_open_position}
        self.fired = {k: v for k, v in self.fired.items() if k in trades}
        held: set[Any] = set()
        if listed is None:  # the exchange could not be read: judge nothing, keep following
            for trade in trades.values():
                if trade.id not in self.fired:
                    self.follow(trade)
            return
        for order in listed:
            trade = self._owner(order, trades)
            state = governor.ledger.peek(trade) if trade is not None else None
            order_id = str(order.get("id") or "the position's trailing stop")
            if self.venue.per_position and state is not None and state.backstop_id:
                order_id = state.backstop_id  # the position holds one: the recorded one
            active = state is not None and state.phase is Phase.ACTIVE and trade.id not in self.fired
            if active and trade.id not in held and state.backstop_id in (None, order_id):
                if state.backstop_id is None:  # placed, but the bot died before storing its id
                    adopted = client_id(trade.id, int(governor._wall() * 1000)) if self.venue.per_position else order_id
                    self._save(trade, backstop_id=adopted, backstop_native=_native_of(order))
                    governor.counters["backstops_adopted"] += 1
                held.add(trade.id)
                continue
            if self._cancel(order_id, str(order.get("symbol"))):
                governor.counters["orphans_cancelled"] += 1
                governor.events.emit(EventName.ORPHAN_CANCELLED, getattr(trade, "id", None),
                                     order.get("symbol", "-"), order_id=order_id, backstop=True)
        for trade in trades.values():
            state = governor.ledger.peek(trade)
            if trade.id not in held and state is not None and state.backstop_id:
                self.check(trade, state)
            if trade.id not in self.fired:
                self.follow(trade)


def _filled(order: dict) -> bool:
    """A stop that went off and filled (one triggered on an empty position expires unfilled)."""
    went_off = order.get("status") in FIRED_STATUSES or order.get("status_stop") == "triggered"
    return went_off and float(order.get("filled") or 0) > 0


def _native_of(order: dict) -> float | None:
    value = order.get("native") or (order.get("info") or {}).get("callbackRate")
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
