"""ccxt's own clients against the sandbox in HTTPS-proxy mode (ccxt keeps the exchange's real URLs and
error mapping), with the throwaway CA trusted through the environment, as a bot process trusts it."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import ccxt

from ts_plugin.sandbox.tls_proxy import SandboxProxy


def proxied_client(proxy: SandboxProxy, monkeypatch, exchange_id: str, options: dict) -> ccxt.Exchange:
    """A loaded sync ccxt client of ``exchange_id`` through a running ``proxy``."""
    settings, environment = proxy.freqtrade_settings()
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    api = getattr(ccxt, exchange_id)({**settings["ccxt_config"], **settings["ccxt_sync_config"],
                                      "apiKey": "k", "secret": "s", "options": options})
    api.load_markets()
    return api


@contextmanager
def sandbox_client(sandbox, monkeypatch, exchange_id: str, options: dict) -> Iterator[ccxt.Exchange]:
    """A proxy in front of ``sandbox`` for the block, and a client through it."""
    with SandboxProxy(sandbox) as proxy:
        yield proxied_client(proxy, monkeypatch, exchange_id, options)
