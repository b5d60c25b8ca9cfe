"""The plugin's own cost per custom_stoploss call, against the number of closed trades so far.

``BenchTimedPlugin`` times each call (perf_counter_ns around the mixin's work) and files it under the
number of trades closed before it; the means in windows around 1,000 and 10,000 closed trades show
whether the cost grows with history (it must not).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WINDOWS = {"~1,000 closed trades": (900, 1100), "~10,000 closed trades": (9000, 11000)}


def measure(config: dict) -> dict:
    """One in-process backtest of BenchTimedPlugin; mean µs per call in each window."""
    from ts_plugin.tools.demo import run_backtest

    _, strategy = run_backtest(config)
    samples = strategy.call_samples
    report = {"calls": len(samples), "closed_trades": sum(strategy._ts_exits.values()),
              "open_states_left": len(strategy._ts_store.cache)}
    quarter = max(len(samples) // 4, 1)
    report["quarters"] = [
        {"closed_from": samples[i * quarter][0],
         "median_us": sorted(ns for _, ns in samples[i * quarter:(i + 1) * quarter])[
             len(samples[i * quarter:(i + 1) * quarter]) // 2] / 1000.0}
        for i in range(4) if samples[i * quarter:(i + 1) * quarter]
    ]
    for label, (low, high) in WINDOWS.items():
        window = sorted(ns for closed, ns in samples if low <= closed <= high)
        if window:
            report[label] = {"mean_us": sum(window) / len(window) / 1000.0,
                             "median_us": window[len(window) // 2] / 1000.0, "calls": len(window)}
        else:
            report[label] = None
    return report
