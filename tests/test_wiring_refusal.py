"""A strategy whose base ahead of the mixin would shadow the plugin is refused by the real freqtrade
process as one line and exit code 2 (freqtrade's OperationalException form), in `backtesting`,
`hyperopt` and `trade` alike; a plain helper ahead that shadows nothing is accepted and backtests.

freqtrade loads the exchange before the strategy in all three modes: the sandbox (URL mode) serves
its markets, nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ts_plugin.sandbox import SandboxExchange
from ts_plugin.sandbox.server import config_fragment
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

PAIRS = {"BTC/USDT": 60_000.0}
# as a user's shell: freqtrade stays quiet when it sees pytest's variable
USER_ENV = {key: value for key, value in os.environ.items() if key != "PYTEST_VERSION"}

POPULATE = '''
    timeframe = "5m"
    stoploss = -0.05
    minimal_roi = {"0": 10.0}
    use_custom_stoploss = True
    trailing_stop = False

    def populate_entry_trend(self, dataframe, metadata):
        dataframe["enter_long"] = 0
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        return dataframe
'''

SHADOWING = textwrap.dedent('''
    from freqtrade.strategy import IStrategy
    from ts_plugin import SmartTrailingMixin


    class StopHelpers:
        def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
            return -0.02

        def populate_indicators(self, dataframe, metadata):
            return dataframe


    class ShadowedStrategy(StopHelpers, SmartTrailingMixin, IStrategy):
''') + POPULATE

HELPER_AHEAD = textwrap.dedent('''
    from freqtrade.strategy import IStrategy
    from ts_plugin import SmartTrailingMixin


    class IndicatorHelpers:
        """Shared populate_* code: nothing of the mixin's."""

        def populate_indicators(self, dataframe, metadata):
            dataframe["helped"] = 1
            return dataframe


    class HelpedStrategy(IndicatorHelpers, SmartTrailingMixin, IStrategy):
        def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
            return None  # no super(): the plugin's part runs all the same, and the start-up says so
''') + POPULATE

RECORD_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ - ")
MESSAGE = ("ShadowedStrategy: a base listed before SmartTrailingMixin would shadow the plugin's own methods "
           "(StopHelpers defines custom_stoploss)")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A sandbox serving the markets, its config fragment, candles, and one folder per strategy (freqtrade
    imports every file of the strategy folder while looking for the one asked for)."""
    from ts_plugin.tools.sampledata import generate

    root = tmp_path_factory.mktemp("wiring")
    datadir = root / "data" / "binance"
    generate(datadir, pairs=PAIRS, days=3, seed=5)
    for name, text in (("shadowing", SHADOWING), ("helper_ahead", HELPER_AHEAD)):
        (root / name).mkdir()
        (root / name / f"{name}.py").write_text(text)
    (root / "user_data").mkdir()
    sandbox = SandboxExchange(dict(PAIRS)).start()
    fragment = root / "sandbox.json"
    fragment.write_text(json.dumps(config_fragment(sandbox.url, list(PAIRS))))
    yield root, datadir, fragment
    sandbox.stop()


def freqtrade(setup, mode: str, strategy: str, folder: str, *extra: str) -> subprocess.CompletedProcess:
    root, datadir, fragment = setup
    command = [sys.executable, "-m", "freqtrade", mode,
               "--config", str(ROOT / "ts_plugin" / "data" / "config_backtest.json"), "--config", str(fragment),
               "--strategy", strategy, "--strategy-path", str(root / folder),
               "--userdir", str(root / "user_data"), *extra]
    if mode != "trade":
        command += ["--datadir", str(datadir), "--timeframe", "5m", "--stake-amount", "100"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=root, env=USER_ENV)


def log_records(output: str) -> list[str]:
    """freqtrade's log records: its console wraps a long record at the terminal's width; a record
    starts with its timestamp, a wrapped part does not."""
    records: list[str] = []
    for line in output.splitlines():
        if RECORD_START.match(line) or not records:
            records.append(line)
        else:
            records[-1] = " ".join(f"{records[-1]} {line}".split())
    return records


@pytest.mark.parametrize("mode, extra", [
    ("backtesting", ("--export", "none")),
    ("hyperopt", ("--hyperopt-loss", "SharpeHyperOptLoss", "--epochs", "1", "--spaces", "smart_trailing")),
    ("trade", ("--dry-run", "--db-url", "sqlite://")),
])
def test_a_shadowing_base_is_refused_in_one_line_with_exit_code_2(setup, mode, extra):
    done = freqtrade(setup, mode, "ShadowedStrategy", "shadowing", *extra)
    output = done.stdout + done.stderr
    errors = [record for record in log_records(output) if " - ERROR - " in record]
    assert done.returncode == 2, output[-4000:]
    assert len(errors) == 1 and MESSAGE in errors[0], output[-4000:]
    assert "or write: class ShadowedStrategy(SmartTrailingMixin, StopHelpers, IStrategy)" in errors[0]
    assert "Traceback" not in output and "Fatal exception" not in output


def test_a_plain_helper_ahead_of_the_mixin_is_accepted_and_backtests(setup):
    done = freqtrade(setup, "backtesting", "HelpedStrategy", "helper_ahead", "--export", "none")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "BACKTESTING REPORT" in done.stdout and "Traceback" not in output
    wrapped = [record for record in log_records(output) if "wrapped the strategy's own" in record]
    assert len(wrapped) == 1 and "HelpedStrategy.custom_stoploss" in wrapped[0], output[-4000:]
