"""The recordings kept in ``recordings/`` and ccxt's reading of them.

``parse_recorded`` runs the ccxt method on the recorded input with the client's HTTP layer answering
the recorded answer (how ccxt's own static tests replay them), so the real answer is read by exactly
the code that reads the sandbox's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import ccxt

RECORDINGS = Path(__file__).parent / "recordings"


def recording(name: str) -> dict:
    return json.loads((RECORDINGS / name).read_text())


def entry(name: str, key: str) -> dict:
    return recording(name)["entries"][key]


def snake(name: str) -> str:
    """ccxt's Python name of a method ("fetchOpenOrders" -> "fetch_open_orders")."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def replaying(client: ccxt.Exchange, answer: Any) -> ccxt.Exchange:
    """A copy of a loaded ``client`` whose every request answers ``answer``."""
    replay = type(client)({"apiKey": "k", "secret": "s", "options": dict(client.options)})
    replay.set_markets(client.markets, client.currencies)
    replay.fetch = lambda *args, **kwargs: json.loads(json.dumps(answer))
    return replay


def parse_recorded(client: ccxt.Exchange, recorded: dict, method: str | None = None,
                   args: list | None = None) -> Any:
    """ccxt's result for the recorded input (or ``args``) read from the recorded answer."""
    replay = replaying(client, recorded["httpResponse"])
    call = getattr(replay, snake(method or recorded["method"]))
    return call(*(recorded["input"] if args is None else args))


def raw(client: ccxt.Exchange) -> Any:
    """The sandbox's raw JSON answer to the client's last request (the client keeps it)."""
    assert client.enableLastJsonResponse, "create the client with enableLastJsonResponse"
    return client.last_json_response
