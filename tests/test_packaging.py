"""Issue 7.1: installing the plugin beside a bot never moves freqtrade; make pins what the tests ran.

The clean-venv install (`pip install` of the wheel beside an existing freqtrade, then `ts-plugin demo`)
is in tests/test_clean_install.py (slow)."""

from __future__ import annotations

import configparser
import logging
import re
import subprocess
import sys
from importlib import metadata

import pytest

from tests.conftest import ROOT
from ts_plugin.strategy.compat import MIN_FREQTRADE, TESTED_FREQTRADE, check_freqtrade


def setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return parser


def requirements(text: str) -> dict[str, str]:
    """{name: version specifier} of a setup.cfg list."""
    found = {}
    for line in text.strip().splitlines():
        match = re.match(r"\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)", line)
        found[match.group(1).lower()] = match.group(3).strip()
    return found


def constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_runtime_requirements_are_lower_bounds_only():
    runtime = requirements(setup_cfg()["options"]["install_requires"])
    assert runtime["freqtrade"] == f">={MIN_FREQTRADE}"
    for name, spec in runtime.items():  # an upper bound would up- or downgrade somebody's bot
        assert "<" not in spec and "==" not in spec and "~=" not in spec, (name, spec)
    assert "trustme" not in runtime  # sandbox-only: the [sandbox] extra


def test_sandbox_dependencies_are_an_extra_that_the_test_extra_includes():
    extras = setup_cfg()["options.extras_require"]
    sandbox, test = requirements(extras["sandbox"]), requirements(extras["test"])
    assert "trustme" in sandbox
    assert sandbox.items() <= test.items()


def test_constraints_pin_what_the_tests_run_with_and_make_uses_them():
    pins = constraints()
    assert pins["freqtrade"] == TESTED_FREQTRADE
    for name in ("freqtrade", "ccxt", "ta-lib", "pandas", "pydantic", "trustme", "pytest"):
        assert pins[name] == metadata.version(name), f"{name}: venv differs from constraints.txt"
    assert "ts-plugin" not in pins and "ts_plugin" not in pins
    assert "pip install --quiet -c constraints.txt -e '.[test]'" in (ROOT / "Makefile").read_text()


def test_an_older_freqtrade_is_refused_naming_both_versions():
    from freqtrade.exceptions import OperationalException

    with pytest.raises(OperationalException) as refused:  # freqtrade prints it as a start-up error
        check_freqtrade("2026.6")
    assert str(refused.value).startswith(f"ts_plugin needs freqtrade >= {MIN_FREQTRADE}, found freqtrade 2026.6.")


@pytest.mark.parametrize("version", [MIN_FREQTRADE, "2026.10.dev0", "2026.10-dev-1a2b3c", f"docker-{MIN_FREQTRADE}-1a2b3c4d"])
def test_supported_versions_pass(version, caplog):
    with caplog.at_level(logging.WARNING):
        assert check_freqtrade(version) == version
    assert ("newer" in caplog.text) == (version.startswith("2026.10"))


def test_a_newer_freqtrade_than_tested_starts_with_one_warning(caplog):
    with caplog.at_level(logging.WARNING):
        check_freqtrade("2027.1")
    assert f"tested with freqtrade {TESTED_FREQTRADE}; found 2027.1" in caplog.text


def test_freqtrade_itself_refuses_to_start_a_strategy_on_an_old_freqtrade(tmp_path):
    """As a user sees it: freqtrade 'upgraded' to metadata saying 2026.3 loads the sample strategy."""
    fake = tmp_path / "site"
    info = fake / "freqtrade-2026.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: freqtrade\nVersion: 2026.3\n")
    env = {"PYTHONPATH": str(fake), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    (tmp_path / "user_data").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "freqtrade", "list-strategies", "--userdir", str(tmp_path / "user_data"),
         "--strategy-path", str(ROOT / "ts_plugin" / "data" / "strategies")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    assert f"ts_plugin needs freqtrade >= {MIN_FREQTRADE}, found freqtrade 2026.3" in output, output[-3000:]
    assert "Traceback" not in output
