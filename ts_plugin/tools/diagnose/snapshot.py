"""One poll of one bot through its REST API (freqtrade-client), into plain data.

Read-only by construction: only GET endpoints are called (``show_config``, ``status``, the open
trades' custom data, ``balance``, ``whitelist``, ``logs``); nothing here can write to the bot's
database or reach its exchange. freqtrade-client answers ``None`` when the bot cannot be reached
and a ``{"detail": ...}`` object when the API refuses: both become a ``BotUnavailable`` that says
which, so the command can print one line instead of a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ts_plugin.tools.diagnose.logs import PluginLog, read_plugin_log

STATE_KEY = "smart_trailing"


class BotUnavailable(RuntimeError):
    """The bot could not be polled: unreachable, login refused, or not a freqtrade REST API."""


@dataclass(frozen=True)
class Target:
    """A bot to diagnose: its API URL (without credentials) and the login to use."""

    url: str
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, text: str, username: str | None, password: str | None) -> "Target":
        """``http://host:port`` (or ``http://user:password@host:port``, overriding the shared login)."""
        parts = urlsplit(text.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--api {text!r}: expected the bot's API address, e.g. http://127.0.0.1:8080")
        try:
            parts.port
        except ValueError:
            raise ValueError(f"--api {text!r}: the port is not a number") from None
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
        url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        return cls(url, parts.username or username, parts.password or password)


@dataclass(frozen=True)
class Snapshot:
    """What the bot reported at one poll (``taken_at``: this machine's clock, epoch seconds)."""

    taken_at: float
    config: dict[str, Any]
    trades: tuple[dict[str, Any], ...]
    states: dict[int, Any]  # trade id -> the stored smart_trailing value, as the API returned it
    balance: dict[str, Any]
    whitelist: tuple[str, ...]
    log: PluginLog = field(default_factory=PluginLog)


def _answer(client: Any, endpoint: str, call, expected: type, url: str) -> Any:
    import requests

    try:
        answer = call()
    except requests.RequestException as exc:
        raise BotUnavailable(f"{url}: no usable answer to /{endpoint} ({type(exc).__name__}: {exc})") from None
    if answer is None:
        raise BotUnavailable(f"{url}: cannot connect (is the bot running with its REST API on this address?)")
    if isinstance(answer, dict) and set(answer) == {"detail"}:
        detail = answer["detail"]
        if detail == "Unauthorized":
            raise BotUnavailable(f"{url}: login refused (check --username / --password)")
        if endpoint == "trades/open/custom-data" and "No open trades" in str(detail):
            return []
        raise BotUnavailable(f"{url}: /{endpoint} answered {detail!r}")
    if not isinstance(answer, expected):
        raise BotUnavailable(f"{url}: /{endpoint} answered {str(answer)[:200]!r}, not what freqtrade's "
                             "REST API answers (is this the bot's API address?)")
    return answer


def _stored_states(entries: list[Any]) -> dict[int, Any]:
    states: dict[int, Any] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        for item in entry.get("custom_data") or []:
            if isinstance(item, dict) and item.get("key") == STATE_KEY:
                value = item.get("value")
                if isinstance(value, str):  # stored as text by an older freqtrade
                    try:
                        value = json.loads(value)
                    except ValueError:
                        pass
                states[entry.get("trade_id")] = value
    return states


def poll(client: Any, url: str, now: float) -> Snapshot:
    """One snapshot of the bot behind ``client`` (a ``FtRestClient``); raises ``BotUnavailable``."""
    config = _answer(client, "show_config", client.show_config, dict, url)
    trades = _answer(client, "status", client.status, list, url)
    custom = _answer(client, "trades/open/custom-data",
                     lambda: client.list_open_trades_custom_data(key=STATE_KEY, limit=len(trades) + 100),
                     list, url)
    balance = _answer(client, "balance", client.balance, dict, url)
    whitelist = _answer(client, "whitelist", client.whitelist, dict, url)
    logs = _answer(client, "logs", client.logs, dict, url)
    return Snapshot(
        taken_at=now, config=config, trades=tuple(t for t in trades if isinstance(t, dict)),
        states=_stored_states(custom), balance=balance,
        whitelist=tuple(whitelist.get("whitelist") or ()),
        log=read_plugin_log(logs.get("logs") or []),
    )
