"""Wall time of whole `freqtrade backtesting` processes: the plugin vs (a) and (b)."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = {
    "plugin (SmartTrailingSample)": ("SmartTrailingSample", ROOT / "ts_plugin" / "data" / "strategies"),
    "plugin, counting calls": ("BenchCountedPlugin", ROOT / "benchmarks" / "strategies"),
    "(a) constant custom_stoploss": ("BenchConstantStop", ROOT / "benchmarks" / "strategies"),
    "(a) + plugin shadow (same exits as (a))": ("BenchShadowPlugin", ROOT / "benchmarks" / "strategies"),
    "(b) built-in trailing_stop": ("BenchBuiltinTrailing", ROOT / "benchmarks" / "strategies"),
}


def write_config(workdir: Path, pairs: list[str], stake_currency: str, overrides: dict) -> Path:
    config = json.loads((ROOT / "ts_plugin" / "data" / "config_demo.json").read_text())
    config["exchange"].update(overrides)
    config["exchange"]["pair_whitelist"] = pairs
    config["stake_currency"] = stake_currency
    config["stake_amount"] = 0.01 if stake_currency == "BTC" else 100
    config["dry_run_wallet"] = 1.0 if stake_currency == "BTC" else 1000
    config["max_open_trades"] = len(pairs)
    path = workdir / "config.json"
    path.write_text(json.dumps(config))
    return path


def run_once(config: Path, strategy: str, strategy_path: Path, datadir: Path,
             workdir: Path) -> tuple[float, int, int | None]:
    command = [sys.executable, "-m", "freqtrade", "backtesting", "--config", str(config),
               "--strategy", strategy, "--strategy-path", str(strategy_path), "--datadir", str(datadir),
               "--userdir", str(workdir), "--export", "none", "--cache", "none"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=workdir)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{strategy} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    match = re.search(rf"│\s*{strategy}\s*│\s*(\d+)\s*│", done.stdout)
    calls = re.search(r"BENCH_CUSTOM_STOPLOSS_CALLS=(\d+)", done.stdout)
    return elapsed, int(match.group(1)) if match else -1, int(calls.group(1)) if calls else None


def compare(label: str, datadir: Path, pairs: list[str], stake: str, overrides: dict, workdir: Path,
            runs: int) -> list[dict]:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "backtest_results").mkdir(exist_ok=True)
    config = write_config(workdir, pairs, stake, overrides)
    # Round-robin (P, counted, a, shadow, b, P, ...): slow drift of a shared machine hits every
    # strategy alike instead of whichever one happened to run during it.
    times: dict[str, list[float]] = {name: [] for name in STRATEGIES}
    trades: dict[str, int] = {}
    calls: dict[str, int | None] = {}
    for _ in range(runs):
        for name, (strategy, path) in STRATEGIES.items():
            elapsed, trades[name], calls[name] = run_once(config, strategy, path, datadir, workdir)
            times[name].append(elapsed)
    rows = []
    for name in STRATEGIES:
        median = statistics.median(times[name])
        rows.append({"set": label, "strategy": name, "median_s": median,
                     "runs": [round(t, 2) for t in times[name]], "trades": trades[name], "calls": calls[name]})
        print(f"  {label:<28} {name:<40} {median:7.2f} s  trades {trades[name]}", flush=True)
    return rows
