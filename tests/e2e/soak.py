"""Helpers of the soak end-to-end test (``test_soak.py``) and its bench hook (``benchmarks/soak.py``).

- ``candle_paths``: real 5m candles from ``../shared/data`` as intra-candle price paths (open, then the
  extreme nearer to the open's side, the other extreme, close), rescaled to start at a round price;
- ``PriceReplay``: replays those paths into the sandbox on a clock (the scenario's input, not a wait);
- ``order_timeline`` / ``positions`` / ``protection``: what the sandbox itself recorded (order creation
  ``time``, ``updateTime`` of the cancel or the fill, status): each position from its entry fill to its
  exit fill, its stop orders and the intervals in which none of them was live;
- ``StateLog``: the stored ``smart_trailing`` object of every open trade, sampled over REST, and every
  loosening of the bot's or the exchange's stop in that history.

The same scenario runs on several venues (``SoakPlan``, ``PLANS``): Binance spot, Binance USD-M
futures and Bybit linear with the native backstop and position adjustments. What differs between them
(where the sandbox keeps orders and positions, what a stop looks like, which endpoint a fault aims at)
is in ``soak_venues``; the checks that compare the exchange with freqtrade and the webhook's inbox are
in ``soak_checks``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.soak_checks import (alarm_delivery, backstop_findings, crossed_findings, fill_findings,
                                   position_findings, stop_cover_findings, wallet_findings)
from tests.e2e.soak_venues import ENDED, VENUES, BinanceFuturesVenue, SpotVenue, symbol  # noqa: F401  (symbol: used by callers)

STOP_TYPES = SpotVenue.STOP_TYPES


# ----- price paths ------------------------------------------------------------------------------

def candle_paths(datadir: Path, bases: list[str], start: int, count: int, quote: str = "BTC",
                 start_price: float = 100.0, pair_of=SpotVenue.pair) -> dict[str, list[float]]:
    """``{"ADA/USDT": [o, x1, x2, c, o, ...]}``: four points per candle, scaled so the first open is
    ``start_price``. A rising candle is assumed to have made its low first, a falling one its high."""
    import pandas as pd

    paths: dict[str, list[float]] = {}
    for base in bases:
        frame = pd.read_feather(datadir / f"{base}_{quote}-5m.feather").iloc[start:start + count]
        if len(frame) < count:
            raise ValueError(f"{base}_{quote}: only {len(frame)} candles from {start}, {count} wanted")
        scale = start_price / float(frame["open"].iloc[0])
        points: list[float] = []
        for o, h, l, c in frame[["open", "high", "low", "close"]].itertuples(index=False):
            middle = (l, h) if c >= o else (h, l)
            points += [o * scale, middle[0] * scale, middle[1] * scale, c * scale]
        paths[pair_of(base)] = points
    return paths


class PriceReplay:
    """Feeds every pair's path into the sandbox, one candle per ``seconds_per_candle``, each of the
    candle's three legs in ``steps_per_leg`` straight-line steps (so a stop-limit order sees the
    price pass its stop instead of jumping past its limit). Runs on a daemon thread."""

    def __init__(self, sandbox: Any, paths: dict[str, list[float]], seconds_per_candle: float = 1.0,
                 steps_per_leg: int = 4) -> None:
        self.sandbox = sandbox
        self.paths = paths
        self.candles = min(len(p) for p in paths.values()) // 4
        self.step_s = seconds_per_candle / (3 * steps_per_leg)
        self.steps_per_leg = steps_per_leg
        self.duration_s = self.candles * seconds_per_candle
        self.started_at: float | None = None
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="price-replay", daemon=True)
        self.error: BaseException | None = None

    def elapsed(self) -> float:
        return 0.0 if self.started_at is None else time.monotonic() - self.started_at

    def start(self) -> "PriceReplay":
        self.started_at = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _ticks(self):
        for candle in range(self.candles):
            for leg in range(3):
                for step in range(1, self.steps_per_leg + 1):
                    share = step / self.steps_per_leg
                    yield {pair: path[4 * candle + leg] + (path[4 * candle + leg + 1] - path[4 * candle + leg]) * share
                           for pair, path in self.paths.items()}

    def _run(self) -> None:
        try:
            for number, prices in enumerate(self._ticks(), start=1):
                for pair, price in prices.items():
                    self.sandbox.set_price(pair, price)
                # pacing the scenario's input on the clock (not a synchronisation)
                if self._stop.wait(max(0.0, self.started_at + number * self.step_s - time.monotonic())):
                    return
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.finished.set()


# ----- the sandbox's own record ------------------------------------------------------------------

def order_timeline(sandbox: Any) -> list[dict]:
    """Every spot order the sandbox holds as ``soak_venues`` records, with its timestamps (ms): ``time``
    created, ``updateTime`` last change (the cancel or the fill for an order that ended)."""
    return SpotVenue(sandbox).records()


@dataclass
class Position:
    """One long position on the exchange: opened by ``entry_id``, grown by later buys (a DCA), shrunk
    by sells (a partial exit) and closed by ``exit_id``, the sell that left (next to) nothing."""

    symbol: str
    entry_id: int
    opened_ms: int
    closed_ms: int | None = None
    exit_id: int | None = None
    exit_type: str | None = None
    stops: list[dict] = field(default_factory=list)
    bought: float = 0.0
    sold: float = 0.0
    adds: int = 0
    partial_exits: int = 0


def _is_stop(order: dict) -> bool:
    return order.get("role") == "stop" if "role" in order else order["type"] in STOP_TYPES


def positions(orders: list[dict]) -> list[Position]:
    """Positions per symbol from the fills (one position per pair at a time, as freqtrade trades). A
    record without ``qty`` counts as the whole position (one buy, one sell)."""
    found: list[Position] = []
    open_by_symbol: dict[str, Position] = {}
    fills = sorted((o for o in orders if o.get("fill", o["status"] == "FILLED")),
                   key=lambda o: (o["updateTime"], str(o["orderId"])))
    for order in fills:
        symbol, qty = order["symbol"], float(order.get("qty", 0.0))
        position = open_by_symbol.get(symbol)
        if order["side"] == "BUY":
            if position is None:
                position = Position(symbol, order["orderId"], order["updateTime"])
                open_by_symbol[symbol] = position
                found.append(position)
            else:
                position.adds += 1
            position.bought += qty
        elif position is not None:
            position.sold += qty
            # a sell that leaves less than a thousandth of what was bought closes it (dust, rounding)
            if "qty" not in order or position.bought - position.sold <= 1e-3 * position.bought:
                open_by_symbol.pop(symbol)
                position.closed_ms, position.exit_id, position.exit_type = order["updateTime"], order["orderId"], order["type"]
            else:
                position.partial_exits += 1
    for position in found:
        position.stops = [o for o in orders if o["symbol"] == position.symbol and _is_stop(o)
                          and o["time"] >= position.opened_ms
                          and (position.closed_ms is None or o["time"] <= position.closed_ms)]
    return found


def _live_interval(order: dict, end_ms: int) -> tuple[int, int]:
    return order["time"], (order["updateTime"] if order["status"] in ENDED else end_ms)


def _overlap(start: int, end: int, windows: list[tuple[int, int]]) -> int:
    return sum(max(0, min(end, b) - max(start, a)) for a, b in windows)


@dataclass
class Gap:
    start_ms: int
    end_ms: int
    kind: str  # first_stop | replacement | exit | other
    bot_down_ms: int  # the part of the gap while the bot was dead or restarting

    @property
    def seconds(self) -> float:
        return (self.end_ms - self.start_ms) / 1000


def protection(position: Position, end_ms: int, downtime: list[tuple[int, int]]) -> list[Gap]:
    """The intervals in which the open position had no live stop order on the exchange, each named by
    how it began and ended: at the entry fill (``first_stop``), at the cancel of the previous stop
    and ended by the next stop (``replacement``) or by the position's exit fill (``exit``: freqtrade
    cancels the stop before a market exit), or otherwise (``other``)."""
    until = position.closed_ms or end_ms
    intervals = sorted(_live_interval(o, end_ms) for o in position.stops)
    cancelled_at = {o["updateTime"] for o in position.stops if o["status"] == "CANCELED"}
    gaps: list[Gap] = []
    cursor = position.opened_ms
    for start, end in intervals + [(until, until)]:
        start, end = max(start, position.opened_ms), min(end, until)
        if start > cursor:
            kind = ("first_stop" if cursor == position.opened_ms
                    else "other" if cursor not in cancelled_at
                    else "exit" if start == until and position.closed_ms is not None else "replacement")
            gaps.append(Gap(cursor, start, kind, _overlap(cursor, start, downtime)))
        cursor = max(cursor, end)
    return gaps


def unprotected_seconds(gaps: list[Gap], first_stop_grace_s: float, replacement_grace_s: float) -> float:
    """Time without a live stop outside what placing or replacing a stop needs: the bot's downtime,
    the first ``first_stop_grace_s`` after the entry fill and ``replacement_grace_s`` of each
    cancel-then-create are not counted; everything else is."""
    total = 0.0
    for gap in gaps:
        seconds = max(0.0, (gap.end_ms - gap.start_ms - gap.bot_down_ms) / 1000)
        grace = {"first_stop": first_stop_grace_s, "replacement": replacement_grace_s,
                 "exit": replacement_grace_s}.get(gap.kind, 0.0)
        total += max(0.0, seconds - grace)
    return total


# freqtrade logs its heartbeat after an iteration once ``internals.heartbeat_interval`` has passed: the
# soak's bots set it below any iteration's length, so every iteration ends with this line.
HEARTBEAT_EVERY_ITERATION = 0.001
_HEARTBEAT = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - freqtrade\.worker - INFO - Bot heartbeat")


def iteration_ends(log_text: str) -> list[int]:
    """When each of the bot's iterations ended (epoch ms), from its heartbeat lines (local time)."""
    from datetime import datetime

    return [int(datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp() * 1000)
            for m in map(_HEARTBEAT.match, log_text.splitlines()) if m]


