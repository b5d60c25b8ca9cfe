"""Holds each trailing trade's native trailing backstop on the exchange (``exchange.native_backstop``).

While a trade is ACTIVE the exchange holds, beside freqtrade's regular stop, one native trailing order
at the plugin's distance (rounded wider to the exchange's grid, ``backstop.py``) for the trade's
amount: if the bot stops, the exchange goes on trailing. The keeper
- places it when the trade becomes ACTIVE, trailing from the price at once (no activation price: below
  the bot's peak it then holds a level under the bot's stop, where one waiting for the peak holds none);
- replaces it when its rounded distance changes (a step, momentum) or the trade's amount changed (a DCA
  entry, a partial exit), new order first. Below the bot's peak the new one trails from a lower price
  than the old one, so the old one is kept (``backstop_kept``) until the price is back at that peak; a
  position's trailing stop (Bybit) is re-set in place, so it is re-set only at the peak;
- cancels it when the trade closes: freqtrade's stop filled (seen as freqtrade reads its stop) or any
  other exit (seen as freqtrade cancels its stop after the exit filled);
- when a backstop closed the whole position first, gives freqtrade that fill as the outcome of the
  trade's stop order (after cancelling that stop), so freqtrade closes the trade on its own stop path:
  exit reason ``stoploss_on_exchange``, notifications, protections; the fill is recorded under its own
  exchange id and booked once (``backstop_booking.py``: freqtrade's recovery would book an unknown one
  again on the pair's next trade), and with no regular stop open it is booked by the reconciliation.
  A fill that closed only part of
  the position leaves the regular stop alone and is booked as a partial exit (``backstop_fills.py``);
  the backstop is then placed again for the rest. It looks only while the price has given back at
  least half the backstop's distance from the bot's peak (one request per iteration then, none
  otherwise), and at every reconciliation;
- at each reconciliation: a backstop of a trade that is not open (or not one it recorded) is an
  orphan and is cancelled; a recorded backstop that is gone is checked (fired, or re-placed). With
  ``native_backstop`` off (``enabled`` False) it places nothing, but still finds the plugin's own
  leftovers and cancels them, and still hands a fired one's fill to freqtrade;
- on a position venue (Bybit) the plugin records the distance it set before setting it; a position
  trailing stop it did not set is foreign: reported and left alone (no backstop of its own is set over
  it), cleared only with ``cancel_foreign_stop_orders``.
Per-exchange calls live in ``venues``; the order id, native distance and amount are stored in the
trade's state (``backstop_id``, ``backstop_native``, ``backstop_amount``), so a restarted bot finds
its backstop again.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable

from freqtrade.exceptions import InvalidOrderException

from ts_plugin.core.events import EventName
from ts_plugin.exchange.backstop import (BINANCE_USDM, BYBIT_LINEAR, PriceDistance, TrailGrid, client_id,
                                         trade_id_of)
from ts_plugin.exchange.backstop_fills import book_partial_exit, closes_all
from ts_plugin.exchange.backstop_booking import (book_exit, carry_on_stop, fill_id, known_elsewhere,
                                                 own_fill_under_its_id)
from ts_plugin.core.state import Phase, TrailState
from ts_plugin.exchange.listing import OPEN_STATUSES
from ts_plugin.exchange.venues import binance_futures, bybit

logger = logging.getLogger("ts_plugin")

FIRED_STATUSES = frozenset({"closed", "triggered"})
TOO_WIDE = "backstop_too_wide"  # alarm kind: the distance is wider than the exchange allows
FORGOTTEN = {"backstop_id": None, "backstop_native": None, "backstop_amount": None, "backstop_kept": (),
             "backstop_kept_until": None}  # a trade's state holding no backstop


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
    listed_as_order: Callable[[dict], bool] | None = None  # a position venue's backstop in the order list


BINANCE_USDM_VENUE = Venue("Binance USD-M futures", BINANCE_USDM, binance_futures.place,
                           binance_futures.cancel, binance_futures.client_id_of)
BYBIT_LINEAR_VENUE = Venue("Bybit linear perpetuals", BYBIT_LINEAR, bybit.place_trailing, bybit.clear_trailing,
                           lambda order: "", per_position=True, read=bybit.read_trailing,
                           list_held=bybit.held_trailing, listed_as_order=bybit.is_position_trailing)


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
    circuit breaker. ``enabled`` False (``native_backstop`` off): it only cleans up after itself."""

    def __init__(self, governor: Any, venue: Venue, enabled: bool = True) -> None:
        self.governor = governor
        self.venue = venue
        self.enabled = enabled
        self.fired: dict[Any, list[dict]] = {}  # trade id -> its backstops' fills, until freqtrade took them
        self._carried: dict[tuple[str, str], tuple[Any, dict]] = {}  # (pair, fill id) -> (trade id, answer)
        self._stop_filled: set[Any] = set()  # trades whose stop filled: no backstop is placed for them again
        self._retry_at: dict[Any, float] = {}  # trade id -> wall time of the next attempt after a failure
        self._serial = 0
        self._set: dict[Any, set[float]] = {}  # position venue: trade id -> every distance set in this process
        self.foreign_pairs: set[str] = set()  # position venue: pairs holding a trailing stop not set by the plugin
        self._reported: set[str] = set()
        self.orphans = 0  # found by the latest reconciliation (the health view adds them to its counts)
        self.foreign = 0

    # ----- the trade's life -----------------------------------------------------------------------

    def follow(self, trade: Any) -> None:
        """Each iteration (freqtrade asking about its stop): place, replace or drop the trade's
        backstop when its rounded distance or the trade's amount changed. No request otherwise."""
        governor = self.governor
        if (not self.enabled or not governor.reconciled or trade is None or trade.id in self.fired
                or trade.id in self._stop_filled):
            return  # (a stop seen filled before freqtrade booked it: a new backstop would outlive the trade)
        state = governor.ledger.state_of(trade)
        if state is None or state.phase is not Phase.ACTIVE or not state.distance:
            return
        now = governor._wall()
        if self._retry_at.get(trade.id, 0.0) > now or not governor.breaker.allows(now):
            return
        state = self._release_kept(trade, state)
        if self.venue.per_position and trade.pair in self.foreign_pairs:
            return  # the position holds a trailing stop the plugin did not set: never set one over it
        units, tick = self.venue.grid, self._tick(trade.pair)
        wanted = units.native_at(state.distance, state.peak, tick)
        live = state.backstop_native if state.backstop_id else None
        resized = (not self.venue.per_position and state.backstop_id is not None
                   and not _same_amount(state.backstop_amount, float(trade.amount)))
        if not (units.stale(live, state.distance, state.peak, tick) or resized):
            return
        if wanted is None:
            governor.alarm((trade.pair, trade.id), TOO_WIDE,
                           f"trailing distance {state.distance:.2%} is wider than {self.venue.name} "
                           f"allows ({units.limits}): no backstop held")
            self.drop(trade, "distance wider than the exchange allows")
            return
        governor.watches.settle((trade.pair, trade.id), TOO_WIDE)
        if self.venue.per_position and live is not None and self._below(trade, state.peak) is not False:
            return  # re-set in place: below the peak it would trail from a lower price than the one it replaces
        self._place(trade, state, wanted)

    def _place(self, trade: Any, state: TrailState, native: float) -> None:
        governor, exchange = self.governor, self.governor.exchange
        side = "buy" if trade.is_short else "sell"
        amount = float(trade.amount)
        self._serial = max(self._serial + 1, int(governor._wall() * 1000))
        client = client_id(trade.id, self._serial)
        if self.venue.per_position:  # recorded before it is set: anything else on the position is foreign
            self._set.setdefault(trade.id, set()).add(native)
            self._save(trade, backstop_id=client, backstop_native=native)
        try:
            order = governor._guarded("place backstop", lambda: self.venue.place(
                exchange, trade.pair, side, amount, native, None, client))
        except Exception as exc:
            governor.counters["backstop_failures"] += 1
            self._retry_at[trade.id] = governor._wall() + max(governor.settings.min_update_interval_s, 5.0)
            if self.venue.per_position:  # refused: the position still holds what it held (a lost answer's
                # distance stays known as set by this process)
                self._save(trade, backstop_id=state.backstop_id, backstop_native=state.backstop_native)
            logger.warning("smart_trailing: placing the native trailing backstop of %s failed; "
                           "retried later: %s", trade.pair, exc)
            return
        self._retry_at.pop(trade.id, None)
        old, kept, until = state.backstop_id, state.backstop_kept, state.backstop_kept_until
        below = self._below(trade, state.peak) is not False
        to_cancel: list[str] = []
        if old and not self.venue.per_position:  # a position's trailing stop was replaced in place
            if below:
                kept, until = kept + (old,), until or state.peak
            else:
                to_cancel.append(old)
        if kept and not below:
            to_cancel.extend(kept)
            kept, until = (), None
        self._save(trade, backstop_id=str(order["id"]), backstop_native=native,
                   backstop_amount=None if self.venue.per_position else amount,
                   backstop_kept=kept, backstop_kept_until=until)
        governor.counters["backstops_replaced" if old else "backstops_placed"] += 1
        logger.info("smart_trailing: native trailing backstop %s for %s (trade %s): %s for %g%s%s",
                    order["id"], trade.pair, trade.id, self.venue.grid.shown(native), amount,
                    f", replacing {old}" if old else "",
                    f", keeping {', '.join(kept)} until the price is back at {until:g}" if kept else "")
        for order_id in to_cancel:
            self._cancel(order_id, trade.pair)

    def _release_kept(self, trade: Any, state: TrailState) -> TrailState:
        """Cancel the backstops kept beside the newest once the price is back at the peak they trail
        from (the newest then trails from there too); a failed cancel is left to the reconciliation."""
        if not state.backstop_kept or self._below(trade, state.backstop_kept_until) is not False:
            return state
        for order_id in state.backstop_kept:
            self._cancel(order_id, trade.pair)
        logger.info("smart_trailing: native trailing backstop %s of %s (trade %s) trails from the peak %g; "
                    "the older %s cancelled", state.backstop_id, trade.pair, trade.id,
                    state.backstop_kept_until, ", ".join(state.backstop_kept))
        return self._save(trade, backstop_kept=(), backstop_kept_until=None) or state

    def _below(self, trade: Any, level: float | None) -> bool | None:
        """Is the price short of ``level`` (below for a long)? None when the price is unknown."""
        if level is None:
            return None
        try:
            current = float(self.governor.exchange.get_rate(trade.pair, refresh=False, side="exit",
                                                            is_short=trade.is_short))
        except Exception:
            return None
        return current > level if trade.is_short else current < level

    def _tick(self, pair: str) -> float | None:
        """The pair's price tick (for a distance held in price), None when the market does not say."""
        try:
            tick = self.governor.exchange.markets[pair]["precision"]["price"]
            return float(tick) if tick else None
        except Exception:
            return None

    def drop(self, trade: Any, reason: str) -> None:
        """Cancel the trade's backstops (the trade closed, or no backstop is wanted any more)."""
        state = self.governor.ledger.peek(trade)
        if state is None or not (state.backstop_id or state.backstop_kept):
            return
        ids = [i for i in (state.backstop_id, *state.backstop_kept) if i]
        for order_id in ids:
            self._cancel(order_id, trade.pair)
        self._save(trade, **FORGOTTEN)
        self.governor.counters["backstops_cancelled"] += 1
        logger.info("smart_trailing: native trailing backstop %s of %s (trade %s) cancelled: %s",
                    ", ".join(ids), trade.pair, trade.id, reason)

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

    def _save(self, trade: Any, **fields: Any) -> TrailState | None:
        state = self.governor.ledger.peek(trade)
        if state is None:
            return None
        state = replace(state, **fields)
        self.governor.ledger.save(trade, state)
        return state

    # ----- what freqtrade reads and cancels -------------------------------------------------------

    def after_fetch(self, order_id: str, pair: str, order: dict) -> dict:
        """freqtrade read its stop order: a filled stop ends the backstop; a backstop that closed the
        whole position first becomes the stop's outcome; one that closed part is a partial exit."""
        trade = self.governor.ledger.open_trade(pair)
        record = trade.select_order_by_order_id(str(order_id)) if trade is not None else None
        if record is None or getattr(record, "ft_order_side", None) != "stoploss":
            return order
        if _filled(order) and getattr(record, "ft_is_open", True):
            self._stop_filled.add(trade.id)
            self.drop(trade, "the stop filled")
            answer = own_fill_under_its_id(trade, record, order)
            if answer is not order:
                self._carried[(pair, str(answer["id"]))] = (trade.id, answer)
            return answer
        if not self.enabled and not self.fired:
            return order  # off: the reconciliation cancelled the leftovers, or found the one that fired
        if not getattr(record, "ft_is_open", True):
            return order  # not freqtrade's live stop: a fill with no stop open is booked by the reconciliation
        fills = self.fired.get(trade.id) or self._fired_now(trade)
        if not fills:
            return order
        if any(getattr(o, "ft_order_side", None) == trade.entry_side for o in getattr(trade, "open_orders", ())):
            return order  # an entry may have filled that freqtrade has not booked: judged once it has
        whole = next((fill for fill in fills if closes_all(self.governor.exchange, trade, fill)), None)
        if whole is None:
            for fill in fills:
                self._book_partial(trade, fill)
            self.fired.pop(trade.id, None)  # booked (a failure keeps them for the next iteration)
            return order  # the regular stop covers the rest; the backstop is placed again for it
        if known_elsewhere(trade, whole):  # booked already: never a second time
            self.fired.pop(trade.id, None)
            return order
        self.fired[trade.id] = [whole]
        if order.get("status") in OPEN_STATUSES:
            self._cancel_stop(str(order_id), pair)
        self.governor.counters["backstop_exits"] += 1
        logger.info("smart_trailing: stop order %s of %s (trade %s) carries the fill of native trailing "
                    "backstop %s, recorded under the fill's own id %s", order_id, pair, trade.id,
                    whole.get("id"), fill_id(whole))
        answer = carry_on_stop(trade, record, whole)
        self._carried[(pair, str(answer["id"]))] = (trade.id, answer)
        return answer

    def carried(self, order_id: str, pair: str) -> dict | None:
        """The answer for a stop record that carries a backstop's fill (named by the fill's id, no
        stop order on the exchange), while its trade is open; None for any other order."""
        entry = self._carried.get((pair, str(order_id)))
        return entry[1] if entry is not None else None

    def _book_without_stop(self, trade: Any) -> None:
        """A backstop closed the whole position of a trade with no regular stop open (placed before
        freqtrade's first one, or that one was refused): no stop read can carry the fill, so it is
        booked here as the trade's stop exit (``backstop_booking.book_exit``)."""
        fills, stops = self.fired.get(trade.id), getattr(trade, "open_sl_orders", None)
        if not fills or stops is None or stops:
            return
        if any(getattr(o, "ft_order_side", None) == trade.entry_side for o in getattr(trade, "open_orders", ())):
            return  # an entry may have filled that freqtrade has not booked: judged once it has
        whole = next((fill for fill in fills if closes_all(self.governor.exchange, trade, fill)), None)
        if whole is None:
            return
        booked = book_exit(trade, whole)  # a failure keeps the fill for the next reconciliation
        self.fired.pop(trade.id, None)
        if not booked:
            return
        self.governor.counters["backstop_exits"] += 1
        logger.info("smart_trailing: trade %s of %s had no stop order open; the fill %s of native trailing "
                    "backstop %s is booked as its stop exit", trade.id, trade.pair, fill_id(whole),
                    whole.get("id"))
        self.drop(trade, "the backstop closed the position")

    def _book_partial(self, trade: Any, fill: dict) -> None:
        governor = self.governor
        before = float(trade.amount)
        if not book_partial_exit(trade, fill):
            return
        governor.counters["backstop_partial_exits"] += 1
        governor.events.emit(EventName.WARNING, trade.id, trade.pair, order_id=fill.get("id"),
                             price=fill.get("average") or fill.get("price"), filled=fill.get("filled"),
                             reason=f"the exchange's native trailing backstop closed {fill.get('filled')} of "
                                    f"{before:g}: booked as a partial exit, the stop covers the rest "
                                    f"({float(trade.amount):g})")

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

    def _fired_now(self, trade: Any) -> list[dict]:
        """Has a backstop closed (part of) the position? Asked only while the price has given back at
        least half the backstop's distance from the bot's peak."""
        state = self.governor.ledger.peek(trade)
        if state is None or not (state.backstop_id or state.backstop_kept) or not state.backstop_native:
            return []
        try:
            current = float(self.governor.exchange.get_rate(trade.pair, refresh=False, side="exit",
                                                            is_short=trade.is_short))
        except Exception:
            return []
        half = self.venue.grid.fraction(state.backstop_native, state.peak) / 2
        near = current >= state.peak * (1 + half) if trade.is_short else current <= state.peak * (1 - half)
        return self.check(trade, state) if near else []

    def check(self, trade: Any, state: TrailState) -> list[dict]:
        """Read the trade's backstops: the fills of those that fired (remembered for freqtrade), none
        while they are live. The newest gone without a fill is forgotten, so the next iteration
        places it again; a kept one gone is dropped from the kept ones."""
        governor = self.governor
        fills: list[dict] = []
        for order_id in [i for i in (state.backstop_id, *state.backstop_kept) if i]:
            try:
                current = self._read(order_id, trade.pair)
            except Exception as exc:
                logger.warning("smart_trailing: reading native trailing backstop %s of %s failed: %s",
                               order_id, trade.pair, exc)
                continue
            status = (current or {}).get("status")
            if status in OPEN_STATUSES:
                continue
            state = self._forget(trade, order_id) or state
            if current is not None and _filled(current):
                fills.append(current)
                governor.events.emit(EventName.WARNING, trade.id, trade.pair, order_id=order_id,
                                     price=current.get("average") or current.get("price"),
                                     reason="the exchange's native trailing backstop closed the position "
                                            "before the bot's stop")
                continue
            governor.counters["backstops_missing"] += 1
            logger.warning("smart_trailing: native trailing backstop %s of %s (trade %s) is gone (%s)%s",
                           order_id, trade.pair, trade.id, status or "unknown",
                           "; placing it again" if self.enabled else "")
        if fills:
            self.fired[trade.id] = self.fired.get(trade.id, []) + fills
        return fills

    def _read(self, order_id: str, pair: str) -> dict | None:
        governor = self.governor
        if self.venue.read is not None:
            fetch = lambda: self.venue.read(governor.exchange, order_id, pair)  # noqa: E731
        else:
            original = governor._original.get("fetch_stoploss_order") or governor.exchange.fetch_stoploss_order
            fetch = lambda: original(order_id, pair)  # noqa: E731
        try:
            return governor._guarded("read backstop", fetch, read_only=True)
        except InvalidOrderException:
            return None

    def _forget(self, trade: Any, order_id: str) -> TrailState | None:
        """This backstop is no longer held (fired, gone, cancelled): out of the trade's state."""
        state = self.governor.ledger.peek(trade)
        if state is None:
            return None
        if state.backstop_id == order_id:
            return self._save(trade, backstop_id=None, backstop_native=None, backstop_amount=None)
        if order_id in state.backstop_kept:
            kept = tuple(i for i in state.backstop_kept if i != order_id)
            until = state.backstop_kept_until if kept else None
            return self._save(trade, backstop_kept=kept, backstop_kept_until=until)
        return state

    def after_cancel(self, order_id: str, pair: str) -> None:
        """freqtrade cancelled a stop: if its trade is no longer open (an exit filled), the backstop goes."""
        from freqtrade.persistence import Order

        record = Order.order_by_id(str(order_id), pair)
        trade = getattr(record, "trade", None)
        if trade is not None and not trade.is_open:
            self.drop(trade, "the trade closed")

    # ----- reconciliation -------------------------------------------------------------------------

    def is_backstop(self, order: dict) -> bool:
        """A backstop in the exchange's order list: the plugin's client id, or (a position venue) the
        position's trailing stop shown as an order; both are judged by ``reconcile``, not as stops."""
        if self.venue.listed_as_order is not None and self.venue.listed_as_order(order):
            return True
        return trade_id_of(self.venue.client_id_of(order)) is not None

    def held(self, listed: list[dict], pairs: Iterable[str]) -> list[dict] | None:
        """The backstops the exchange holds: from the listing of stop orders, or, for a position
        venue, from its positions (None when they could not be read: no orphan is judged then)."""
        if self.venue.list_held is None:
            return [order for order in listed if trade_id_of(self.venue.client_id_of(order)) is not None]
        governor = self.governor
        try:
            return governor._guarded("list backstops", lambda: self.venue.list_held(governor.exchange, pairs),
                                     read_only=True)
        except Exception as exc:
            logger.warning("smart_trailing: reading the positions' trailing stops failed; the next "
                           "reconciliation looks again: %s", exc)
            return None

    def _wanted(self, trade: Any, state: TrailState | None) -> bool:
        """Is the trade's backstop still wanted? Not once one closed the whole position (a partial
        fill leaves the rest to protect)."""
        if not (self.enabled and state is not None and state.phase is Phase.ACTIVE):
            return False
        return not any(closes_all(self.governor.exchange, trade, fill) for fill in self.fired.get(trade.id, ()))

    def reconcile(self, open_trades: Iterable[Any], listed: list[dict] | None) -> None:
        """Cancel orphaned backstops (every one of the plugin's when it is off), adopt an unrecorded
        one of an ACTIVE trade, look after a recorded one that is gone (fired: freqtrade gets its fill;
        otherwise placed again); on a position venue, report a trailing stop the plugin did not set."""
        trades = {trade.id: trade for trade in open_trades if trade.has_open_position}
        self.fired = {k: v for k, v in self.fired.items() if k in trades}
        self._carried = {k: v for k, v in self._carried.items() if v[0] in trades}
        self._stop_filled &= set(trades)
        self.orphans = self.foreign = 0
        if listed is None:  # the exchange could not be read: judge nothing, keep following
            for trade in trades.values():
                self.follow(trade)
            return
        if self.venue.per_position:
            held = self._reconcile_positions(trades, listed)
        else:
            held = self._reconcile_orders(trades, listed)
        for trade in trades.values():
            state = self.governor.ledger.peek(trade)
            if state is not None and any(i not in held for i in (state.backstop_id, *state.backstop_kept) if i):
                self.check(trade, replace(state, backstop_id=state.backstop_id if state.backstop_id not in held
                                          else None, backstop_kept=tuple(i for i in state.backstop_kept
                                                                         if i not in held)))
            self._book_without_stop(trade)
            if trade.is_open:
                self.follow(trade)

    def _reconcile_orders(self, trades: dict[Any, Any], listed: list[dict]) -> set[str]:
        """An order venue: each listed backstop names its trade by its client id."""
        governor, held = self.governor, set()
        for order in listed:
            trade = trades.get(trade_id_of(self.venue.client_id_of(order)))
            state = governor.ledger.peek(trade) if trade is not None else None
            order_id = str(order.get("id"))
            if self._wanted(trade, state):
                if order_id in (state.backstop_id, *state.backstop_kept):
                    held.add(order_id)
                    continue
                if state.backstop_id is None and not state.backstop_kept:  # placed; the bot died before storing it
                    self._save(trade, backstop_id=order_id, backstop_native=_native_of(order),
                               backstop_amount=_amount_of(order))
                    governor.counters["backstops_adopted"] += 1
                    held.add(order_id)
                    continue
            self._cancel_orphan(trade, order_id, str(order.get("symbol")))
        return held

    def _reconcile_positions(self, trades: dict[Any, Any], listed: list[dict]) -> set[str]:
        """A position venue: a position's trailing stop is the plugin's only when the pair's trade
        recorded that distance (set by this keeper); anything else is foreign."""
        governor, held, foreign, findings = self.governor, set(), set(), set()
        by_pair = {trade.pair: trade for trade in trades.values()}
        for entry in listed:
            pair = str(entry.get("symbol"))
            trade = by_pair.get(pair)
            state = governor.ledger.peek(trade) if trade is not None else None
            native = _native_of(entry)
            if state is not None and state.backstop_id and self._set_by_us(trade, state, native):
                if native is not None and not _same_amount(state.backstop_native, native):
                    state = self._save(trade, backstop_native=native) or state
                if self._wanted(trade, state):
                    held.add(state.backstop_id)
                else:
                    self._cancel_orphan(trade, state.backstop_id, pair)
                continue
            if state is not None and state.backstop_id:  # replaced on the exchange by someone else's
                self._save(trade, **FORGOTTEN)
            self.foreign += 1
            if governor.settings.cancel_foreign_stop_orders:
                self._cancel_orphan(trade, "the position's trailing stop", pair, foreign=True)
                continue
            foreign.add(pair)
            finding = f"{pair}:{native}"
            findings.add(finding)
            if finding not in self._reported:
                governor.events.emit(EventName.WARNING, getattr(trade, "id", None), pair,
                                     reason="position trailing stop not set by the bot left alone "
                                            f"(distance {native}); no backstop is set over it")
        self._reported, self.foreign_pairs = findings, foreign
        return held

    def _set_by_us(self, trade: Any, state: TrailState, native: float | None) -> bool:
        if native is None:
            return False
        return _same_amount(state.backstop_native, native) or any(
            _same_amount(mine, native) for mine in self._set.get(trade.id, ()))

    def _cancel_orphan(self, trade: Any, order_id: str, pair: str, foreign: bool = False) -> None:
        governor = self.governor
        if not self._cancel(order_id, pair):
            return
        if trade is not None and not foreign:
            self._forget(trade, order_id)
        self.orphans += 0 if foreign else 1
        governor.counters["orphans_cancelled"] += 1
        governor.events.emit(EventName.ORPHAN_CANCELLED, getattr(trade, "id", None), pair,
                             order_id=order_id, backstop=True, foreign=foreign or None)


def _filled(order: dict) -> bool:
    """A stop that went off and filled (one triggered on an empty position expires unfilled)."""
    went_off = order.get("status") in FIRED_STATUSES or order.get("status_stop") == "triggered"
    return went_off and float(order.get("filled") or 0) > 0


def _same_amount(recorded: float | None, value: float | None) -> bool:
    return recorded is not None and value is not None and math.isclose(recorded, value, rel_tol=1e-9)


def _amount_of(order: dict) -> float | None:
    try:
        return float(order["amount"]) if order.get("amount") is not None else None
    except (TypeError, ValueError):
        return None


def _native_of(order: dict) -> float | None:
    value = order.get("native") or (order.get("info") or {}).get("callbackRate")
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
