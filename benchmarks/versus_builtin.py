"""The plugin against freqtrade's built-in trailing stop: backtest wall time, each smart rule's cost
on top, and hyperopt seconds per epoch (``smart_trailing`` space against freqtrade's ``trailing``).

    .venv/bin/python -m benchmarks.versus_builtin [--runs 3] [--hyperopt-runs 2] [--epochs 8]

Every figure comes from a fresh ``freqtrade backtesting`` / ``freqtrade hyperopt`` process (freqtrade's
own command line, run by ``child`` below) against the local sandbox. The variants of one data set are
run round-robin (built-in, plugin, plugin + breakeven, ..., built-in, plugin, ...), so a busy spell of
a shared machine hits all of them alike and the ratios stay fair. Each backtest run is timed as the
whole process and as ``Backtesting.start()`` alone (data loading, signals and the trade loop; not the
interpreter's start-up and imports, which are the same for both and only dilute the ratio), each in
wall time and in the process's own CPU time (``time.process_time``, ``getrusage``): on a machine shared
with other work the wall times stretch at random while the CPU times barely move.

The plugin runs in its built-in-exact mode (``settings_from_builtin``: activation on freqtrade's
profit after fees), so both make the same trades up to freqtrade's entry-candle pricing (see
``ts_plugin.strategy.builtin_match``); the trade counts of each are reported.

Hyperopt: ``-j 1`` (the epochs run one after the other in the process that times them), SharpeHyperOptLoss,
a fixed random state; seconds per epoch (wall and CPU) are the span from the first epoch's result to
the last one's divided by the epochs in between (the first epoch, which includes the start of the
optimiser, left out).
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.paths import ROOT

STRATEGY_PATH = ROOT / "benchmarks" / "strategies"
BUILTIN = "VersusBuiltinTrailing"
PLUGIN = "VersusPluginTrailing"
RESULT_PREFIX = "VERSUS_BUILTIN_RESULT="
# A trade is "identical" in both runs when all of these are equal (the exit price to the last bit).
TRADE_KEY = ("pair", "open_date", "open_rate", "close_date", "close_rate", "exit_reason")

# Each smart rule alone on top of activation and distance (0.5 %); the demo config's values, steps
# tightening from that distance.
RULES: dict[str, dict[str, Any]] = {
    "breakeven": {"breakeven": {"trigger_profit": 0.008, "offset": 0.002}},
    "time activation": {"time_activation": {"after_minutes": 240, "min_profit": 0.006}},
    "steps": {"steps": [{"profit": 0.03, "trail_distance": 0.004}, {"profit": 0.06, "trail_distance": 0.003}]},
    "momentum": {"momentum": {"roc_period": 12, "roc_threshold": 0.02, "roc_factor": 0.7,
                              "min_distance": 0.003, "max_distance": 0.015}},
}

VARIANTS: list[tuple[str, str, dict | None]] = [
    ("built-in trailing_stop (no callback)", BUILTIN, None),
    ("built-in + a no-op custom_stoploss (freqtrade's cost of any callback)", "VersusBuiltinWithCallback", None),
    ("plugin, activation + distance (built-in-exact)", PLUGIN, None),
    *((f"plugin + {rule}", PLUGIN, settings) for rule, settings in RULES.items()),
]
HYPEROPT_VARIANTS = [
    ("built-in, freqtrade's `trailing` space", BUILTIN, "trailing"),
    ("plugin, `smart_trailing` space", PLUGIN, "smart_trailing"),
]


def write_config(workdir: Path, name: str, pairs: list[str], stake: str, overrides: dict,
                 smart_trailing: dict | None) -> Path:
    """The demo config without its ``smart_trailing`` section (the strategy's settings apply), plus a
    variant's rule when given."""
    config = json.loads((ROOT / "ts_plugin" / "data" / "config_demo.json").read_text())
    config.pop("smart_trailing", None)
    config["exchange"].update(overrides)
    config["exchange"]["pair_whitelist"] = pairs
    config["stake_currency"] = stake
    config["stake_amount"] = 0.01 if stake == "BTC" else 100
    config["dry_run_wallet"] = 1.0 if stake == "BTC" else 1000
    config["max_open_trades"] = len(pairs)
    if smart_trailing is not None:
        config["smart_trailing"] = smart_trailing
    path = workdir / f"config-{name}.json"
    path.write_text(json.dumps(config))
    return path


def _freqtrade(command: str, config: Path, strategy: str, datadir: Path, workdir: Path,
               extra: list[str]) -> tuple[float, float, dict]:
    """One child process; its wall time, its CPU time (user + system) and what it measured inside."""
    argv = [sys.executable, "-m", "benchmarks.versus_builtin", "--child", command, "--config", str(config),
            "--strategy", strategy, "--strategy-path", str(STRATEGY_PATH), "--datadir", str(datadir),
            "--userdir", str(workdir), *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    found = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not found:
        raise RuntimeError(f"{strategy} {command} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return elapsed, cpu, json.loads(found[-1][len(RESULT_PREFIX):])


def _median_row(samples: dict[str, list[float]]) -> dict:
    """Medians (``<key>_s``, the share as ``stop_share``) and the runs (``<key>_runs``)."""
    row = {}
    for key, values in samples.items():
        row["stop_share" if key == "stop_share" else f"{key}_s"] = statistics.median(values)
        row[f"{key}_runs"] = [round(v, 4 if key == "stop_share" else 2) for v in values]
    return row


def backtests(label: str, datadir: Path, pairs: list[str], stake: str, overrides: dict, workdir: Path,
              runs: int) -> list[dict]:
    """Each variant ``runs`` times, round-robin; one row per variant with the medians of the process's
    wall and CPU time and of ``Backtesting.start()``'s wall and CPU time."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "backtest_results").mkdir(exist_ok=True)
    configs = {name: write_config(workdir, f"bt{i}", pairs, stake, overrides, settings)
               for i, (name, _, settings) in enumerate(VARIANTS)}
    samples = {name: {"wall": [], "cpu": [], "backtest_wall": [], "backtest_cpu": [], "stop_share": []}
               for name, _, _ in VARIANTS}
    trades: dict[str, int] = {}
    keys: dict[str, list] = {}
    for _ in range(runs):
        for name, strategy, _ in VARIANTS:
            elapsed, cpu, result = _freqtrade("backtesting", configs[name], strategy, datadir, workdir,
                                              ["--export", "none", "--cache", "none"])
            share = sum(result["stop_handling"].values()) / result["backtest_wall"]
            for key, value in (("wall", elapsed), ("cpu", cpu), ("backtest_wall", result["backtest_wall"]),
                               ("backtest_cpu", result["backtest_cpu"]), ("stop_share", share)):
                samples[name][key].append(value)
            trades[name] = result["trades"]
            keys[name] = [tuple(key) for key in result["keys"]]
            print(f"  {label:<30} {name:<48} process {elapsed:6.2f} s wall {cpu:6.2f} s CPU; backtest "
                  f"{result['backtest_wall']:6.2f} s wall {result['backtest_cpu']:6.2f} s CPU, stop handling "
                  f"{share:.1%}; trades "
                  f"{result['trades']}", flush=True)
    builtin = set(keys[VARIANTS[0][0]])
    return [{"set": label, "variant": name, "strategy": strategy, "trades": trades[name],
             "identical": sum(key in builtin for key in keys[name]), **_median_row(samples[name])}
            for name, strategy, _ in VARIANTS]


def hyperopts(label: str, datadir: Path, pairs: list[str], stake: str, overrides: dict, workdir: Path,
              runs: int, epochs: int) -> list[dict]:
    """Seconds per epoch (wall and CPU) of each space, ``runs`` processes each, alternated."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "hyperopt_results").mkdir(exist_ok=True)
    config = write_config(workdir, "hyperopt", pairs, stake, overrides, None)
    samples = {name: {"epoch_wall": [], "epoch_cpu": [], "wall": []} for name, _, _ in HYPEROPT_VARIANTS}
    for _ in range(runs):
        for name, strategy, space in HYPEROPT_VARIANTS:
            elapsed, _, result = _freqtrade(
                "hyperopt", config, strategy, datadir, workdir,
                ["--spaces", space, "--hyperopt-loss", "SharpeHyperOptLoss", "-e", str(epochs), "-j", "1",
                 "--random-state", "7", "--disable-param-export"])
            marks = result["epoch_marks"]  # (wall, CPU) when each epoch's result came in
            if len(marks) < 2:
                raise RuntimeError(f"{strategy} hyperopt finished {len(marks)} epoch(s); need 2 or more")
            spans = len(marks) - 1
            per_wall = (marks[-1][0] - marks[0][0]) / spans
            per_cpu = (marks[-1][1] - marks[0][1]) / spans
            for key, value in (("epoch_wall", per_wall), ("epoch_cpu", per_cpu), ("wall", elapsed)):
                samples[name][key].append(value)
            print(f"  {label:<30} {name:<48} {per_wall:6.2f} s wall, {per_cpu:6.2f} s CPU per epoch "
                  f"({len(marks)} epochs, {elapsed:.1f} s in all)", flush=True)
    return [{"set": label, "variant": name, "space": space, "epochs": epochs, **_median_row(samples[name])}
            for name, _, space in HYPEROPT_VARIANTS]


def both_datasets() -> list[tuple[str, Path, str]]:
    """The shared real month (skipped, with a line saying so, when absent) and the generated 60 days
    that ``make bench --quick`` uses (generated on first use)."""
    from benchmarks.paths import SHARED, WORK
    from benchmarks.run import BIG_SET
    from ts_plugin.tools.sampledata import generate

    sets = []
    if any(SHARED.glob("*-5m.feather")):
        sets.append(("real: 10 BTC pairs x 20 days", SHARED, "BTC"))
    else:
        print(f"SKIP real data: {SHARED} not present", flush=True)
    generated = WORK / "data-60d"
    if not any(generated.glob("*-5m.feather")):
        generate(generated, pairs=BIG_SET, days=60, seed=11)
    sets.append(("synthetic: 10 pairs x 60 days", generated, "USDT"))
    return sets


def measure(datasets: list[tuple[str, Path, str]], overrides_for, runs: int, hyperopt_runs: int,
            epochs: int, workdir: Path) -> dict:
    """Backtests on every data set, hyperopt on the first (the shared real month when present).
    ``overrides_for(datadir)``: the sandbox's ccxt overrides."""
    from ts_plugin.tools.demo import pairs_in

    results: dict = {"backtests": [], "hyperopt": [], "runs": runs, "hyperopt_runs": hyperopt_runs}
    for label, datadir, stake in datasets:
        pairs = sorted(pairs_in(datadir))
        results["backtests"] += backtests(label, datadir, pairs, stake, overrides_for(datadir),
                                          workdir / ("versus-" + label.split(":")[0]), runs)
    if hyperopt_runs:
        label, datadir, stake = datasets[0]
        results["hyperopt"] = hyperopts(label, datadir, sorted(pairs_in(datadir)), stake, overrides_for(datadir),
                                        workdir / "versus-hyperopt", hyperopt_runs, epochs)
    return results


def render(results: dict) -> list[str]:
    """The section's tables (markdown lines). CPU time first: on a shared machine the other work
    stretches wall times at random, while a process's own CPU time barely moves."""
    lines = ["| data | variant | trades (identical to the built-in's) | stop handling, share of the backtest "
             "(runs) | **/ built-in, normalised** | backtest CPU s (median) | runs | / built-in | "
             "backtest wall s | / built-in | whole process CPU s | / built-in |",
             "| --- | --- | ---: | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for label in dict.fromkeys(row["set"] for row in results["backtests"]):
        rows = [row for row in results["backtests"] if row["set"] == label]
        base = rows[0]
        for row in rows:
            lines.append(
                f"| {label} | {row['variant']} | {row['trades']:,} ({row['identical']:,}) | "
                f"{row['stop_share']:.1%} ({', '.join(f'{v:.1%}' for v in row['stop_share_runs'])}) | "
                f"**{normalised_ratio(row, base):.3f}** | {row['backtest_cpu_s']:.2f} | "
                f"{', '.join(f'{t:.2f}' for t in row['backtest_cpu_runs'])} | "
                f"{row['backtest_cpu_s'] / base['backtest_cpu_s']:.3f} | {row['backtest_wall_s']:.2f} | "
                f"{row['backtest_wall_s'] / base['backtest_wall_s']:.3f} | {row['cpu_s']:.2f} | "
                f"{row['cpu_s'] / base['cpu_s']:.3f} |")
    if results["hyperopt"]:
        lines += ["", "| data | hyperopt | epochs per run | CPU s per epoch (median) | runs | / built-in | "
                  "wall s per epoch | / built-in |", "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |"]
        base = results["hyperopt"][0]
        for row in results["hyperopt"]:
            lines.append(
                f"| {row['set']} | {row['variant']} | {row['epochs']} | {row['epoch_cpu_s']:.2f} | "
                f"{', '.join(f'{t:.2f}' for t in row['epoch_cpu_runs'])} | "
                f"{row['epoch_cpu_s'] / base['epoch_cpu_s']:.3f} | {row['epoch_wall_s']:.2f} | "
                f"{row['epoch_wall_s'] / base['epoch_wall_s']:.3f} |")
    return lines


HEADING = "## Against freqtrade's built-in trailing stop (no callback)"


def section(results: dict, measured: str) -> list[str]:
    """The whole BENCHMARKS.md section: how it was measured, the tables, how to read them."""
    return [
        HEADING, "",
        measured, "",
        f"Each variant ran {results['runs']} times per data set and each hyperopt space "
        f"{results['hyperopt_runs']} times, alternated in one run (every variant once, then again), each a "
        "fresh process of freqtrade's own command line against the local sandbox "
        "(`benchmarks/versus_builtin.py`, strategies in `benchmarks/strategies/versus_builtin_strategies.py`). "
        "Same entries everywhere (SmartTrailingSample's). The built-in is freqtrade's `trailing_stop` with "
        "`trailing_stop_positive` 0.005, `trailing_stop_positive_offset` 0.015 and "
        "`trailing_only_offset_is_reached`; it calls no strategy code per candle. The plugin has the same "
        "numbers in its built-in-exact mode (`settings_from_builtin`: `activation_basis` "
        "\"profit_after_fees\", activation and distance only), so the trades are the built-in's; the rows "
        "below it add one smart rule each, alone, and make other trades. Target: plugin <= 1.05 x built-in.",
        "",
        "How to read the ratios. **Normalised** is the one to quote on a shared machine: inside each run "
        "the time spent in the stop's handling (freqtrade's `ft_stoploss_adjust`, which runs the built-in's "
        "trailing or calls `custom_stoploss` through its wrapper, plus the `order_filled` and "
        "`bot_loop_start` callbacks) is timed, and the rest of that same backtest, identical work when the "
        "trades are identical, is the yardstick: (1 - built-in's share) / (1 - variant's share). Load that "
        "slows a whole run down cancels out. The plain ratios of medians (CPU time of `Backtesting.start()`, "
        "wall time, CPU time of the whole process) are listed too; they move by tens of percent between "
        "runs on a busy machine, far more than the differences measured. For the rule rows (other trades) "
        "the normalised figure is the cost of the stop's handling only.",
        "",
        *render(results),
        "",
        "The row \"built-in + a no-op custom_stoploss\" is freqtrade's own price of calling any "
        "`custom_stoploss` (a library-marked method that returns None, so the built-in's trades): freqtrade "
        "builds its `strategy_safe_wrapper` anew on every call and passes six keyword arguments. Every "
        "callback-based stop pays it; the plugin's own work is the difference between that row and the "
        "plugin's. That row and the exact plugin differ from the built-in in the same few trades: trailing "
        "exits on a trade's entry candle, which freqtrade's backtest prices by another worst case as soon as "
        "`use_custom_stoploss` is on (`Backtesting._get_close_rate_for_stoploss`; see "
        "`ts_plugin/strategy/builtin_match.py`); the stops move alike.",
        "",
        "Hyperopt: `freqtrade hyperopt -j 1 --hyperopt-loss SharpeHyperOptLoss --random-state 7`, the "
        "built-in strategy with freqtrade's `trailing` space (`trailing_stop_positive`, its offset, "
        "`trailing_only_offset_is_reached`) against the plugin with its `smart_trailing` space "
        "(`ts_activation_profit`, `ts_trail_distance`; no breakeven block, so no trigger). Seconds per epoch "
        "from the first epoch's result to the last one's; the two spaces sample different values, so the "
        "epochs make different trades.",
        "",
    ]


def write_section(lines: list[str]) -> None:
    """Put the section into BENCHMARKS.md in place of its last version (or before the Soak section)."""
    from benchmarks.report import replace_sections

    target = ROOT / "BENCHMARKS.md"
    previous = target.read_text() if target.exists() else ""
    target.write_text(replace_sections(previous, "\n".join(lines), (HEADING,)))


# ----- the child process: freqtrade's own command line, timed from inside -----------------------------

# The callbacks around the stop that Backtesting calls through strategy_safe_wrapper (IStrategy's empty
# defaults for the built-in, the plugin's own for the plugin).
STOP_CALLBACKS = ("order_filled", "bot_loop_start")


def time_stop_handling(interface_callbacks: tuple[str, ...] = (), indicators: bool = False) -> dict[str, float]:
    """Accumulate the wall time spent in the stop's handling during the backtest: freqtrade's
    ``IStrategy.ft_stoploss_adjust`` (the built-in's trailing, or the call of ``custom_stoploss`` through
    freqtrade's wrapper and what it does with the answer) and the ``STOP_CALLBACKS``; also the
    ``interface_callbacks`` that ``IStrategy`` calls through its wrapper (``custom_exit``) and, with
    ``indicators``, ``IStrategy.advise_all_indicators``. Both runs do the same other work when they make
    the same trades, so the rest of the backtest is a yardstick that stretches with the machine's load
    like the stop handling does (see ``normalised_ratio``). Patches freqtrade's classes for the rest of
    the process; the caller resets the returned counters between runs."""
    import freqtrade.optimize.backtesting as backtesting_module
    import freqtrade.strategy.interface as interface_module
    from freqtrade.strategy.interface import IStrategy

    spent = {"ft_stoploss_adjust": 0.0, **{name: 0.0 for name in (*STOP_CALLBACKS, *interface_callbacks)}}

    def timed_method(name: str, method):
        def timed(self, *args, **kwargs):
            begun = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - begun

        return timed

    IStrategy.ft_stoploss_adjust = timed_method("ft_stoploss_adjust", IStrategy.ft_stoploss_adjust)
    if indicators:
        spent["advise_all_indicators"] = 0.0
        IStrategy.advise_all_indicators = timed_method("advise_all_indicators", IStrategy.advise_all_indicators)

    def timed_wrapper_of(wrap, names: tuple[str, ...]):
        def timed_wrapper(f, *args, **kwargs):
            wrapped = wrap(f, *args, **kwargs)
            name = getattr(f, "__name__", "")
            if name not in names:
                return wrapped

            def call(*call_args, **call_kwargs):
                begun = time.perf_counter()
                try:
                    return wrapped(*call_args, **call_kwargs)
                finally:
                    spent[name] += time.perf_counter() - begun

            return call

        return timed_wrapper

    backtesting_module.strategy_safe_wrapper = timed_wrapper_of(backtesting_module.strategy_safe_wrapper,
                                                                STOP_CALLBACKS)
    if interface_callbacks:
        interface_module.strategy_safe_wrapper = timed_wrapper_of(interface_module.strategy_safe_wrapper,
                                                                  interface_callbacks)
    return spent


def normalised_ratio(row: dict, base: dict) -> float:
    """The backtest's cost relative to ``base``'s measured against the rest of each backtest (everything
    but the stop's handling): (1 - base's share) / (1 - row's share), with each share taken within its
    own run. Exact when both make the same trades (the rest is then the same work), and untouched by
    load that slows a whole run down."""
    return (1 - base["stop_share"]) / (1 - row["stop_share"])


def child(command: str, freqtrade_args: list[str]) -> int:
    """Run ``freqtrade <command> <args>`` in this process with timers on ``Backtesting.start`` (its
    duration, the trade count) or on ``Hyperopt.evaluate_result`` (when each epoch's result is in);
    print them as one JSON line."""
    from freqtrade.main import main as freqtrade_main
    from freqtrade.optimize.backtesting import Backtesting

    found: dict[str, Any] = {"backtest_wall": None, "backtest_cpu": None, "trades": None, "epoch_marks": [],
                             "keys": []}
    start = Backtesting.start

    def timed_start(self, *args, **kwargs):
        begun, begun_cpu = time.perf_counter(), time.process_time()
        value = start(self, *args, **kwargs)
        found["backtest_wall"] = time.perf_counter() - begun
        found["backtest_cpu"] = time.process_time() - begun_cpu
        trades = [trade for result in (self.results or {}).get("strategy", {}).values() for trade in result["trades"]]
        found["trades"] = len(trades)
        found["keys"] = sorted([trade[key] for key in TRADE_KEY] for trade in trades)
        return value

    Backtesting.start = timed_start
    if command == "backtesting":
        found["stop_handling"] = time_stop_handling()
    if command == "hyperopt":
        from freqtrade.optimize.hyperopt import Hyperopt

        evaluate = Hyperopt.evaluate_result

        def marked(self, *args, **kwargs):
            found["epoch_marks"].append((time.perf_counter(), time.process_time()))
            return evaluate(self, *args, **kwargs)

        Hyperopt.evaluate_result = marked
    try:
        freqtrade_main([command, *freqtrade_args])
    except SystemExit as stop:
        if stop.code not in (0, None):
            return int(stop.code) if isinstance(stop.code, int) else 1
    print(RESULT_PREFIX + json.dumps(found, default=str), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return child(argv[1], argv[2:])
    from benchmarks.machine import facts
    from benchmarks.paths import WORK
    from benchmarks.report import measured_line
    from ts_plugin.sandbox import SandboxExchange, ccxt_overrides
    from ts_plugin.tools.demo import pairs_in

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="backtest runs per variant and data set")
    parser.add_argument("--hyperopt-runs", type=int, default=2, help="hyperopt processes per space (0: none)")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per hyperopt process")
    parser.add_argument("--write", action="store_true", help="replace this section of BENCHMARKS.md")
    parser.add_argument("--note", default="", help="a sentence for the section's measured line")
    options = parser.parse_args(argv)
    command = " ".join([".venv/bin/python -m benchmarks.versus_builtin", shlex.join(argv)])
    machine = facts()  # when the run started
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    note = " ".join(part for part in (f"Code at commit {commit.stdout.strip()}." if commit.returncode == 0 else "",
                                      options.note) if part)
    datasets = both_datasets()
    prices = {}
    for _, datadir, _ in datasets:
        prices.update(pairs_in(datadir))
    with SandboxExchange(prices) as sandbox:
        results = measure(datasets, lambda _: ccxt_overrides(sandbox.url), options.runs, options.hyperopt_runs,
                          options.epochs, WORK)
    (WORK / "versus.json").write_text(json.dumps(results, indent=1, default=str))
    lines = section(results, measured_line({"machine": machine, "command": command, "note": note}))
    print("\n".join(lines))
    if options.write:
        write_section(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
