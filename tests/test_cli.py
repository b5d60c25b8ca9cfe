"""Issue 7.2 and 7.3: the `ts-plugin` command, run as a user runs it (a subprocess of the installed
console script), and the `python -m` spellings it replaces."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

TS_PLUGIN = str(Path(sys.executable).with_name("ts-plugin"))  # the console script pip installed
# as a user's shell: freqtrade stays quiet when it sees pytest's variable
USER_ENV = {key: value for key, value in os.environ.items() if key != "PYTEST_VERSION"}


def ts_plugin(*argv: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([TS_PLUGIN, *argv], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=USER_ENV)


def every_parser(parser: argparse.ArgumentParser, path: str = "ts-plugin"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from every_parser(sub, f"{path} {name}")


def test_every_option_of_every_command_says_what_it_does():
    from ts_plugin.cli import build_parser

    seen = set()
    for path, parser in every_parser(build_parser()):
        seen.add(path)
        assert parser.description, f"{path}: no description"
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    assert choice.help, f"{path} {choice.dest}: no help"
            elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                assert action.help and len(action.help) > 15, f"{path} {action.dest}: no help"
    assert {"ts-plugin demo", "ts-plugin backtest", "ts-plugin sandbox serve", "ts-plugin sandbox price",
            "ts-plugin sandbox fault", "ts-plugin sandbox latency"} <= seen


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["backtest", "--help"], ["sandbox", "--help"],
                                  ["sandbox", "serve", "--help"], ["sandbox", "fault", "--help"]])
def test_help_runs_from_the_console_script(argv):
    done = ts_plugin(*argv, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("usage: ts-plugin"), done.stderr
    assert "--userdir" in done.stdout if argv[0] in ("demo", "backtest") else True


def test_python_m_aliases_still_work():
    for module, expected in (("ts_plugin.sandbox", "usage: python -m ts_plugin.sandbox"),
                             ("ts_plugin.cli", "usage: ts-plugin")):
        done = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True,
                              timeout=60, cwd=ROOT)
        assert done.returncode == 0 and done.stdout.startswith(expected), (module, done.stderr)


def test_bad_arguments_are_usage_errors():
    done = ts_plugin("backtest", "--strategy", "X", "--strategy-path", "/nonexistent-folder", timeout=60)
    assert done.returncode == 2 and "--strategy-path: /nonexistent-folder: not a directory" in done.stderr
    done = ts_plugin("backtest", timeout=60)
    assert done.returncode == 2 and "the following arguments are required: --strategy" in done.stderr


def test_a_folder_without_candles_is_refused(tmp_path):
    done = ts_plugin("backtest", "--strategy", "X", "--strategy-path", str(tmp_path),
                     "--datadir", str(tmp_path), "--userdir", str(tmp_path / "ud"), timeout=120)
    assert done.returncode == 2 and f"No feather candles (BASE_QUOTE-TIMEFRAME.feather) in {tmp_path}" in done.stderr


def interruptible() -> None:
    """In the child before exec: SIGINT at its default, as for a command typed at a terminal. A shell
    starts a background job (``make test &``, a CI step) with SIGINT ignored and the tests' children
    inherit that: the user's Ctrl-C would then never reach them, and the test waited 30 s for nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_serve(*argv: str) -> tuple[subprocess.Popen, dict]:
    """`ts-plugin sandbox serve ...` in the background; the process and the fragment it printed."""
    process = subprocess.Popen([TS_PLUGIN, "sandbox", "serve", *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=USER_ENV, preexec_fn=interruptible)
    lines = []
    while True:  # the fragment is one indented JSON object, closed by a "}" line
        line = process.stdout.readline()
        assert line, f"serve ended: {process.stderr.read()}"
        lines.append(line)
        if line.rstrip() == "}":
            return process, json.loads("".join(lines))


def stop_serve(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=30)


def test_sandbox_serve_prints_a_complete_config_fragment_on_the_given_port(tmp_path):
    from tests.e2e.bot import free_port

    port = free_port()
    written = tmp_path / "sandbox.json"
    process, fragment = start_serve("--port", str(port), "--pairs", "BTC/USDT=60000", "ETH/USDT=3000",
                                    "--write-config", str(written))
    try:
        exchange = fragment["exchange"]
        assert exchange["name"] == "binance" and exchange["enable_ws"] is False
        assert exchange["pair_whitelist"] == ["BTC/USDT", "ETH/USDT"]
        urls = exchange["ccxt_config"]["urls"]["api"]
        assert urls and all(url.startswith(f"http://127.0.0.1:{port}/") for url in urls.values())
        assert json.loads(written.read_text()) == fragment
        done = ts_plugin("sandbox", "price", "--url", f"http://127.0.0.1:{port}", "BTC/USDT", "61500", timeout=60)
        assert done.returncode == 0, done.stderr
    finally:
        assert stop_serve(process) == 0


MY_STRATEGY = textwrap.dedent('''
    import talib.abstract as ta
    from freqtrade.strategy import IStrategy
    from pandas import DataFrame

    from ts_plugin import SmartTrailingMixin


    class MyStrategy(SmartTrailingMixin, IStrategy):
        INTERFACE_VERSION = 3
        timeframe = "5m"
        stoploss = -0.05
        use_custom_stoploss = True
        trailing_stop = False
        minimal_roi = {"0": 10.0}
        startup_candle_count = 30
        smart_trailing = {"activation_profit": 0.012, "trail_distance": 0.006}

        def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
            return dataframe

        def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            dataframe.loc[(dataframe["rsi"] < 30) & (dataframe["volume"] > 0), "enter_long"] = 1
            return dataframe

        def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
            return dataframe
''')


@pytest.fixture
def own_strategy(tmp_path) -> Path:
    folder = tmp_path / "my_strategies"
    folder.mkdir()
    (folder / "my_strategy.py").write_text(MY_STRATEGY)
    return folder


@pytest.fixture(scope="module")
def candles_with_detail(tmp_path_factory) -> Path:
    """Two pairs of 5m and 1m synthetic candles (the 1m set for --timeframe-detail)."""
    from ts_plugin.tools.sampledata import generate

    datadir = tmp_path_factory.mktemp("own") / "binance"
    pairs = {"BTC/USDT": 60_000.0, "ETH/USDT": 3_000.0}
    generate(datadir, pairs=pairs, days=12, seed=11)
    generate(datadir, pairs=pairs, days=12, seed=11, timeframe="1m")
    return datadir


@pytest.mark.slow
def test_backtest_of_your_own_strategy_offline(tmp_path, own_strategy, candles_with_detail):
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"max_open_trades": 2, "stake_amount": 50}))
    workdir = tmp_path / "work"
    workdir.mkdir()
    done = ts_plugin("backtest", "--strategy", "MyStrategy", "--strategy-path", str(own_strategy),
                     "--datadir", str(candles_with_detail), "--timerange", "20251225-",
                     "--timeframe-detail", "1m", "--export", "trades", "--config", str(extra), cwd=workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "SMART TRAILING SUMMARY" in done.stdout and re.search(r"plugin errors \(should be 0\) +0\n", done.stdout)
    assert "Max open trades : 2" in done.stdout  # the --config file won over the built-in stake defaults
    assert "Parameter --timeframe-detail detected, using 1m" in done.stderr
    assert list((workdir / "user_data" / "backtest_results").glob("backtest-result-*.zip"))  # --export trades
    assert "MyStrategy" in done.stdout


@pytest.mark.slow
def test_the_fragment_of_sandbox_serve_drives_freqtrades_own_backtesting(tmp_path, own_strategy,
                                                                         candles_with_detail):
    """The README's second path: `ts-plugin sandbox serve --write-config` + `freqtrade backtesting`."""
    fragment_file = tmp_path / "sandbox.json"
    process, _ = start_serve("--datadir", str(candles_with_detail), "--write-config", str(fragment_file))
    try:
        (tmp_path / "user_data").mkdir()
        done = subprocess.run(
            [sys.executable, "-m", "freqtrade", "backtesting",
             "--config", str(ROOT / "ts_plugin" / "data" / "config_backtest.json"), "--config", str(fragment_file),
             "--strategy", "MyStrategy", "--strategy-path", str(own_strategy),
             "--datadir", str(candles_with_detail), "--userdir", str(tmp_path / "user_data"),
             "--timerange", "20251228-", "--export", "none", "--stake-amount", "100", "--max-open-trades", "2"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=USER_ENV)
        assert done.returncode == 0, done.stderr[-4000:]
        assert "MyStrategy" in done.stdout and "BACKTESTING REPORT" in done.stdout
    finally:
        assert stop_serve(process) == 0