def unprotected_iterations(gaps: list[Gap], ends_ms: list[int], graces: dict[str, int]) -> int:
    """How many of the bot's iterations ended while a position had no live stop, beyond what placing
    or replacing a stop needs (``graces``: iterations per gap kind; none for a gap no cancel began).
    Measured in the bot's own iterations, not seconds: a loaded machine slows the iterations, not
    their count. The bot's downtime holds no iteration."""
    return sum(max(0, sum(1 for end in ends_ms if gap.start_ms < end < gap.end_ms) - graces.get(gap.kind, 0))
               for gap in gaps)


# ----- the stored state over time ---------------------------------------------------------------

def smart_trailing_entries(answer: Any) -> dict[int, dict]:
    """``{trade_id: smart_trailing object}`` from a freqtrade-client custom-data answer."""
    found: dict[int, dict] = {}
    for entry in answer if isinstance(answer, list) else [answer]:
        if not isinstance(entry, dict):
            continue
        for item in entry.get("custom_data", []) or []:
            if item.get("key") == "smart_trailing":
                value = item["value"]
                found[int(entry["trade_id"])] = json.loads(value) if isinstance(value, str) else value
    return found


class StateLog:
    """Every distinct stored ``smart_trailing`` object per trade, in the order it was seen."""

    def __init__(self) -> None:
        self.history: dict[int, list[tuple[float, dict]]] = {}

    def record(self, trade_id: int, state: dict, at: float | None = None) -> None:
        seen = self.history.setdefault(trade_id, [])
        if not seen or seen[-1][1] != state:
            seen.append((time.time() if at is None else at, state))

    def loosenings(self) -> list[str]:
        """Every step in which a trade's stored stop (``stop``) moved against the trade or went from a
        value back to none, or its stored exchange stop (``exchange_stop``) moved against the trade."""
        return self._steps(lambda key, last, value, short: value is not None and (
            value > last * (1 + 1e-9) if short else value < last * (1 - 1e-9)) or (key == "stop" and value is None))

    def dropped(self) -> list[str]:
        """Every step in which a trade's stored ``exchange_stop`` went from a value back to none (the
        plugin forgot the exchange stop it placed: a rebuilt state, for example)."""
        return self._steps(lambda key, last, value, short: key == "exchange_stop" and value is None)

    def _steps(self, wrong) -> list[str]:
        found = []
        for trade_id, samples in sorted(self.history.items()):
            for key in ("stop", "exchange_stop"):
                last, reported = None, None
                for at, state in samples:
                    value = state.get(key)
                    if last is not None and (value, last) != reported and wrong(key, last, value, state.get("side") == "short"):
                        reported = (value, last)  # the same step seen again in a later sample: once
                        found.append(f"trade {trade_id}: {key} {last} -> {value} (phase {state.get('phase')}, "
                                     f"seen {time.strftime('%H:%M:%S', time.gmtime(at))} UTC)")
                    if value is not None:
                        last = value
        return found


