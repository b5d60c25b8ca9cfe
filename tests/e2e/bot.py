"""A real `freqtrade trade` process for end-to-end tests, driven through its REST API.

Started with the project's venv, on a config the test writes, with its own SQLite file (or the
``db_url`` given, e.g. a PostgreSQL database) and log; the
REST API listens on a free loopback port and is reached with freqtrade-client. ``kill`` sends SIGKILL
(a crash), ``stop`` SIGTERM; the fixture always reaps the process.

A port chosen free can be taken before the bot binds it (other test sessions run beside this one): the
port is chosen where the kernel hands out no ports of its own, the API password is this session's own (a
bot of another session that holds the port answers Unauthorized, never as ours), and a bot whose API
could not bind is restarted on another port.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from freqtrade_client import FtRestClient

from ts_plugin.strategy.health_identity import health_file_name

ROOT = Path(__file__).resolve().parents[2]
API_USER, API_PASSWORD = "tester", f"not-a-secret-{secrets.token_hex(8)}"
# Below the kernel's ephemeral range (Linux 32768-60999, BSD and macOS 49152-65535): no outgoing
# connection and no bind to port 0 takes a port from here between its choice and the bot's bind.
LISTEN_PORTS = (20000, 32767)
PORT_TAKEN = "error while attempting to bind on address"  # uvicorn's log line; freqtrade runs on without API


def free_port() -> int:
    """A loopback port nothing listens on now, picked at random (parallel sessions rarely meet)."""
    for _ in range(1000):
        port = random.randint(*LISTEN_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {LISTEN_PORTS}")


def health_file(workdir: Path, db_url: str | None = None) -> Path:
    """The health file a bot in ``workdir`` writes (by default its database is ``tradesv3.sqlite`` there)."""
    return workdir / "user_data" / health_file_name(db_url or f"sqlite:///{workdir / 'tradesv3.sqlite'}")


class BotDied(RuntimeError):
    """The bot process ended while a test waited for it: fail at once, with its log."""


class PortTaken(BotDied):
    """The bot's REST API could not bind its port: something else took it after it was chosen."""


def wait_until(condition: Callable[[], Any], timeout: float, what: str, poll: float = 0.25) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except BotDied:
            raise
        except Exception as exc:  # the bot may still be starting
            last_error = exc
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


class BotProcess:
    def __init__(self, workdir: Path, config: dict, strategy: str, strategy_path: Path,
                 environment: dict[str, str] | None = None, db_url: str | None = None) -> None:
        self.workdir = workdir
        self.environment = environment or {}
        self.config = config
        self.strategy = strategy
        self.strategy_path = strategy_path
        self.api_port = config["api_server"]["listen_port"]
        self.db = workdir / "tradesv3.sqlite"  # used unless db_url names another database
        self.db_url = db_url or f"sqlite:///{self.db}"
        # freqtrade logs to stderr, captured here; one file per process (restarts reuse the workdir)
        self.log = workdir / f"bot-{len(list(workdir.glob('bot-*.log')))}.log"
        self.process: subprocess.Popen | None = None
        self.client = FtRestClient(f"http://127.0.0.1:{self.api_port}", API_USER, API_PASSWORD)

    @property
    def health_file(self) -> Path:
        """The plugin's health file of this bot: each bot's is named after its database."""
        return health_file(self.workdir, self.db_url)

    def start(self, timeout: float = 90, attempts: int = 3) -> "BotProcess":
        """Start the bot and wait for its REST API; on another port when the chosen one was taken."""
        for attempt in range(attempts):
            try:
                return self._launch(timeout)
            except PortTaken:
                if attempt == attempts - 1:
                    raise
                self.kill()
                self.api_port = self.config["api_server"]["listen_port"] = free_port()
                self.client = FtRestClient(f"http://127.0.0.1:{self.api_port}", API_USER, API_PASSWORD)
        raise AssertionError("unreachable")

    def _launch(self, timeout: float) -> "BotProcess":
        config_file = self.workdir / "config.json"
        config_file.write_text(json.dumps(self.config, indent=2))
        command = [
            sys.executable, "-m", "freqtrade", "trade",
            "--config", str(config_file),
            "--strategy", self.strategy,
            "--strategy-path", str(self.strategy_path),
            "--db-url", self.db_url,
            "--userdir", str(self.workdir / "user_data"),
        ]
        (self.workdir / "user_data").mkdir(exist_ok=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.environment}
        self._log_from = self.log.stat().st_size if self.log.exists() else 0  # this launch's part
        with open(self.log, "ab") as output:
            self.process = subprocess.Popen(command, cwd=self.workdir, env=env,
                                            stdout=output, stderr=subprocess.STDOUT)
        wait_until(self._running, timeout, "the bot's REST API")
        return self

    def _running(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise BotDied(f"bot exited with {self.process.returncode}:\n{self.log_tail()}")
        if PORT_TAKEN in self.log.read_bytes()[self._log_from:].decode(errors="replace"):
            raise PortTaken(f"port {self.api_port} taken before the bot could bind it")
        return self.client.ping() == {"status": "pong"} and self.client.show_config()["state"] == "running"

    def log_tail(self, lines: int = 60) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def events(self, name: str) -> int:
        """How many times the plugin logged event ``name`` (not counting relayed messages)."""
        return sum(1 for line in self.log_text().splitlines()
                   if " - ts_plugin - " in line and f"event={name} " in line + " ")

    def kill(self) -> None:
        """SIGKILL: the crash case, nothing gets to clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
