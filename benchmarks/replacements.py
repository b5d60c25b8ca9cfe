"""Exchange stop replacements per trade: the plugin's policy vs freqtrade's default rule.

Replays 5m candles as a 5-second price path (60 ticks per candle: open -> high -> low -> close, or
open -> low -> high -> close on a red candle), once as straight lines and once with seeded tick noise
(0.03 % per tick), so a rule that only works on smooth paths shows it. Trades open whenever the pair
is flat; the bot-side stop comes from the real state machine; the exchange stop follows it under:
- freqtrade: replace whenever the bot's stop is tighter, at most every 60 s;
- plugin: ``ts_plugin.exchange.policy.decide``, fed like the governor feeds it (including whether the
  bot's stop tightened since the previous tick).
A trade ends when the price crosses its exchange stop. Reported per rule: replacements per trade,
the mean gap between the bot's stop and the exchange's stop (% of price, over ticks where the
trailing stop exists), the mean exit (% from entry), and the floor: trades with at least one move.

Also counted per rule: what a native trailing backstop (``exchange.native_backstop``, Binance USD-M
callbackRate) would cost: one placement when the trade starts trailing, a re-placement each time the
distance, rounded to the exchange's grid (``TrailGrid.native``), changes (``needs_replacing``), one
cancel when the trade exits on its stop. The demo's settings (steps and momentum, which change the
distance) are replayed for the two headline rules only. ``requests_per_trade`` turns the counts into
exchange requests with the requests per move measured by ``benchmarks/windows.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ts_plugin.core.config import TrailingConfig, parse_config
from ts_plugin.core.indicators import ATR_COLUMN, ROC_COLUMN, MomentumSeries, add_momentum_columns
from ts_plugin.core.machine import new_state, step
from ts_plugin.exchange.backstop import BINANCE_USDM, TrailGrid, needs_replacing
from ts_plugin.exchange.policy import UpdatePolicy, decide

TICK_S = 5
TICKS_PER_CANDLE = 60
NOISE = 0.0003
DEMO = "demo (SmartTrailingSample: steps at 3 % and 6 %, momentum)"
TRAILING = {"defaults (activation 1.5 %, distance 0.5 %)": parse_config({}),
            "wide (activation 3 %, distance 1.5 %)": parse_config({"activation_profit": 0.03,
                                                                   "trail_distance": 0.015})}
FREQTRADE = "freqtrade default (every improvement, 60 s)"
PLUGIN = "plugin defaults (60 s, 0.1 %, emergency 1 %, hold while tightening)"
VARIANTS = {
    FREQTRADE: None,
    PLUGIN: UpdatePolicy(),
    "plugin defaults without the hold": UpdatePolicy(hold_while_tightening=False),
    "plugin, min_improvement 0.3 %": UpdatePolicy(60, 0.003, 0.01),
    "plugin, min_improvement 0.5 %, emergency 1.5 %": UpdatePolicy(60, 0.005, 0.015),
}
HEADLINE = (FREQTRADE, PLUGIN)  # the rules replayed with the demo's settings too
# Requests per backstop action (by construction: one create, one cancel; a change is placed new
# first, then the old one cancelled).
BACKSTOP_REQUESTS = {"placed": 1, "replaced": 2, "cancelled": 1}


def demo_config() -> TrailingConfig:
    from ts_plugin.tools.demo import DEFAULT_CONFIG

    return parse_config(json.loads(Path(DEFAULT_CONFIG).read_text())["smart_trailing"])


@dataclass
class BackstopCount:
    """Actions a native trailing backstop takes over one replay: placed when the trade starts
    trailing, re-placed when the distance on the exchange's grid changes, cancelled at the exit."""

    grid: TrailGrid = BINANCE_USDM
    live: float | None = None
    placed: int = 0
    replaced: int = 0
    cancelled: int = 0

    def follow(self, distance: float | None) -> None:
        """The trade's current trailing distance (None while it does not trail)."""
        wanted = self.grid.native(distance) if distance is not None else None
        if not needs_replacing(self.live, wanted):
            return
        if self.live is None:
            self.placed += 1
        elif wanted is None:
            self.cancelled += 1
        else:
            self.replaced += 1
        self.live = wanted

    def exit(self) -> None:
        """The trade left on its stop: a backstop still held is cancelled."""
        if self.live is not None:
            self.cancelled += 1
            self.live = None

    @property
    def requests(self) -> int:
        return (self.placed * BACKSTOP_REQUESTS["placed"] + self.replaced * BACKSTOP_REQUESTS["replaced"]
                + self.cancelled * BACKSTOP_REQUESTS["cancelled"])


def requests_per_trade(row: dict, per_move: dict[str, float]) -> dict[str, float]:
    """Exchange requests per trade for moving the stop on each path (moves per trade x requests per
    move), and the backstop's requests per trade."""
    moves = row["replacements"] / max(row["trades"], 1)
    figures = {path: moves * requests for path, requests in per_move.items()}
    figures["backstop"] = row["backstop_requests"] / max(row["trades"], 1)
    return figures


