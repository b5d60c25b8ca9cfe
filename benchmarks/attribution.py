"""Which part of the plugin costs what: in-process A/B backtests with the same trades and calls.

    .venv/bin/python -m benchmarks.attribution [--datadir DIR] [--runs 3]

All variants make (a)'s trades (the shadow runs the plugin and returns (a)'s constant):
(a) constant, shadow with the demo config (momentum on), shadow without momentum, and both again with
the shadow's exit path kept closed (``BenchShadowExitClosed``: a trade whose stop the plugin put through
the price would exit in a real run; the shadow keeps it open and freqtrade calls ``custom_exit`` on
each of its candles). Times only ``Backtesting.start()`` (data loading included, process start-up and
imports excluded), no profiler. Also counts the ``custom_stoploss`` and ``custom_exit`` calls of each run
and gives the plugin's cost per ``custom_stoploss`` call over (a). Inside each run it times the stop's
handling (``ft_stoploss_adjust``: freqtrade's deep copy of the trade and the ``custom_stoploss`` call),
``custom_exit``, ``order_filled``, ``bot_loop_start`` and the indicators, and attributes the difference
to (a) part by part against the rest of the same run (``benchmarks.versus_builtin.time_stop_handling``),
which load on a shared machine cannot skew.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from benchmarks.paths import ROOT, SHARED, WORK
from benchmarks.versus_builtin import time_stop_handling


def main(argv: list[str] | None = None) -> int:
    from ts_plugin.sandbox import SandboxExchange, ccxt_overrides
    from ts_plugin.tools.demo import DEFAULT_CONFIG, build_backtest_config, pairs_in, run_backtest

    parser = argparse.ArgumentParser()
    parser.add_argument("--datadir", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args(argv)
    datadir = options.datadir or (SHARED if any(SHARED.glob("*-5m.feather")) else WORK / "data-60d")
    WORK.mkdir(exist_ok=True)
    prices = pairs_in(datadir)
    stake = "BTC" if next(iter(prices)).endswith("/BTC") else "USDT"
    demo = json.loads(Path(DEFAULT_CONFIG).read_text()).get("smart_trailing", {})
    no_momentum = {k: v for k, v in demo.items() if k != "momentum"}
    variants = [
        ("(a) constant", "BenchConstantStop", None),
        ("shadow, demo config (momentum on)", "BenchShadowPlugin", None),
        ("shadow, momentum off", "BenchShadowPlugin", no_momentum),
        ("shadow, exit path closed, demo config", "BenchShadowExitClosed", None),
        ("shadow, exit path closed, momentum off", "BenchShadowExitClosed", no_momentum),
    ]
    times: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    calls: dict[str, tuple[int, int]] = {}
    parts: dict[str, list[dict[str, float]]] = {label: [] for label, _, _ in variants}
    spent = time_stop_handling(interface_callbacks=("custom_exit",), indicators=True)
    with SandboxExchange(prices) as sandbox:
        for _ in range(options.runs):
            for label, strategy, settings in variants:  # interleaved: drift hits every variant alike
                extra = {"max_open_trades": len(prices), "stake_currency": stake,
                         "stake_amount": 0.01 if stake == "BTC" else 100,
                         "dry_run_wallet": 1.0 if stake == "BTC" else 1000}
                if settings is not None:
                    extra["smart_trailing"] = settings
                config = build_backtest_config(
                    DEFAULT_CONFIG, datadir, ccxt_overrides(sandbox.url), strategy=strategy,
                    strategy_path=ROOT / "benchmarks" / "strategies", pairs=sorted(prices),
                    user_data_dir=WORK, extra=extra)
                for name in spent:
                    spent[name] = 0.0
                started = time.perf_counter()
                _, strategy_object = run_backtest(config)
                times[label].append(time.perf_counter() - started)
                parts[label].append(dict(spent))
                counter = type(strategy_object).custom_stoploss.__globals__["_CALLS"]
                calls[label] = (counter["n"], counter["exit"])
                counter["n"] = counter["exit"] = 0
    _print_parts(parts, times, variants[0][0])
    floor = statistics.median(times[variants[0][0]])
    print(f"\n| variant ({datadir.name}, in-process) | median s | runs | / (a) | custom_stoploss calls | "
          "custom_exit calls | us per custom_stoploss call over (a) |\n"
          "| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for label, values in times.items():
        median = statistics.median(values)
        stoploss_calls, exit_calls = calls[label]
        over = (median - floor) / stoploss_calls * 1e6 if stoploss_calls else float("nan")
        print(f"| {label} | {median:.2f} | {', '.join(f'{v:.2f}' for v in values)} | {median / floor:.3f} | "
              f"{stoploss_calls:,} | {exit_calls:,} | {over:.1f} |")
    return 0


def _print_parts(parts: dict[str, list[dict[str, float]]], times: dict[str, list[float]], floor: str) -> None:
    """Each timed part per unit of the rest of its own run (the rest is the same work in every variant:
    same trades, same calls), medians over the runs; the normalised ratio to (a) and each part's share
    of the difference. Load that slows a whole run down cancels out."""
    relative: dict[str, dict[str, float]] = {}
    for label, runs in parts.items():
        per_run = []
        for timed, total in zip(runs, times[label]):
            rest = total - sum(timed.values())
            per_run.append({name: value / rest for name, value in timed.items()})
        relative[label] = {name: statistics.median(run[name] for run in per_run) for name in per_run[0]}
        print(f"{label}: all timed parts per unit of the rest, by run: "
              + ", ".join(f"{sum(run.values()):.3f}" for run in per_run))
    base = relative[floor]
    names = list(base)
    print(f"\n| variant | normalised / (a) | {' | '.join(f'{name} (share of the difference)' for name in names)} |")
    print("| --- | ---: |" + " ---: |" * len(names))
    for label, values in relative.items():
        ratio = (1 + sum(values.values())) / (1 + sum(base.values()))
        cells = [f"{(values[name] - base[name]) / (1 + sum(base.values())):+.3f}" for name in names]
        print(f"| {label} | {ratio:.3f} | {' | '.join(cells)} |")
    print("(each part: its time per unit of the rest of the run, minus (a)'s, over (a)'s 1 + all parts; "
          "the parts add up to the ratio - 1)")


if __name__ == "__main__":
    sys.exit(main())