def exchange_loosenings(position: Position) -> list[str]:
    """Stop orders of one position whose stop price is below the one created before it (long)."""
    found = []
    prices = [(o["orderId"], float(o["stopPrice"])) for o in sorted(position.stops, key=lambda o: (o["time"], o["orderId"]))]
    for (before_id, before), (order_id, price) in zip(prices, prices[1:]):
        if price < before * (1 - 1e-9):
            found.append(f"{position.symbol} position {position.entry_id}: stop order {order_id} at {price} "
                         f"after {before_id} at {before}")
    return found


# ----- the scenario -----------------------------------------------------------------------------

BASES = ["ADA", "ETC", "TRX", "XMR"]  # four of the ten BTC pairs, traded here as <BASE>/USDT
START_CANDLE = 1000  # 2018-01-13 16:15 UTC
CANDLES = 150  # at one candle a second: 2.5 minutes of price path (12.5 hours of market)
FIRST_STOP_GRACE_S = 15.0  # freqtrade places a new trade's stop in its next iteration (5-8 s under 250 ms latency)
REPLACEMENT_GRACE_S = 10.0  # a cancel-then-create, with retries of a 429 inside the budget
# The seconds beyond these graces are a figure (BENCHMARKS.md), not a check: on a loaded machine an
# iteration takes longer. The check counts the bot's iterations a position spent without a live stop:
# the entry fill's iteration ends, the next one places the stop (one more when that create is refused
# with a 429 and retried at the next iteration); a replacement (cancel-then-create) or the cancel
# before a market exit finishes within its iteration (one end may fall inside).
ITERATION_GRACES = {"first_stop": 2, "replacement": 1, "exit": 1}
# Whole run, all positions: iterations without a live exchange stop beyond the graces. The burst of
# six 429 on stop creates after the restart can refuse one trade's first stop in up to three
# iterations (two attempts each): two beyond its grace; the exchange refused, the plugin could not
# help. A pair whose next trade is refused every stop (a stale -2011 block, issue 6 item 13) adds one
# per iteration, tens in a run.
UNPROTECTED_ITERATIONS_BOUND = 2
UNPROTECTED_BOUND_S = 5.0  # kept for ``benchmarks/soak.py``'s table: the seconds figure it reports
STRATEGIES = Path(__file__).parent / "strategies"
SETTINGS = {
    "activation_profit": 0.01, "trail_distance": 0.005,
    "breakeven": {"trigger_profit": 0.005, "offset": 0.001},
    "exchange": {"min_update_interval_s": 3, "min_improvement": 0.001, "emergency_improvement": 0.006,
                 "orphan_check_interval_s": 5, "retry_attempts": 2, "retry_budget_s": 4,
                 "circuit_failure_threshold": 3, "circuit_cooldown_s": 5,
                 "alert_unprotected_window_ms": 2000},
}
HARD_STOP = -0.03  # config override of the strategy's -5 %: positions that never activate turn over too
# Faults, at seconds of the price path. -2011 targets: the live stop of a trade that is ACTIVE and
# whose exchange stop has moved once; every cancel of that one order answers -2011 while it stays
# live, until the price reaches it and it fills.
LATENCY = [(0, 30), (40, 250), (60, 30)]  # ms added to every request from then on
# A burst as long as ``retry_attempts`` makes a call fail; the last one fails three calls in a row
# and opens the circuit. Every endpoint (``*``) gets only two: freqtrade's own retrier sleeps 1 s,
# 2 s, 5 s, 10 s between attempts, holding its whole loop.
# ``stop_create`` / ``stop_cancel`` name each venue's endpoint of a stop placement and of a stop's
# cancel (Bybit: its amend), see ``soak_venues``.
RATE_LIMIT_BURSTS = [
    (20, "stop_create", {"kind": "http", "status": 429, "times": 2}),
    (20, "stop_cancel", {"kind": "http", "status": 429, "times": 2}),
    (65, "*", {"kind": "http", "status": 429, "times": 2}),
    (120, "stop_create", {"kind": "http", "status": 429, "times": 6}),
]
# (from s, to s, targets at most) of the path; a target is a stop close to the price (within 1.2 %)
# that the bot's stop has already passed, so its cancel comes soon and its fill is likely.
UNKNOWN_ORDER_WINDOWS = [(5, 65, 4), (112, 140, 2)]
# (from s, to s, targets at most): an ACTIVE trade (not a -2011 target) whose stop has moved once gets
# the fill-in-the-race fault on its next replacement (``race_faults`` of the venue).
RACE_WINDOWS = [(25, 90, 1), (108, 140, 1)]
KILL_AT = 100  # s of the path: kill -9, restart on the same database
# A force-entry whose answer never came (the REST client's 10 s timeout under injected latency) may
# still be carried out by the bot: the pair is not entered again for this long unless a trade shows
# up on it. Sent again at once, both calls went through and freqtrade opened two trades on one pair.
UNANSWERED_ENTRY_S = 30
# A native backstop must follow the position's amount (a DCA, a partial exit): the plugin learns of
# the fill and re-places it within an iteration or two. A backstop sampled closing another amount
# than the position for longer than this is a finding.
BACKSTOP_FOLLOW_GRACE_S = 10.0


@dataclass(frozen=True)
class SoakPlan:
    """What one soak runs: the venue (a ``soak_venues.VENUES`` key), the strategy (``E2ESoakAdjust``
    adjusts positions on some trades), the native backstop before the kill and after the restart
    (``None``: unchanged), and whether a stop fills in the make-before-break race (item 3's fault)."""

    venue: str = "spot"
    strategy: str = "E2ETrailing"
    native_backstop: bool = False
    backstop_after_restart: bool | None = None
    race_fault: bool = False

    @property
    def backstop_at_end(self) -> bool:
        return self.native_backstop if self.backstop_after_restart is None else self.backstop_after_restart


PLANS = {
    "spot": SoakPlan(),
    # the backstop switched off at the restart: its leftovers must be found and cancelled whatever the setting
    "binance_futures": SoakPlan("binance_futures", "E2ESoakAdjust", native_backstop=True,
                                backstop_after_restart=False, race_fault=True),
    "bybit": SoakPlan("bybit", "E2ESoakAdjust", native_backstop=True, race_fault=True),
}


