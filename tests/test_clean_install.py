"""Issue 7.1 + 7.2 as a new user meets them: a clean venv with a bot's freqtrade, then
`pip install` of the plugin's wheel (no constraints, as a user types it), then `ts-plugin demo`.

Proves: installing the plugin changes no package that was there (freqtrade, ccxt, ...) and pulls no
sandbox-only dependency; the wheel carries the sample strategy and demo config; `ts-plugin demo` works
from an empty folder (and with --userdir) and writes nothing into site-packages. Costs about 2-3
minutes (freqtrade and its dependencies are installed into the new venv from the package index, pinned
by constraints.txt so that pip's cache serves them after the first run).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def run(*command: str | Path, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTEST_VERSION", "VIRTUAL_ENV", "PYTHONPATH")}
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=env)
    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


def freeze(python: Path) -> set[str]:
    return set(run(python, "-m", "pip", "freeze", "--all").stdout.splitlines())


def files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if "__pycache__" not in path.parts}


def test_pip_install_beside_an_existing_bot_then_ts_plugin_demo(tmp_path):
    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", wheels, ROOT)
    (wheel,) = wheels.glob("ts_plugin-*.whl")

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    # the user's existing bot: freqtrade (the version the tests ran with)
    run(python, "-m", "pip", "install", "--quiet", "-c", ROOT / "constraints.txt", "freqtrade")
    before = freeze(python)

    run(python, "-m", "pip", "install", "--quiet", wheel)  # what a user types
    added = freeze(python) - before
    assert {re.split(r"==| @ ", line)[0] for line in added} == {"ts_plugin"}, added  # nothing else moved or came
    assert not any(line.lower().startswith("trustme") for line in freeze(python))  # [sandbox] only

    site = Path(run(python, "-c", "import ts_plugin, pathlib; print(pathlib.Path(ts_plugin.__file__).parent)",
                    cwd=tmp_path).stdout.strip())
    assert (site / "data" / "strategies" / "smart_trailing_sample.py").is_file()
    assert (site / "data" / "config_demo.json").is_file()
    package_files = files_under(site)

    workdir = tmp_path / "somewhere"
    workdir.mkdir()
    done = run(venv / "bin" / "ts-plugin", "demo", "--timerange", "20251215-", cwd=workdir)
    assert "SMART TRAILING SUMMARY" in done.stdout and re.search(r"plugin errors \(should be 0\) +0\n", done.stdout)
    assert "SYNTHETIC" in done.stdout
    assert list((workdir / "user_data" / "data" / "binance").glob("*-5m.feather"))
    other = tmp_path / "elsewhere"
    done = run(venv / "bin" / "ts-plugin", "demo", "--userdir", other, "--timerange", "20251225-", cwd=workdir)
    assert "SMART TRAILING SUMMARY" in done.stdout
    assert list((other / "data" / "binance").glob("*-5m.feather"))
    assert files_under(site) == package_files  # nothing written into site-packages
