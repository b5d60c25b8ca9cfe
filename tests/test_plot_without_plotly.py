"""``ts-plugin plot`` where plotly is not installed (it is the optional ``plot`` extra): one line
naming the extra to install and exit code 2, before any work and with nothing written. plotly is made
unimportable for the subprocess by a path entry ahead of the environment's, not by uninstalling it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.freqtrade_helpers import add_trade, make_strategy, tick
from tests.test_plot_cli import _candles_around

TS_PLUGIN = str(Path(sys.executable).with_name("ts-plugin"))  # the console script pip installed


def without_plotly(folder: Path) -> dict[str, str]:
    """The environment of a process in which ``import plotly`` fails as if it were not installed."""
    package = folder / "plotly"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        'raise ModuleNotFoundError("No module named \'plotly\'", name="plotly")\n')
    environment = {key: value for key, value in os.environ.items() if key != "PYTEST_VERSION"}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), environment.get("PYTHONPATH")]))
    return environment


def test_plot_without_plotly_names_the_extra_in_one_line_and_exits_2(db, tmp_path):
    strategy = make_strategy()
    trade = add_trade(entry=100.0)
    for minute, price in enumerate([100.5, 101.6, 102.5, 103.0], start=1):
        tick(strategy, trade, price, 5 * minute)
    datadir = tmp_path / "candles"
    _candles_around(datadir)
    out = tmp_path / "pages"
    done = subprocess.run([TS_PLUGIN, "plot", "--db-url", f"sqlite:///{db}", "--datadir", str(datadir),
                           "--out", str(out)], capture_output=True, text=True, timeout=300,
                          env=without_plotly(tmp_path / "blocked"))
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.splitlines() == [
        "ts-plugin plot: plotly is not installed (No module named 'plotly'); install the plot extra: "
        "pip install 'ts_plugin[plot]'"]
    assert done.stdout == "" and not out.exists()