class SoakRun:
    """One soak: a live bot on the sandbox, real-candle prices, force-entries, faults, a kill -9.

    ``run()`` returns the report (figures and findings); ``close()`` kills any bot left running."""

    def __init__(self, sandbox: Any, proxy: Any, workdir: Path, paths: dict[str, list[float]],
                 strategies: Path, seconds_per_candle: float = 1.0, log=print, plan: SoakPlan = SoakPlan(),
                 receiver: Any = None) -> None:
        from tests.e2e.bot import free_port
        from tests.e2e.config import bot_config

        self.sandbox, self.workdir, self.paths, self.log = sandbox, workdir, paths, log
        self.plan = plan
        self.venue = VENUES[plan.venue](sandbox)
        self.pairs = sorted(paths)
        exchange_settings, self.environment = proxy.freqtrade_settings()
        if plan.venue == "bybit":
            exchange_settings = {**exchange_settings, "name": "bybit"}
        settings = json.loads(json.dumps(SETTINGS))
        settings["exchange"]["native_backstop"] = plan.native_backstop
        self.config = bot_config(exchange_settings, free_port(), self.pairs, dry_run=False, smart_trailing=settings,
                                 **self.venue.config_options())
        self.config.update(max_open_trades=len(self.pairs), stoploss=HARD_STOP)
        self.config["internals"] = {**self.config.get("internals", {}), "heartbeat_interval": HEARTBEAT_EVERY_ITERATION}
        self.receiver = receiver  # a webhook_receiver.WebhookReceiver: the plugin's alarms must reach it
        if receiver is not None:
            self.config["webhook"] = receiver.webhook_config()
        self.killed: set[int] = set()  # indexes into self.bots of the bots killed with -9
        self.race_targets: list[dict] = []
        self.race_hits: list[dict] = []
        # -2011 targets whose trade has closed: on futures an order the exchange will not cancel is a
        # reduce-only stop that would close the pair's next trade (see _release_closed_targets)
        self.released: set[str] = set()
        # backstop id -> [first, last] monotonic time it was seen closing another amount than the position
        self.backstop_mismatch: dict[str, list] = {}
        self.backstop_mismatch_done: list[tuple] = []
        self.strategies = strategies
        self.replay = PriceReplay(sandbox, paths, seconds_per_candle)
        self.states = StateLog()
        self.bots: list[Any] = []
        self.downtime: list[tuple[int, int]] = []
        self.targets: list[dict] = []
        self.entries: dict[str, float] = {}
        self.unanswered: dict[str, float] = {}  # pair -> when a force-entry went unanswered (timed out)
        self.entry_errors = 0
        self.done_faults: set[tuple[str, int]] = set()
        self.timeline: list[str] = []
        self.unknown_answers: dict[str, int] = {}
        self._count_unknown_answers()

    def _count_unknown_answers(self) -> None:
        """Count the -2011 answers per order id (the sandbox's fault plan counts per endpoint only)."""
        take = self.sandbox.faults.take

        def counting_take(endpoint: str, params: dict | None = None) -> dict | None:
            fault = take(endpoint, params)
            if (fault is not None and fault.get("kind") == "unknown_order_live"
                    and self.venue.answered_order_id(params or {}) in self.released):
                return None  # the exchange answers right again: the target's trade is gone
            if fault is not None and fault.get("kind") == "fill_other_stops":
                self.race_hits.append({"at": round(self.replay.elapsed(), 1), "symbol": (params or {}).get("symbol")})
            if fault is not None and fault.get("kind") == "unknown_order_live":
                order_id = self.venue.answered_order_id(params or {})
                self.unknown_answers[order_id] = self.unknown_answers.get(order_id, 0) + 1
            return fault

        self.sandbox.faults.take = counting_take

    # ----- bot life cycle --------------------------------------------------------------------

    @property
    def bot(self) -> Any:
        return self.bots[-1]

    def _start_bot(self, api_port: int | None = None) -> Any:
        from tests.e2e.bot import BotProcess

        config = json.loads(json.dumps(self.config))
        if api_port is not None:
            config["api_server"]["listen_port"] = api_port
        bot = BotProcess(self.workdir, config, self.plan.strategy, self.strategies, self.environment)
        self.bots.append(bot)
        return bot.start(timeout=120)

    def health(self) -> dict:
        from tests.e2e.bot import health_file

        path = health_file(self.workdir)
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def _reconciled(self) -> bool:
        return bool(self.health().get("exchange", {}).get("reconciled"))

    def close(self) -> None:
        self.replay.stop()
        for bot in self.bots:
            bot.kill()

    def note(self, text: str) -> None:
        line = f"[{self.replay.elapsed():6.1f}s] {text}"
        self.timeline.append(line)
        self.log(line)

    # ----- observation -----------------------------------------------------------------------

    def live_stops(self, pair: str | None = None) -> list[dict]:
        return self.venue.live_stops(pair)

    def sample(self) -> list[dict]:
        """Open trades (REST ``status``) and their stored state, recorded in the state log."""
        trades = self.bot.client.status()
        if not isinstance(trades, list):
            return []
        if trades:
            answer = self.bot.client.list_open_trades_custom_data(key="smart_trailing")
            now = time.time()
            for trade_id, state in smart_trailing_entries(answer).items():
                self.states.record(trade_id, state, now)
        return trades

    def _stored(self, trade_id: int) -> dict | None:
        return self.states.history.get(trade_id, [(0, None)])[-1][1]

    # ----- driving ---------------------------------------------------------------------------

    def _enter_flat_pairs(self, trades: list[dict]) -> None:
        held = {t["pair"] for t in trades}
        for pair in held:
            self.unanswered.pop(pair, None)
        for pair in self.pairs:
            if pair in held or time.monotonic() - self.entries.get(pair, -1e9) < 3:
                continue
            if time.monotonic() - self.unanswered.get(pair, -1e9) < UNANSWERED_ENTRY_S:
                continue  # the last force-entry may still be under way in the bot
            self.entries[pair] = time.monotonic()
            try:
                answer = self.bot.client.forceenter(pair, "long")
            except Exception as exc:  # a 429 burst or a busy bot: the next round tries again
                answer = {"error": str(exc)}
                self.unanswered[pair] = time.monotonic()
            if not (isinstance(answer, dict) and answer.get("trade_id")):
                self.entry_errors += 1
                self.note(f"force-entry {pair} not taken: {str(answer)[:160]}")

    def _faults_due(self, elapsed: float) -> None:
        for number, (at, latency) in enumerate(LATENCY):
            if elapsed >= at and ("latency", number) not in self.done_faults:
                self.done_faults.add(("latency", number))
                self.sandbox.faults.latency_ms = latency
                self.note(f"latency {latency} ms on every request")
        for number, (at, aim, fault) in enumerate(RATE_LIMIT_BURSTS):
            if elapsed >= at and ("burst", number) not in self.done_faults:
                self.done_faults.add(("burst", number))
                endpoint, when = getattr(self.venue, aim) if aim != "*" else ("*", None)
                fault = {**fault, "when": when} if when else fault
                self.sandbox.faults.add(endpoint, fault)
                self.note(f"{fault['times']} x HTTP 429 on {endpoint}")

    def _target_unknown_order(self, elapsed: float, trades: list[dict]) -> None:
        if self.venue.unknown_order_fault(0, "") is None:
            return  # no cancel of a live stop on this venue
        for start, end, most in UNKNOWN_ORDER_WINDOWS:
            if not start <= elapsed < end or sum(start <= t["at"] < end for t in self.targets) >= most:
                continue
            targeted = {t["pair"] for t in self.targets if t["at"] >= start} | {t["trade_id"] for t in self.targets}
            targeted |= {t["trade_id"] for t in self.race_targets}
            for trade in trades:
                state = self._stored(trade["trade_id"]) or {}
                stops = self.live_stops(trade["pair"])
                if (trade["pair"] in targeted or trade["trade_id"] in targeted or state.get("phase") != "ACTIVE"
                        or not state.get("exchange_moves") or len(stops) != 1
                        or str(stops[0]["orderId"]) != str(state.get("exchange_stop_id"))
                        or self.sandbox.price(trade["pair"]) > float(stops[0]["stopPrice"]) * 1.012
                        or (state.get("stop") or 0) < float(stops[0]["stopPrice"]) * 1.001):
                    continue
                order_id = stops[0]["orderId"]
                self.sandbox.faults.add(*self.venue.unknown_order_fault(order_id, symbol(trade["pair"])))
                self.targets.append({"at": elapsed, "pair": trade["pair"], "trade_id": trade["trade_id"],
                                     "order_id": order_id, "stop": float(stops[0]["stopPrice"])})
                self.note(f"-2011 on every cancel of {trade['pair']} stop order {order_id} "
                          f"(trade {trade['trade_id']}, stop {stops[0]['stopPrice']})")
                return

    def _watch_backstops(self) -> None:
        """Sample each live backstop against the position it guards (see BACKSTOP_FOLLOW_GRACE_S)."""
        held = self.venue.positions()
        now = time.monotonic()
        differing = set()
        for backstop in self.venue.backstops():
            position = abs(held.get(backstop["symbol"], 0.0))
            if abs(backstop["qty"] - position) > max(1e-6, 1e-9 * position):
                differing.add(backstop["id"])
                seen = self.backstop_mismatch.setdefault(backstop["id"], [now, now, backstop["symbol"], 0.0, 0.0])
                seen[1], seen[3], seen[4] = now, backstop["qty"], position
        for backstop_id in set(self.backstop_mismatch) - differing:  # followed (or gone): the interval ends
            self.backstop_mismatch_done.append((backstop_id, *self.backstop_mismatch.pop(backstop_id)))

    def backstop_mismatches(self) -> list[str]:
        intervals = self.backstop_mismatch_done + [(k, *v) for k, v in self.backstop_mismatch.items()]
        return [f"{symbol_}: native backstop {backstop_id} closed {qty:g} while the position was {position:g} "
                f"for {last - first:.1f} s (grace {BACKSTOP_FOLLOW_GRACE_S:g} s)"
                for backstop_id, first, last, symbol_, qty, position in intervals
                if last - first > BACKSTOP_FOLLOW_GRACE_S]

    def _release_closed_targets(self, trades: list[dict]) -> None:
        """Futures: once a -2011 target's trade is closed, its order's cancels are answered right again.
        A stop the exchange will not cancel outlives its trade; on futures it is reduce-only and closes
        the pair's next trade, which is the fault's doing, not the plugin's (it reports the order as
        an orphan it could not cancel). Spot keeps the fault until the order fills."""
        if not self.venue.futures:
            return
        open_ids = {t["trade_id"] for t in trades}
        for target in self.targets:
            order_id = str(target["order_id"])
            if target["trade_id"] not in open_ids and order_id not in self.released:
                self.released.add(order_id)
                self.note(f"trade {target['trade_id']} closed: cancels of stop order {order_id} answered again")

    def _target_race(self, elapsed: float, trades: list[dict]) -> None:
        if not self.plan.race_fault:
            return
        for start, end, most in RACE_WINDOWS:
            if not start <= elapsed < end or sum(start <= t["at"] < end for t in self.race_targets) >= most:
                continue
            taken = {t["pair"] for t in self.targets if t["at"] >= start} | {t["trade_id"] for t in self.targets}
            taken |= {t["trade_id"] for t in self.race_targets}
            for trade in trades:
                state = self._stored(trade["trade_id"]) or {}
                stops = self.live_stops(trade["pair"])
                if (trade["pair"] in taken or trade["trade_id"] in taken or state.get("phase") != "ACTIVE"
                        or not state.get("exchange_moves") or len(stops) != 1):
                    continue
                for endpoint, fault in self.venue.race_faults(symbol(trade["pair"]), stops[0]["orderId"]):
                    self.sandbox.faults.add(endpoint, fault)
                self.race_targets.append({"at": elapsed, "pair": trade["pair"], "trade_id": trade["trade_id"],
                                          "order_id": stops[0]["orderId"]})
                self.note(f"fill-in-the-race on the next replacement of {trade['pair']} stop order "
                          f"{stops[0]['orderId']} (trade {trade['trade_id']})")
                return

    def _kill_and_restart(self) -> None:
        from tests.e2e.bot import free_port, wait_until

        killed = self.bot
        self.note(f"kill -9 (pid {killed.process.pid})")
        killed.kill()
        self.killed.add(len(self.bots) - 1)
        died_ms = int(time.time() * 1000)
        from tests.e2e.bot import health_file

        health_file(self.workdir).unlink(missing_ok=True)
        if self.plan.backstop_after_restart is not None:
            self.config["smart_trailing"]["exchange"]["native_backstop"] = self.plan.backstop_after_restart
            self.note(f"restarting with native_backstop {'on' if self.plan.backstop_after_restart else 'off'}")
        self._start_bot(api_port=free_port())
        wait_until(self._reconciled, 90, "the restarted bot's first reconciliation")
        self.downtime.append((died_ms, int(time.time() * 1000)))
        self.note(f"restarted on the same database, reconciled after {(self.downtime[-1][1] - died_ms) / 1000:.1f} s")

    def _crossed(self, trades: list[dict]) -> list[str]:
        """Open trades whose stored stop is through the price: their exit is due (``crossed_findings``)."""
        refused = {str(t["order_id"]) for t in self.targets if str(t["order_id"]) not in self.released}
        return crossed_findings(
            trades, {t["trade_id"]: (self._stored(t["trade_id"]) or {}).get("stop") for t in trades},
            {t["pair"]: self.sandbox.price(t["pair"]) for t in trades}, self.live_stops(), refused,
            stops_lock_coins=not self.venue.futures)

    def _settled(self) -> bool:
        """One live stop per open trade, recorded by freqtrade, and no exit still due (a stop that
        crossed the price on the path's last candles: the bot exits at its next iteration)."""
        trades = self.sample()
        if self._crossed(trades):
            return False
        for trade in trades:
            records = [o["order_id"] for o in self.bot.client.trade(trade["trade_id"])["orders"]
                       if o["ft_order_side"] == "stoploss" and o["is_open"]]
            stops = self.live_stops(trade["pair"])
            if trade.get("has_open_orders") or len(stops) != 1 or records != [str(stops[0]["orderId"])]:
                return False
        return len(self.live_stops()) == len(trades)

    def run(self) -> dict:
        from tests.e2e.bot import wait_until

        started = time.monotonic()
        self._start_bot()
        wait_until(self._reconciled, 60, "the bot's first reconciliation")
        self.note(f"bot up after {time.monotonic() - started:.1f} s")
        self._enter_flat_pairs([])
        wait_until(lambda: len(self.live_stops()) == len(self.pairs) and len(self.sample()) == len(self.pairs),
                   90, "a trade and its stop order on every pair")
        self.entries.clear()
        self.note("every pair holds a trade and its stop: price replay starts")
        self.replay.start()
        killed = False
        while not self.replay.finished.is_set():
            elapsed = self.replay.elapsed()
            self._faults_due(elapsed)
            if not killed and elapsed >= KILL_AT:
                killed = True
                self._kill_and_restart()
                continue
            try:
                trades = self.sample()
            except Exception as exc:  # a slow answer under injected latency: sample again
                self.note(f"sample failed: {exc}")
                continue
            self._watch_backstops()
            self._release_closed_targets(trades)
            self._target_unknown_order(elapsed, trades)
            self._target_race(elapsed, trades)
            self._enter_flat_pairs(trades)
            self.replay.finished.wait(0.3)  # polling cadence of the driver
        if self.replay.error is not None:
            raise self.replay.error
        replay_s = self.replay.elapsed()
        self.note("price replay done; waiting for one recorded live stop per open trade and no exit due")
        self.sandbox.faults.latency_ms = 0
        try:
            wait_until(self._settled, 45, "one live stop per open trade, recorded by freqtrade, no exit due")
            settled = True
        except AssertionError as exc:
            settled = False
            self.note(str(exc))
        report = self.report(settled, replay_s)
        report["wall_s"] = round(time.monotonic() - started, 1)
        return report

    # ----- the findings ----------------------------------------------------------------------

    def _exchange_against_freqtrade(self, open_trades: list[dict], by_entry: dict, found: list[Position],
                                    live: list[dict]) -> dict:
        """The checks of ``soak_checks`` on the end state, and the alarms against the webhook's inbox."""
        from tests.e2e.bot import wait_until
        held = self.venue.positions()
        backstops = self.venue.backstops()
        crossed = self._crossed(open_trades)
        trade_of_entry = {}
        for entry_id, trade in by_entry.items():
            try:  # the whole trade with every order (the list answers carry them too, but /status not all)
                trade_of_entry[entry_id] = self.bot.client.trade(trade["trade_id"]) or trade
            except Exception:
                trade_of_entry[entry_id] = trade
        alarms = None
        if self.receiver is not None:
            def delivered() -> dict | None:
                logs = [(bot.log_text(), number in self.killed) for number, bot in enumerate(self.bots)]
                found = alarm_delivery(logs, self.received())
                return None if found["undelivered"] else found

            try:  # the running bot hands its queued messages over at the end of its iteration
                alarms = wait_until(delivered, 30, "every alarm raised at the webhook receiver")
            except AssertionError:
                logs = [(bot.log_text(), number in self.killed) for number, bot in enumerate(self.bots)]
                alarms = alarm_delivery(logs, self.received())
        return {
            "venue": self.venue.name, "plan": asdict(self.plan),
            "exchange_positions": held,
            "backstops_live": backstops,
            "position_findings": position_findings(held, open_trades),
            "stop_cover_findings": stop_cover_findings(live, held) if self.venue.futures else [],
            "backstop_findings": backstop_findings(backstops, held, open_trades, self.plan.backstop_at_end),
            "fill_findings": fill_findings(found, trade_of_entry),
            "crossed_open_trades": crossed,
            "backstop_amount_findings": self.backstop_mismatches(),
            "stops_over_covering": [f"{o['symbol']}: stop order {o['orderId']} closes {o['qty']:g}, the position is "
                                    f"{abs(held[o['symbol']]):g}" for o in live
                                    if o["symbol"] in held and o["qty"] > abs(held[o["symbol"]]) * (1 + 1e-9)],
            "wallet": self.venue.wallet(), "wallet_findings": wallet_findings(self.venue.wallet()),
            "adjusted_positions": {"adds": sum(p.adds for p in found),
                                   "partial_exits": sum(p.partial_exits for p in found)},
            "alarms": alarms,
            "race_targets": self.race_targets, "race_fills": self.race_hits,
        }

    def received(self) -> list[str]:
        return self.receiver.received() if self.receiver is not None else []

    def report(self, settled: bool, replay_s: float) -> dict:
        end_ms = int(time.time() * 1000)
        client = self.bot.client
        open_trades = [t for t in client.status() if isinstance(t, dict)]
        trades = open_trades + [t for t in client.trades(limit=500).get("trades", []) if not t.get("is_open")]
        for trade in trades:
            try:
                for trade_id, state in smart_trailing_entries(client.list_custom_data(trade["trade_id"])).items():
                    self.states.record(trade_id, state)
            except Exception:
                pass
        by_entry = {}
        for trade in trades:
            for order in trade.get("orders", []):
                # /status answers through a schema without ft_is_entry: the entry side says it too
                if order.get("ft_is_entry") or order.get("ft_order_side") == ("sell" if trade.get("is_short") else "buy"):
                    by_entry[str(order["order_id"])] = trade
        orders = self.venue.records()
        found = positions(orders)
        ends = sorted(end for bot in self.bots for end in iteration_ends(bot.log_text()))
        per_trade, exchange_loose = [], []
        for position in found:
            trade = by_entry.get(str(position.entry_id), {})
            gaps = protection(position, end_ms, self.downtime)
            exchange_loose += exchange_loosenings(position)
            kinds = {kind: [g for g in gaps if g.kind == kind] for kind in ("first_stop", "replacement", "exit", "other")}
            first = kinds["first_stop"][0] if kinds["first_stop"] else None
            per_trade.append({
                "trade_id": trade.get("trade_id"), "pair": trade.get("pair", position.symbol),
                "entry_order": position.entry_id, "open_s": round(((position.closed_ms or end_ms) - position.opened_ms) / 1000, 1),
                "closed": position.closed_ms is not None, "exit_reason": trade.get("exit_reason"),
                "exit_order_type": position.exit_type, "stop_orders": len(position.stops),
                # the wait for the first stop while the bot was up (its downtime is in bot_down_s)
                "first_stop_s": round(first.seconds - first.bot_down_ms / 1000, 3) if first else 0.0,
                "replacements": len(kinds["replacement"]),
                "replacement_max_s": round(max((g.seconds for g in kinds["replacement"]), default=0.0), 3),
                "replacement_total_s": round(sum(g.seconds for g in kinds["replacement"]), 3),
                "exit_gap_s": round(sum(g.seconds for g in kinds["exit"]), 3),
                "other_s": round(sum(g.seconds for g in kinds["other"]), 3),
                "bot_down_s": round(sum(g.bot_down_ms for g in gaps) / 1000, 3),
                "unprotected_s": round(unprotected_seconds(gaps, FIRST_STOP_GRACE_S, REPLACEMENT_GRACE_S), 3),
                "unprotected_iterations": unprotected_iterations(gaps, ends, ITERATION_GRACES),
                "iterations_without_stop": {g.kind: sum(1 for end in ends if g.start_ms < end < g.end_ms)
                                            for g in gaps if any(g.start_ms < end < g.end_ms for end in ends)},
                "adds": position.adds, "partial_exits": position.partial_exits,
            })
        live = self.venue.live_stops()
        open_by_pair = {t["pair"]: t for t in open_trades}
        orphans, current_mismatch, stops_per_open = [], [], {}
        for trade in open_trades:
            stops = [o for o in live if o["symbol"] == symbol(trade["pair"])]
            stops_per_open[trade["trade_id"]] = [o["orderId"] for o in stops]
            records = [str(o["order_id"]) for o in trade.get("orders", []) if o.get("ft_order_side") == "stoploss" and o.get("is_open")]
            stored = (self._stored(trade["trade_id"]) or {}).get("exchange_stop_id")
            if [str(o["orderId"]) for o in stops] != records or (stops and str(stored) != str(stops[0]["orderId"])):
                current_mismatch.append({"trade_id": trade["trade_id"], "live": [o["orderId"] for o in stops],
                                         "freqtrade_open_stop_records": records, "stored_exchange_stop_id": stored})
        for order in live:
            pair = order["symbol"]
            if not any(symbol(p) == pair for p in open_by_pair):
                orphans.append({"order_id": order["orderId"], "symbol": pair, "stopPrice": order["stopPrice"]})
        log_text = "\n".join(b.log_text() for b in self.bots)
        refused = [line for line in log_text.splitlines() if "not creating another" in line]
        for target in self.targets:
            order = next((o for o in orders if o["orderId"] == target["order_id"]), {})
            target["final_status"] = order.get("status")
            target["answered_2011"] = self.unknown_answers.get(str(target["order_id"]), 0)
            target["filled_after_s"] = (round((order["updateTime"] - order["time"]) / 1000, 1)
                                        if order.get("status") == "FILLED" else None)
        unprotected = [t for t in per_trade if t["unprotected_s"] > 0 or t["unprotected_iterations"] > 0]
        first_waits = [t["first_stop_s"] for t in per_trade]
        return {
            "pairs": self.pairs, "candles": self.replay.candles, "replay_s": round(replay_s, 1),
            "settled": settled, "trades": len(per_trade), "closed": sum(t["closed"] for t in per_trade),
            "trades_per_pair": {p: sum(t["pair"] == p for t in per_trade) for p in self.pairs},
            "exits": {reason: sum(t["exit_reason"] == reason for t in per_trade if t["closed"])
                      for reason in sorted({str(t["exit_reason"]) for t in per_trade if t["closed"]})},
            "stop_orders": sum(t["stop_orders"] for t in per_trade),
            "replacements": sum(t["replacements"] for t in per_trade),
            "replacement_gap_max_s": max((t["replacement_max_s"] for t in per_trade), default=0.0),
            "first_stop_max_s": max(first_waits, default=0.0),
            "first_stop_mean_s": round(sum(first_waits) / len(first_waits), 3) if first_waits else 0.0,
            "bot_down_s": [round((b - a) / 1000, 1) for a, b in self.downtime],
            "unprotected_total_s": round(sum(t["unprotected_s"] for t in per_trade), 3),
            "unprotected_iterations": sum(t["unprotected_iterations"] for t in per_trade),
            "iterations": len(ends),
            "unprotected_trades": unprotected,
            "per_trade": per_trade,
            "orphans": orphans, "current_stop_mismatches": current_mismatch,
            "live_stops_per_open_trade": stops_per_open,
            "exchange_loosenings": exchange_loose, "stored_loosenings": self.states.loosenings(),
            "stored_exchange_stop_dropped": self.states.dropped(),
            "rebuilt_states": [line[:300] for line in log_text.splitlines()
                               if " - ts_plugin - " in line and "rebuilt from the trade" in line],
            "unknown_order_targets": self.targets,
            "unknown_order_targets_filled": sum(t["final_status"] == "FILLED" and t["answered_2011"] > 0
                                                for t in self.targets),
            "faults_hit": dict(self.sandbox.faults.hits),
            "refused_creates": len(refused), "first_refusals": refused[:3],
            "entry_errors": self.entry_errors, "health": self.health().get("exchange", {}),
            "events": {name: sum(b.events(name) for b in self.bots) for name in (
                "EXCHANGE_STOP_MOVED", "UNPROTECTED_WINDOW", "WARNING", "CIRCUIT_OPEN", "ORPHAN_CANCELLED",
                "STOP_ADOPTED", "ACTIVATED", "TRIGGERED")},
            "tracebacks": log_text.count("Traceback"),
            **self._exchange_against_freqtrade(open_trades, by_entry, found, live),
            "timeline": self.timeline,
        }


