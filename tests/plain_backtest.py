"""freqtrade's own ``backtesting`` command, run as a user would (a subprocess), offline against a
running sandbox: the reference the compare tests hold their rows to."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ts_plugin.sandbox import ccxt_overrides
from ts_plugin.tools.demo import BACKTEST_CONFIG


def plain_backtesting(sandbox, pairs: list[str], work: Path, name: str, strategy: str, strategy_path: Path,
                      configs: list[Path], datadir: Path, timerange: str, timeout: float = 900) -> dict:
    """The shipped backtest base config pointed at ``sandbox`` with ``pairs``, then ``configs`` (later
    win); freqtrade's stats of ``strategy`` from the exported result."""
    from freqtrade.data.btanalysis import load_backtest_stats

    base = json.loads(BACKTEST_CONFIG.read_text())
    base["exchange"].update(ccxt_overrides(sandbox.url), pair_whitelist=pairs)
    base_file = work / f"{name}-base.json"
    base_file.write_text(json.dumps(base))
    userdir = work / name
    (userdir / "results").mkdir(parents=True)
    files = [argument for config in [base_file, *configs] for argument in ("--config", str(config))]
    done = subprocess.run(
        [sys.executable, "-m", "freqtrade", "backtesting", *files,
         "--strategy", strategy, "--strategy-path", str(strategy_path), "--datadir", str(datadir),
         "--userdir", str(userdir), "--timerange", timerange, "--export", "trades",
         "--backtest-directory", str(userdir / "results"), "--cache", "none"],
        capture_output=True, text=True, timeout=timeout, cwd=work)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return load_backtest_stats(userdir / "results")["strategy"][strategy]
