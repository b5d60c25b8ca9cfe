"""The README's recipe "your own strategy as a dry-run bot against the sandbox", step by step, with the
commands a user types (the installed ``ts-plugin``, ``freqtrade`` and ``freqtrade-client``) and the JSON
block exactly as the README prints it (only the two ports changed, so that parallel runs cannot meet).

A strategy of the user's own (the README's ``MyStrategy`` settings, no signals) on the shipped
``user_data/config.json``: a forced entry trails after a price move and exits on its stop.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.bot import free_port, wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RECIPE = "## Recipe: your own strategy as a dry-run bot against the sandbox"

MY_STRATEGY = '''
from freqtrade.strategy import IStrategy
from ts_plugin import SmartTrailingMixin


class MyStrategy(SmartTrailingMixin, IStrategy):
    use_custom_stoploss = True
    stoploss = -0.05
    trailing_stop = False
    timeframe = "5m"
    smart_trailing = {"activation_profit": 0.015, "trail_distance": 0.005,
                      "breakeven": {"trigger_profit": 0.008, "offset": 0.002}}

    def populate_indicators(self, dataframe, metadata):
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        dataframe["enter_long"] = 0
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        dataframe["exit_long"] = 0
        return dataframe
'''


def recipe_json() -> dict:
    """The JSON block of the README's recipe, as printed there."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(RECIPE, 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```json\n(.*?)```", section, flags=re.S)
    return json.loads(block)


def run(*command: str, cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def status(folder: Path, *flags: str) -> dict:
    return json.loads(run(str(BIN / "ts-plugin"), "status", "--db-url", "sqlite:///tradesv3.sandbox.sqlite",
                          "--json", *flags, cwd=folder))


def test_the_readme_recipe_trails_a_forced_entry_of_your_own_strategy(tmp_path):
    folder = tmp_path
    (folder / "strategies").mkdir()
    (folder / "strategies" / "my_strategy.py").write_text(MY_STRATEGY)
    (folder / "config.json").write_text((ROOT / "user_data" / "config.json").read_text())
    dry_run = recipe_json()
    sandbox_port, api_port = free_port(), free_port()
    dry_run["api_server"]["listen_port"] = api_port
    (folder / "sandbox-dry-run.json").write_text(json.dumps(dry_run))
    url = f"http://127.0.0.1:{sandbox_port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = []
    try:
        processes.append(subprocess.Popen(
            [str(BIN / "ts-plugin"), "sandbox", "serve", "--pairs", "BTC/USDT=60000", "ETH/USDT=3000",
             "--port", str(sandbox_port), "--write-config", "sandbox.json"],
            cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        wait_until(lambda: json.loads((folder / "sandbox.json").read_text()), 60, "sandbox.json")
        log = open(folder / "bot.log", "wb")
        processes.append(subprocess.Popen(
            [str(BIN / "freqtrade"), "trade", "--config", "config.json", "--config", "sandbox-dry-run.json",
             "--config", "sandbox.json", "--strategy", "MyStrategy", "--strategy-path", "strategies",
             "--userdir", "user_data"],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT))
        (folder / "user_data").mkdir()

        def entered() -> dict | None:
            assert processes[1].poll() is None, (folder / "bot.log").read_text()[-3000:]
            answer = subprocess.run([str(BIN / "freqtrade-client"), "--config", "sandbox-dry-run.json",
                                     "forceenter", "BTC/USDT", "long"], cwd=folder, capture_output=True,
                                    text=True, timeout=60)
            return json.loads(answer.stdout) if answer.stdout.lstrip().startswith('{"trade_id"') else None

        trade = wait_until(entered, 120, "the forced entry through freqtrade-client")
        entry = trade["open_rate"]
        run(str(BIN / "ts-plugin"), "sandbox", "price", "--url", url, "BTC/USDT", "62000", cwd=folder)
        # the exchange stop follows on the bot's next iteration: a drop before that is a gap (freqtrade
        # then exits at market, as emergency_exit, because the new stop would trigger at once)
        (row,) = wait_until(lambda: [t for t in status(folder)["open_trades"] if t["phase"] == "ACTIVE"
                                     and t["exchange_stop"] == t["bot_stop"]],
                            120, "the trade to trail in ts-plugin status, its exchange stop with it")
        assert row["peak"] >= 62000 * 0.999 and row["bot_stop"] == pytest.approx(row["peak"] * 0.995, rel=1e-6)
        assert row["bot_stop"] > entry  # the stop locks in a profit

        run(str(BIN / "ts-plugin"), "sandbox", "price", "--url", url, "BTC/USDT", "61000", cwd=folder)
        closed = wait_until(lambda: status(folder, "--all")["closed_trades"], 120, "the exit on the stop")
        assert closed[0]["exit_reason"] in ("stoploss_on_exchange", "trailing_stop_loss")
        assert "Traceback" not in (folder / "bot.log").read_text()
    finally:
        for process in reversed(processes):
            process.kill()
            process.wait(timeout=30)
