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
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ts_plugin.config import parse_config
from ts_plugin.exchange.policy import UpdatePolicy, decide
from ts_plugin.machine import new_state, step

TICK_S = 5
NOISE = 0.0003
TRAILING = {"defaults (activation 1.5 %, distance 0.5 %)": parse_config({}),
            "wide (activation 3 %, distance 1.5 %)": parse_config({"activation_profit": 0.03,
                                                                   "trail_distance": 0.015})}
VARIANTS = {
    "freqtrade default (every improvement, 60 s)": None,
    "plugin defaults (60 s, 0.1 %, emergency 1 %, hold while tightening)": UpdatePolicy(),
    "plugin defaults without the hold": UpdatePolicy(hold_while_tightening=False),
    "plugin, min_improvement 0.3 %": UpdatePolicy(60, 0.003, 0.01),
    "plugin, min_improvement 0.5 %, emergency 1.5 %": UpdatePolicy(60, 0.005, 0.015),
}


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


def simulate(prices: np.ndarray, policy: UpdatePolicy | None, config, hard_stop: float = 0.05) -> dict:
    """One pair's replay under one rule (``policy`` None = freqtrade's rule)."""
    trades = replacements = protected = 0
    gaps: list[float] = []
    exits: list[float] = []
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
                break
            state, _ = step(state, price, now, config)
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
    return {"trades": trades, "replacements": replacements, "protected": protected,
            "gap_sum": 100 * float(np.sum(gaps)), "gap_n": len(gaps),
            "exit_sum": 100 * float(np.sum(exits)), "exit_n": len(exits)}


def compare(files: list[Path]) -> dict:
    """{path kind: {trailing settings: {rule: figures}}} over all files."""
    smooth = [price_path(pd.read_feather(path)) for path in files]
    paths = {"straight lines": smooth,
             f"with {100 * NOISE:g} % tick noise": [with_noise(p, seed) for seed, p in enumerate(smooth)]}
    results: dict = {}
    for path_label, prices in paths.items():
        for trailing_label, config in TRAILING.items():
            rows = results.setdefault(path_label, {})[trailing_label] = {}
            for label, policy in VARIANTS.items():
                outcomes = [simulate(p, policy, config) for p in prices]
                total = {key: sum(o[key] for o in outcomes) for key in outcomes[0]}
                rows[label] = {"trades": total["trades"], "replacements": total["replacements"],
                               "protected": total["protected"],
                               "per_trade": total["replacements"] / max(total["trades"], 1),
                               "mean_gap_pct": total["gap_sum"] / max(total["gap_n"], 1),
                               "mean_exit_pct": total["exit_sum"] / max(total["exit_n"], 1)}
            baseline = rows[next(iter(VARIANTS))]["replacements"]
            for row in rows.values():
                row["fewer_pct"] = 100 * (1 - row["replacements"] / max(baseline, 1))
    return results
