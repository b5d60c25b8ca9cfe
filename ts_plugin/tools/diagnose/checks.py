"""What one snapshot of a bot shows to be wrong (or worth a note): pure functions, no I/O.

Each check reads only what the bot itself reported (``snapshot.py``) and judges it with the plugin's
own code: the stored state is decoded by ``state.decode``, compared with its trade by
``consistency.contradiction`` (the check every way into a state runs), the trailing level and the
breakeven floor are the machine's formulas on the stored peak and distance, the exchange gap is the
policy's ``improvement``. A check yields ``Observation``s; whether one is a problem is decided over
the series of snapshots (``verdict.py``): a poll can race the bot's own iteration, so a problem must
be seen at consecutive polls spanning ``confirm_after_s``.

For a long trade (a short mirrors every comparison), with prices compared at one price tick:
- every open, filled trade has a readable ``smart_trailing`` state that belongs to it;
- a trade whose price (or best price, or stored peak) reached its activation price is ACTIVE, and
  so is one due for time activation (with the settings in force, rules.py);
- an ACTIVE trade has a stop, no looser than peak x (1 - distance) (the stored distance, or the
  steps' distance for the peak's profit with the settings in force, whichever is tighter); a trade that reached breakeven
  has a stop no looser than entry x (1 + offset); the peak is not behind the best rate freqtrade saw;
- freqtrade's stop is no looser than the plugin's; a stop already through the price has its exit;
- with stoploss on exchange: exactly one live stop order, and the exchange stop no further behind
  the bot's stop than the policy lets it stay (an emergency-sized gap lasting past the plugin's own
  alarm limit is a problem);
- the state was never rebuilt, the circuit is closed, the plugin reports no unprotected trade;
- the exchange holds no coins or positions that no open trade accounts for (``holdings.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping

from ts_plugin.core.config import BreakevenConfig
from ts_plugin.core.consistency import TradeFacts, contradiction, tick_slack
from ts_plugin.core.entry_stop import Fill, untrailed_stop
from ts_plugin.core.machine import breakeven_level, profit_ratio, trail_distance
from ts_plugin.core.state import Phase, StateError, TrailState, decode, noise_free
from ts_plugin.exchange.policy import improvement
from ts_plugin.tools.diagnose import formatting as fmt
from ts_plugin.tools.diagnose.rules import Rules
from ts_plugin.tools.diagnose.snapshot import Snapshot

# Two iterations of freqtrade's default loop (process_throttle_secs 5): a poll that raced the bot's
# iteration is followed by one that did not.
CONFIRM_S = 10.0


class Severity(str, Enum):
    PROBLEM = "problem"
    NOTE = "note"


@dataclass(frozen=True)
class Observation:
    """One thing seen at one poll. ``key`` names it across polls (the check and its subject)."""

    check: str
    subject: str  # "trade #12 BTC/USDT", "ETH holding", "bot"
    severity: Severity
    text: str
    confirm_after_s: float = CONFIRM_S

    @property
    def key(self) -> tuple[str, str]:
        return self.check, self.subject


def trade_subject(trade: Mapping[str, Any]) -> str:
    return f"trade #{trade.get('trade_id')} {trade.get('pair')}"


def price_step(trade: Mapping[str, Any], price: float) -> float:
    """The pair's price tick (ccxt's precision modes: 2 decimals, 3 significant digits, 4 tick size)."""
    precision, mode = trade.get("price_precision"), trade.get("precision_mode")
    if precision is None or mode is None:
        return 0.0
    if mode == 4:
        return float(precision)
    if mode == 2:
        return 10.0 ** -float(precision)
    if mode == 3 and price > 0:
        return 10.0 ** (math.floor(math.log10(price)) - float(precision) + 1)
    return 0.0


def _looser(stop: float, level: float, is_short: bool, slack: float) -> bool:
    return stop > level + slack if is_short else stop < level - slack


def _reached(price: float, level: float, is_short: bool) -> bool:
    seen, mark = noise_free(price), noise_free(level)
    return seen <= mark if is_short else seen >= mark


def stop_orders(trade: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [o for o in trade.get("orders") or () if o.get("ft_order_side") == "stoploss"]


def live_stop_orders(trade: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [o for o in stop_orders(trade) if o.get("is_open")]


def is_filled(trade: Mapping[str, Any]) -> bool:
    return (trade.get("nr_of_successful_entries") or 0) >= 1 and (trade.get("amount") or 0) > 0


def read_state(stored: Any) -> tuple[TrailState | None, str | None]:
    """(state, None), or (None, why it cannot be read)."""
    if stored is None:
        return None, None
    try:
        return decode(stored), None
    except StateError as exc:
        return None, str(exc)


def _facts(trade: Mapping[str, Any], step: float) -> TradeFacts:
    """The bot's facts (trade_facts.trade_facts) from freqtrade's API view of the trade."""
    is_short = bool(trade.get("is_short"))
    filled = [o for o in trade.get("orders") or () if o.get("status") == "closed" and o.get("safe_price")]
    fills = [Fill(o.get("ft_order_side") == ("sell" if is_short else "buy"), float(o["safe_price"]),
                  float(o.get("filled") or o.get("amount") or 0)) for o in filled]
    stop, initial, ratio = (trade.get("stop_loss_abs"), trade.get("initial_stop_loss_abs"),
                            trade.get("initial_stop_loss_ratio"))
    untrailed = untrailed_stop(
        is_short=is_short, leverage=float(trade.get("leverage") or 1.0), open_rate=float(trade["open_rate"]),
        stoploss=float(ratio) if ratio is not None else None, initial_stop=initial, fills=fills, price_step=step)
    return TradeFacts(
        is_short=is_short, is_open=True, open_rate=float(trade["open_rate"]),
        entry_prices=tuple(fill.price for fill in fills if fill.is_entry), stop_loss=stop,
        untrailed_stop=untrailed, price_step=step)


def observe_trade(trade: Mapping[str, Any], stored: Any, rules: Rules, stop_on_exchange: bool,
                  now: float) -> list[Observation]:
    """Everything one open trade shows at one poll (taken at ``now``)."""
    if not is_filled(trade):
        return []  # the plugin takes charge at the entry fill
    subject, is_short = trade_subject(trade), bool(trade.get("is_short"))
    seen: list[Observation] = []

    def found(check: str, text: str, severity: Severity = Severity.PROBLEM, after: float = CONFIRM_S):
        seen.append(Observation(check, subject, severity, text, after))

    def p(value: float | None) -> str:
        return fmt.price(value, trade)

    state, unreadable = read_state(stored)
    if stored is None:
        found("no_state", "no smart_trailing state stored: the plugin has not taken charge of this trade")
    elif unreadable:
        found("unreadable_state", f"stored smart_trailing state cannot be read ({unreadable}): the "
                                  "plugin rebuilds it from the trade at its next tick")
    current = float(trade.get("current_rate") or 0)
    step = price_step(trade, current or float(trade["open_rate"]))
    if state is not None:
        why = contradiction(state, _facts(trade, step))
        if why:
            found("contradicts_trade", f"stored state contradicts the trade ({why}): the plugin "
                                       "rebuilds it at its next tick")
        else:
            _state_rules(trade, state, current, step, rules, now, found, p)
    if state is not None and state.rebuilds:
        found("rebuilt", f"state rebuilt {state.rebuilds} time(s) from the trade (the WARNING event "
                         "lines say why)")
    if stop_on_exchange:
        _exchange_stop(trade, state, step, rules, found, p)
    return seen


def _state_rules(trade, state: TrailState, current: float, step: float, rules: Rules, now: float,
                 found, p) -> None:
    is_short = state.is_short
    best_seen = [state.peak] + ([current] if current > 0 else [])
    single_entry = (trade.get("nr_of_successful_entries") or 0) <= 1
    best_rate = trade.get("min_rate" if is_short else "max_rate")
    if single_entry and best_rate:
        best_seen.append(float(best_rate))
    best = min(best_seen) if is_short else max(best_seen)
    config = rules.config
    if state.phase is not Phase.ACTIVE:
        timer = config.time_activation if config is not None else None
        if _reached(best, state.activation_price, is_short):
            found("not_active", f"price reached the activation price {p(state.activation_price)} "
                                f"(best {p(best)}) but the phase is {state.phase.value}")
        elif (timer is not None and current > 0 and now - state.opened_at >= timer.after_minutes * 60
              and profit_ratio(state.entry, current, is_short) >= timer.min_profit):
            found("not_active", f"{(now - state.opened_at) / 60:.0f} min old at "
                                f"{fmt.pct(profit_ratio(state.entry, current, is_short))}: time activation "
                                f"(after {timer.after_minutes:g} min at {fmt.pct(timer.min_profit)}) is due "
                                f"but the phase is {state.phase.value}")
    slack = tick_slack(state.stop or current or state.entry, step)
    if state.phase is Phase.ACTIVE:
        distances = [] if state.distance is None else [state.distance]
        if config is not None and config.momentum is None:  # with momentum only the plugin knows it
            distances.append(trail_distance(profit_ratio(state.entry, state.peak, is_short), config, None))
        if state.stop is None:
            found("active_without_stop", "ACTIVE without a stop")
        elif distances:
            distance = min(distances)  # the tighter level
            level = state.peak * (1 + distance) if is_short else state.peak * (1 - distance)
            if _looser(state.stop, level, is_short, slack):
                found("looser_than_trailing",
                      f"stop {p(state.stop)} looser than the trailing level {p(level)} "
                      f"(peak {p(state.peak)}, distance {distance:.2%})")
    if state.breakeven_at is not None or state.phase is Phase.BREAKEVEN:
        offset = rules.breakeven_offset or 0.0  # unknown: at least the entry itself
        floor = breakeven_level(state.entry, is_short, BreakevenConfig.model_construct(offset=offset))
        if state.stop is None or _looser(state.stop, floor, is_short, slack):
            found("looser_than_breakeven",
                  f"stop {p(state.stop)} looser than the breakeven floor {p(floor)} "
                  f"(entry {p(state.entry)}, offset {offset:.2%})")
    if single_entry and best_rate and state.phase is not Phase.CLOSED:
        behind = state.peak < float(best_rate) - slack if not is_short else state.peak > float(best_rate) + slack
        if behind:
            found("peak_behind", f"peak {p(state.peak)} behind the best rate the bot saw "
                                 f"{p(float(best_rate))}: the plugin missed prices")
    bot_stop = trade.get("stop_loss_abs")
    if state.stop is not None and bot_stop and state.crossed_at is None:
        if _looser(float(bot_stop), state.stop, is_short, slack):
            found("bot_stop_looser", f"the bot's stop {p(float(bot_stop))} is looser than the "
                                     f"plugin's {p(state.stop)}")
    if state.crossed_at is not None:
        pending = bool(trade.get("has_open_orders"))
        found("exit_due", f"stop went through the price at {fmt.utc(state.crossed_at)}; "
                          + ("its exit order is open" if pending else "the trade is still open, no exit order"),
              Severity.NOTE if pending else Severity.PROBLEM)


def _exchange_stop(trade, state: TrailState | None, step: float, rules: Rules, found, p) -> None:
    live = live_stop_orders(trade)
    if trade.get("has_open_orders"):
        return  # freqtrade places no stop while an entry or exit order is open
    if not live:
        # freqtrade lists only open and filled orders: a cancelled stop is simply gone from /status
        filled = stop_orders(trade)
        if filled:
            why = f" (stop order {filled[-1]['order_id']} {filled[-1]['status']})"
        elif state is not None and state.exchange_stop_id:
            why = (f" (the plugin's last: order {state.exchange_stop_id} at {p(state.exchange_stop)}, "
                   "gone)")
        else:
            why = ""
        found("no_exchange_stop", f"no live stop order on the exchange{why}: nothing protects the "
                                  "trade if the bot stops")
        return
    if len(live) > 1:
        found("several_exchange_stops", f"{len(live)} live stop orders on the exchange "
                                        f"({', '.join(o['order_id'] for o in live)})")
    if state is None:
        return
    if state.exchange_stop is None:
        found("exchange_stop_unknown", f"the plugin has no record of the exchange stop (order "
                                       f"{live[-1]['order_id']})", Severity.NOTE)
        return
    if state.exchange_stop_id and state.exchange_stop_id not in {o["order_id"] for o in live}:
        found("exchange_stop_id", f"the plugin's exchange stop is order {state.exchange_stop_id}, the "
                                  f"live one is {live[-1]['order_id']}", Severity.NOTE)
    bot_stop = trade.get("stop_loss_abs")
    if not bot_stop:
        return
    gap = improvement(state.exchange_stop, float(bot_stop), state.is_short)
    if gap >= rules.emergency_improvement:
        found("exchange_stop_behind",
              f"exchange stop {p(state.exchange_stop)} behind the bot's stop {p(float(bot_stop))} by "
              f"{gap:.2%} (a move of {rules.emergency_improvement:.2%} or more goes out at once)",
              after=rules.lag_limit_s)
    elif gap < 0 and _looser(float(bot_stop), state.exchange_stop, state.is_short,
                             tick_slack(float(bot_stop), step)):
        found("exchange_stop_ahead", f"exchange stop {p(state.exchange_stop)} tighter than the bot's "
                                     f"stop {p(float(bot_stop))}", Severity.NOTE)


def observe_bot(snapshot: Snapshot, rules: Rules) -> list[Observation]:
    """What the bot as a whole shows: its state, the plugin's health line and WARNING lines."""
    seen: list[Observation] = []
    now = snapshot.taken_at
    open_trades = {t.get("trade_id"): t for t in snapshot.trades}
    open_ids = set(open_trades)
    state = snapshot.config.get("state")
    if state != "running":
        seen.append(Observation("bot_not_running", "bot", Severity.PROBLEM if open_ids else Severity.NOTE,
                                f"the bot is {state}: it manages no trade (freqtrade /start)"))
    log = snapshot.log
    if not rules.from_bot:
        seen.append(Observation("settings_unknown", "bot", Severity.NOTE,
                                "the plugin's settings line is no longer in the bot's log buffer: "
                                f"judged with the default exchange policy ({rules.describe()})"))
    health = log.health
    if health is None:
        seen.append(Observation("no_health", "bot", Severity.NOTE,
                                "no smart_trailing health line in the bot's log buffer yet"))
        return seen
    at = fmt.iso_epoch(health.get("at")) or log.health_logged_at
    alarms = health.get("alarms") if isinstance(health.get("alarms"), dict) else {}
    for channel, fixes in (alarms.get("not_delivered_to") or {}).items():
        # the bot's own channel check (alarm_delivery.py): its alarms reach no one there
        seen.append(Observation(f"alarms_not_delivered_{channel}", "bot", Severity.PROBLEM,
                                f"alarms not delivered to {channel}: set {' and '.join(fixes)} in the "
                                "bot's config"))
    for counter, what in (("rebuilt_states", "trailing states rebuilt"), ("tick_errors", "tick errors"),
                          ("store_write_failures", "failed state writes")):
        if health.get(counter):
            seen.append(Observation(counter, "bot", Severity.PROBLEM,
                                    f"{health[counter]} {what} since the bot started (health line of "
                                    f"{fmt.when(at, now)})"))
    if health.get("unusable_rates"):
        seen.append(Observation("unusable_rates", "bot", Severity.NOTE,
                                f"{health['unusable_rates']} unusable rates ignored since start"))
    exchange = health.get("exchange") or {}
    circuit = exchange.get("circuit")
    if circuit == "OPEN":
        seen.append(Observation("circuit_open", "bot", Severity.PROBLEM,
                                "the exchange circuit is OPEN: exchange stop moves are paused "
                                f"(health line of {fmt.when(at, now)})"))
    elif circuit == "HALF_OPEN":
        seen.append(Observation("circuit_half_open", "bot", Severity.NOTE,
                                "the exchange circuit is HALF_OPEN (normal after a restart until the "
                                "first exchange call succeeds)"))
    reconciliation = health.get("last_reconciliation") or {}
    for trade_id in reconciliation.get("unprotected_trades") or ():
        if trade_id in open_ids:
            seen.append(Observation("unprotected", trade_subject(open_trades[trade_id]), Severity.PROBLEM,
                                    "the plugin's reconciliation found no live exchange stop for it"))
    if reconciliation.get("foreign"):
        seen.append(Observation("foreign_stops", "bot", Severity.NOTE,
                                f"{reconciliation['foreign']} stop order(s) on the exchange the bot "
                                "never created (left alone)"))
    return seen


def warning_lines(snapshot: Snapshot, latest: int = 5) -> list[str]:
    """The plugin's latest distinct WARNING lines in the log buffer, with time, age and repeats."""
    last: dict[str, tuple[float, int]] = {}
    for line in snapshot.log.warnings:
        _, count = last.pop(line.message, (0.0, 0))
        last[line.message] = (line.at, count + 1)  # re-inserted: the dict stays in order of last time
    return [f"{fmt.when(at, snapshot.taken_at)}{f', {count} times' if count > 1 else ''}: {message}"
            for message, (at, count) in list(last.items())[-latest:]]
