"""Issue 7.7: `docker compose up` gives a dry-run bot whose REST API is reachable from the host only.

Docker cannot run here (no daemon, no registry access for freqtrade's image), so the compose file is
checked statically, and the bot it starts is run as a process with the same command line: the shipped
user_data/config.json + config_docker.json (+ the sandbox's config fragment instead of Binance), with
the API moved from 0.0.0.0 to 127.0.0.1 through freqtrade's environment variables.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.e2e.bot import BotDied, free_port, wait_until
from tests.test_cli import interruptible

SERVICE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["freqtrade"]
COMMAND = shlex.split(SERVICE["command"])


def configs_in_command() -> list[str]:
    return [COMMAND[i + 1] for i, word in enumerate(COMMAND) if word == "--config"]


def test_the_api_is_published_on_the_hosts_loopback_only_and_listens_on_all_container_interfaces():
    assert SERVICE["ports"] == ["127.0.0.1:8080:8080"]
    assert configs_in_command() == ["/freqtrade/user_data/config.json", "/freqtrade/user_data/config_docker.json"]
    api = json.loads((ROOT / "user_data" / "config_docker.json").read_text())["api_server"]
    assert api["enabled"] and api["listen_ip_address"] == "0.0.0.0" and api["listen_port"] == 8080
    assert api["username"] and api["password"] and api["jwt_secret_key"]
    assert json.loads((ROOT / "user_data" / "config.json").read_text())["dry_run"] is True


def test_the_image_build_copies_what_the_package_build_needs():
    dockerfile = SERVICE["build"]["dockerfile_inline"]
    copied = {name for line in dockerfile.splitlines() if line.startswith("COPY")
              for name in line.split()[2:-1]}
    assert {"setup.cfg", "pyproject.toml", "README.md", "ts_plugin"} <= copied
    assert not (ROOT / "setup.py").exists()
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    for value in setup["metadata"].values():  # long_description = file: README.md
        if value.startswith("file:"):
            assert value.split(":", 1)[1].strip() in copied
    assert re.search(r"(?<!\$)\$(?!\$)", dockerfile.replace("$$", "")) is None  # compose would interpolate
    assert "FROM freqtradeorg/freqtrade:2026.9" in dockerfile


def test_the_shipped_configs_pass_freqtrades_validation_together(tmp_path):
    from freqtrade.config_schema.config_schema import CONF_SCHEMA
    from freqtrade.configuration import Configuration
    from freqtrade.configuration.config_validation import FreqtradeValidator
    from freqtrade.enums import RunMode

    files = [str(ROOT / "user_data" / name) for name in ("config.json", "config_docker.json")]
    config = Configuration({"config": files, "user_data_dir": str(tmp_path)}, RunMode.DRY_RUN).get_config()
    assert config["dry_run"] is True and config["api_server"]["listen_ip_address"] == "0.0.0.0"
    # the bot validates the API section again at start (jwt_secret_key >= 32 characters, ...)
    FreqtradeValidator(CONF_SCHEMA["properties"]["api_server"]).validate(config["api_server"])


@pytest.mark.slow
def test_the_compose_command_runs_a_dry_run_bot_with_a_reachable_api(tmp_path):
    from freqtrade_client import FtRestClient

    userdir = tmp_path / "user_data"  # what compose mounts
    (userdir / "strategies").mkdir(parents=True)
    for name in ("config.json", "config_docker.json", "strategies/smart_trailing_sample.py"):
        shutil.copy(ROOT / "user_data" / name, userdir / name)
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_VERSION"}
    fragment = tmp_path / "sandbox.json"
    pairs = json.loads((userdir / "config.json").read_text())["exchange"]["pair_whitelist"]
    sandbox = subprocess.Popen(
        [str(Path(sys.executable).with_name("ts-plugin")), "sandbox", "serve", "--write-config", str(fragment), "--pairs",
         *(f"{pair}=100" for pair in pairs)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        preexec_fn=interruptible)  # stopped with SIGINT below, like Ctrl-C
    port = free_port()
    api = json.loads((userdir / "config_docker.json").read_text())["api_server"]
    bot = None
    try:
        wait_until(fragment.exists, 30, "the sandbox's config fragment")
        command = [sys.executable, "-m", "freqtrade", *COMMAND]  # compose's command, paths moved here
        command = [word.replace("/freqtrade/user_data", str(userdir)) for word in command]
        command += ["--config", str(fragment), "--userdir", str(userdir)]
        env.update(FREQTRADE__API_SERVER__LISTEN_IP_ADDRESS="127.0.0.1",  # 0.0.0.0 in the container
                   FREQTRADE__API_SERVER__LISTEN_PORT=str(port))
        bot = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = FtRestClient(f"http://127.0.0.1:{port}", api["username"], api["password"])

        def running():
            if bot.poll() is not None:
                raise BotDied((userdir / "logs" / "freqtrade.log").read_text()[-3000:])
            return client.show_config()

        shown = wait_until(running, 120, "the bot's REST API")
        assert shown["dry_run"] is True and shown["strategy"] == "SmartTrailingSample"
        assert shown["state"] == "running"
        wrong = FtRestClient(f"http://127.0.0.1:{port}", api["username"], "wrong")
        assert wrong.show_config() == {"detail": "Unauthorized"}
        log = (userdir / "logs" / "freqtrade.log").read_text()
        assert "ts_plugin" in log  # the plugin started with the bot
    finally:
        for process in (bot, sandbox):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM if process is bot else signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