def problems(report: dict, unprotected_bound: int) -> list[str]:
    """What the soak's report shows broken, one line each (empty when the run is clean)."""
    found = []
    if report["trades"] < 2 * len(report["pairs"]):
        found.append(f"only {report['trades']} trades: the soak should make several per pair")
    venue = report.get("venue", SpotVenue.name)
    if venue == SpotVenue.name and report["unknown_order_targets_filled"] < 1:
        found.append("no stop order answered -2011 on a cancel and later filled: the scenario missed its fault")
    # on futures a target's trade often closes on its backstop first (its cancels are then answered again)
    if venue == BinanceFuturesVenue.name and not any(t["answered_2011"] for t in report["unknown_order_targets"]):
        found.append("no stop order answered -2011 on a cancel: the scenario missed its fault")
    plan = report.get("plan") or {}
    for key, what in (("position_findings", "exchange positions against open trades"),
                      ("stop_cover_findings", "live stops against the positions they guard"),
                      ("backstop_findings", "native backstops"),
                      ("fill_findings", "exchange fills against freqtrade's bookings"),
                      ("crossed_open_trades", "open trades whose stop is through the price (due to exit)"),
                      ("backstop_amount_findings", "native backstops that did not follow the position's amount"),
                      ("wallet_findings", "wallet against the fills")):
        if report.get(key):
            found.append(f"{what}: {report[key]}")
    if plan.get("race_fault") and not report.get("race_fills"):
        found.append(f"no stop filled in the make-before-break race (targets {report.get('race_targets')}): "
                     "the scenario missed its fault")
    alarms = report.get("alarms")
    if alarms is not None and alarms["undelivered"]:
        found.append(f"alarms raised that never reached the webhook: {alarms['undelivered']}")
    if plan.get("strategy") == "E2ESoakAdjust" and not (report["adjusted_positions"]["adds"]
                                                        and report["adjusted_positions"]["partial_exits"]):
        found.append(f"position adjustments {report['adjusted_positions']}: the scenario should make both a DCA "
                     "and a partial exit")
    if report["orphans"]:
        found.append(f"stop orders live on the exchange without an open trade: {report['orphans']}")
    if not report["settled"] or report["current_stop_mismatches"]:
        found.append("open trades without exactly one live stop named by freqtrade and the stored state: "
                     f"{report['current_stop_mismatches'] or report['live_stops_per_open_trade']}")
    if any(len(ids) != 1 for ids in report["live_stops_per_open_trade"].values()):
        found.append(f"live stops per open trade: {report['live_stops_per_open_trade']}")
    if report["exchange_loosenings"]:
        found.append(f"stop orders placed below the position's previous one: {report['exchange_loosenings']}")
    if report["stored_loosenings"]:
        found.append(f"stored stop or exchange stop loosened: {report['stored_loosenings']}")
    if report["rebuilt_states"]:
        found.append(f"{len(report['rebuilt_states'])} stored states rebuilt although none was missing or "
                     f"corrupt: {report['rebuilt_states'][:4]}")
    if report["stored_exchange_stop_dropped"]:
        found.append(f"stored exchange stop dropped: {report['stored_exchange_stop_dropped']}")
    if report["unprotected_iterations"] > unprotected_bound:
        worst = sorted(report["unprotected_trades"], key=lambda t: -t["unprotected_iterations"])[:5]
        found.append(f"positions spent {report['unprotected_iterations']} of the bot's iterations without a live "
                     f"exchange stop beyond the graces (bound {unprotected_bound}); worst: " + "; ".join(
                         f"trade {t['trade_id']} {t['pair']} {t['unprotected_iterations']} "
                         f"({t['iterations_without_stop']}; first stop after {t['first_stop_s']} s, other "
                         f"{t['other_s']} s)" for t in worst))
    return found


