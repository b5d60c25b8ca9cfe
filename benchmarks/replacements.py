"""Exchange stop replacements per trade: the plugin's policy vs freqtrade's default rule.

Replays 5m candles as a 5-second price path (60 ticks per candle: open -> high -> low -> close, or
open -> low -> high -> close on a red candle). Trades open whenever the pair is flat; the bot-side stop
comes from the real state machine (default settings: activation 1.5 %, distance 0.5 %); the exchange
stop follows it under either rule:
- freqtrade: replace whenever the bot's stop is tighter, at most every 60 s;
- plugin: ``ts_plugin.exchange.policy.decide`` with its defaults (60 s, 0.1 % minimum, 1 % emergency).
A trade ends when the price crosses its exchange stop. Reported: replacements per trade and the mean
gap between the bot's stop and the exchange's stop (ratio of price, over ticks where both exist).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ts_plugin.config import parse_config
from ts_plugin.exchange.policy import UpdatePolicy, decide
from ts_plugin.machine import new_state, step

TICK_S = 5
CONFIG = parse_config({})
WIDE = parse_config({"activation_profit": 0.03, "trail_distance": 0.015})
TRAILING = {"defaults (activation 1.5 %, distance 0.5 %)": CONFIG,
            "wide (activation 3 %, distance 1.5 %)": WIDE}


def price_path(frame: pd.DataFrame) -> np.ndarray:
    """60 ticks per 5m candle through open, the nearer extreme first, then close."""
    legs = []
    for o, h, low, c in frame[["open", "high", "low", "close"]].itertuples(index=False):
        first, second = (low, h) if c >= o else (h, low)
        legs.append(np.concatenate([np.linspace(o, first, 20, endpoint=False),
                                    np.linspace(first, second, 20, endpoint=False),
                                    np.linspace(second, c, 20)]))
    return np.concatenate(legs)


def simulate(prices: np.ndarray, rule: str, policy: UpdatePolicy | None = None,
             hard_stop: float = 0.05, config=CONFIG) -> dict:
    policy = policy or UpdatePolicy()
    trades = replacements = 0
    gaps: list[float] = []
    index = 0
    while index < len(prices) - 1:
        entry = float(prices[index])
        state = new_state(entry, False, index * TICK_S, config)
        exchange_stop, last_move = entry * (1 - hard_stop), float(index * TICK_S)
        trades += 1
        index += 1
        while index < len(prices):
            price, now = float(prices[index]), index * TICK_S
            if price <= exchange_stop:
                break
            state, _ = step(state, price, now, config)
            bot_stop = state.stop if state.stop is not None else exchange_stop
            if bot_stop > exchange_stop:
                if rule == "freqtrade":
                    move = now - last_move >= 60
                else:
                    move = decide(policy, exchange_stop, bot_stop, False, last_move, now).moves
                if move:
                    exchange_stop, last_move = bot_stop, now
                    replacements += 1
            if state.stop is not None:
                gaps.append((bot_stop - exchange_stop) / price)
            index += 1
        index += 1
    return {"trades": trades, "replacements": replacements,
            "per_trade": replacements / trades if trades else 0.0,
            "mean_gap_pct": 100 * float(np.mean(gaps)) if gaps else 0.0}


VARIANTS = {
    "freqtrade default (every improvement, 60 s)": ("freqtrade", None),
    "plugin defaults (60 s, 0.1 %, emergency 1 %)": ("plugin", UpdatePolicy()),
    "plugin, min_improvement 0.3 %": ("plugin", UpdatePolicy(60, 0.003, 0.01)),
    "plugin, min_improvement 0.5 %": ("plugin", UpdatePolicy(60, 0.005, 0.015)),
    "plugin, 120 s, 0.3 %": ("plugin", UpdatePolicy(120, 0.003, 0.01)),
}


def compare(files: list[Path]) -> dict:
    """{trailing settings: {rule variant: figures}} over all files."""
    paths = [price_path(pd.read_feather(path)) for path in files]
    results: dict = {}
    for trailing_label, config in TRAILING.items():
        rows = results[trailing_label] = {}
        for label, (rule, policy) in VARIANTS.items():
            outcomes = [simulate(prices, rule, policy, config=config) for prices in paths]
            trades = sum(o["trades"] for o in outcomes)
            replacements = sum(o["replacements"] for o in outcomes)
            rows[label] = {"trades": trades, "replacements": replacements,
                           "per_trade": replacements / max(trades, 1),
                           "mean_gap_pct": float(np.mean([o["mean_gap_pct"] for o in outcomes]))}
        baseline = rows[next(iter(VARIANTS))]["replacements"]
        for row in rows.values():
            row["fewer_pct"] = 100 * (1 - row["replacements"] / max(baseline, 1))
    return results
