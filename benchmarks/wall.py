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
    "plugin (SmartTrailingSample)": ("SmartTrailingSample", ROOT / "user_data" / "strategies"),
    "plugin, counting calls": ("BenchCountedPlugin", ROOT / "benchmarks" / "strategies"),
    "(a) constant custom_stoploss": ("BenchConstantStop", ROOT / "benchmarks" / "strategies"),
    "(b) built-in trailing_stop": ("BenchBuiltinTrailing", ROOT / "benchmarks" / "strategies"),
}


def write_config(workdir: Path, pairs: list[str], stake_currency: str, overrides: dict) -> Path:
    config = json.loads((ROOT / "user_data" / "config_demo.json").read_text())
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
    rows = []
    for name, (strategy, path) in STRATEGIES.items():
        times, trades, calls = [], -1, None
        for _ in range(runs):
            elapsed, trades, calls = run_once(config, strategy, path, datadir, workdir)
            times.append(elapsed)
        rows.append({"set": label, "strategy": name, "median_s": statistics.median(times),
                     "runs": [round(t, 2) for t in times], "trades": trades, "calls": calls})
        print(f"  {label:<28} {name:<32} {statistics.median(times):7.2f} s  trades {trades}", flush=True)
    return rows