def run_soak(workdir: Path, datadir: Path, log=print, plan: SoakPlan = PLANS["spot"]) -> dict:
    """The whole soak of ``plan`` on a fresh sandbox (HTTPS-proxy mode, as the other e2e bots), with a
    webhook receiver on 127.0.0.1 for the plugin's alarms; the report, also in ``soak.json``."""
    from tests.e2e.webhook_receiver import WebhookReceiver
    from ts_plugin.sandbox import SandboxExchange
    from ts_plugin.sandbox.tls_proxy import SandboxProxy

    paths = candle_paths(datadir, BASES, START_CANDLE, CANDLES, pair_of=VENUES[plan.venue].pair)
    with SandboxExchange({pair: path[0] for pair, path in paths.items()}) as sandbox, \
            SandboxProxy(sandbox) as proxy, WebhookReceiver() as receiver:
        run = SoakRun(sandbox, proxy, workdir, paths, STRATEGIES, log=log, plan=plan, receiver=receiver)
        try:
            report = run.run()
        finally:
            run.close()
        (workdir / "orders.json").write_text(json.dumps(run.venue.records(), indent=0))  # for a post-mortem
    report["problems"] = problems(report, UNPROTECTED_ITERATIONS_BOUND)
    (workdir / "soak.json").write_text(json.dumps(report, indent=1))
    return report


def data_missing(datadir: Path) -> str | None:
    """Why the soak cannot run on ``datadir`` (None when it can)."""
    missing = [base for base in BASES if not (datadir / f"{base}_BTC-5m.feather").exists()]
    if missing:
        return (f"soak needs the real Binance 5m candles of {', '.join(missing)} at {datadir} "
                "(../shared/data/binance from the project's root); not present")
    return None