def price_path(frame: pd.DataFrame) -> np.ndarray:
    """60 ticks per 5m candle through open, the nearer extreme first, then close."""
    legs = []
    for o, h, low, c in frame[["open", "high", "low", "close"]].itertuples(index=False):
        first, second = (low, h) if c >= o else (h, low)
        legs.append(np.concatenate([np.linspace(o, first, 20, endpoint=False),
                                    np.linspace(first, second, 20, endpoint=False),
                                    np.linspace(second, c, 20)]))
    return np.concatenate(legs)


def with_noise(prices: np.ndarray, seed: int) -> np.ndarray:
    return prices * (1 + np.random.default_rng(seed).normal(0.0, NOISE, len(prices)))


def momentum_of(frame: pd.DataFrame, config: TrailingConfig) -> MomentumSeries | None:
    """The momentum inputs per candle, on the replay's clock (candle k closes at (k + 1) x 300 s), as
    the mixin looks them up: the last candle closed by the tick."""
    if config.momentum is None:
        return None
    columns = add_momentum_columns(frame[["open", "high", "low", "close", "volume"]].copy(), config.momentum)
    close_times = (np.arange(len(frame)) + 1.0) * TICK_S * TICKS_PER_CANDLE
    return MomentumSeries(close_times, columns[ATR_COLUMN].to_numpy(float), columns[ROC_COLUMN].to_numpy(float))


def simulate(prices: np.ndarray, policy: UpdatePolicy | None, config, hard_stop: float = 0.05,
             momentum: MomentumSeries | None = None) -> dict:
    """One pair's replay under one rule (``policy`` None = freqtrade's rule)."""
    trades = replacements = protected = 0
    gaps: list[float] = []
    exits: list[float] = []
    backstop = BackstopCount()
    index = 0
    while index < len(prices) - 1:
        entry = float(prices[index])
        state = new_state(entry, False, index * TICK_S, config)
        exchange_stop, last_move, previous = entry * (1 - hard_stop), float(index * TICK_S), None
        trades += 1
        moved = False
        index += 1
        while index < len(prices):
            price, now = float(prices[index]), index * TICK_S
            if price <= exchange_stop:
                exits.append(exchange_stop / entry - 1)
                backstop.exit()
                break
            state, _ = step(state, price, now, config, momentum.at(now) if momentum is not None else None)
            backstop.follow(state.distance)
            bot_stop = state.stop if state.stop is not None else exchange_stop
            still_tightening = previous is not None and bot_stop > previous
            previous = bot_stop
            if bot_stop > exchange_stop:
                if policy is None:
                    move = now - last_move >= 60
                else:
                    move = decide(policy, exchange_stop, bot_stop, False, last_move, now,
                                  still_tightening).moves
                if move:
                    exchange_stop, last_move = bot_stop, now
                    replacements += 1
                    protected += not moved
                    moved = True
            if state.stop is not None:
                gaps.append((bot_stop - exchange_stop) / price)
            index += 1
        index += 1
        backstop.live = None  # the data ended with the trade open: nothing to cancel yet
    return {"trades": trades, "replacements": replacements, "protected": protected,
            "gap_sum": 100 * float(np.sum(gaps)), "gap_n": len(gaps),
            "exit_sum": 100 * float(np.sum(exits)), "exit_n": len(exits),
            "backstop_placed": backstop.placed, "backstop_replaced": backstop.replaced,
            "backstop_cancelled": backstop.cancelled, "backstop_requests": backstop.requests}


def compare(files: list[Path]) -> dict:
    """{path kind: {trailing settings: {rule: figures}}} over all files."""
    frames = [pd.read_feather(path) for path in files]
    smooth = [price_path(frame) for frame in frames]
    paths = {"straight lines": smooth,
             f"with {100 * NOISE:g} % tick noise": [with_noise(p, seed) for seed, p in enumerate(smooth)]}
    trailing = {**{label: (config, list(VARIANTS)) for label, config in TRAILING.items()},
                DEMO: (demo_config(), list(HEADLINE))}
    results: dict = {}
    for path_label, prices in paths.items():
        for trailing_label, (config, rules) in trailing.items():
            momenta = [momentum_of(frame, config) for frame in frames]
            rows = results.setdefault(path_label, {})[trailing_label] = {}
            for label in rules:
                outcomes = [simulate(p, VARIANTS[label], config, momentum=m) for p, m in zip(prices, momenta)]
                total = {key: sum(o[key] for o in outcomes) for key in outcomes[0]}
                rows[label] = {"trades": total["trades"], "replacements": total["replacements"],
                               "protected": total["protected"],
                               "per_trade": total["replacements"] / max(total["trades"], 1),
                               "mean_gap_pct": total["gap_sum"] / max(total["gap_n"], 1),
                               "mean_exit_pct": total["exit_sum"] / max(total["exit_n"], 1),
                               **{key: value for key, value in total.items() if key.startswith("backstop_")}}
            baseline = rows[FREQTRADE]["replacements"]
            for row in rows.values():
                row["fewer_pct"] = 100 * (1 - row["replacements"] / max(baseline, 1))
    return results


def main() -> int:
    from benchmarks.paths import SHARED

    print(json.dumps(compare(sorted(SHARED.glob("*-5m.feather"))), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
