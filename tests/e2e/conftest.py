"""End-to-end fixtures: a sandbox exchange and real `freqtrade trade` processes against it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.bot import BotProcess, free_port, wait_until
from tests.e2e.config import bot_config
from ts_plugin.sandbox import SandboxExchange
from ts_plugin.sandbox.tls_proxy import SandboxProxy

STRATEGIES = Path(__file__).parent / "strategies"
PAIR = "BTC/USDT"


@pytest.fixture
def sandbox():
    exchange = SandboxExchange({PAIR: 100.0, "ETH/USDT": 50.0}).start()
    yield exchange
    exchange.stop()


@pytest.fixture
def proxy(sandbox):
    """HTTPS-proxy mode: the bot's ccxt keeps Binance's real URLs; the sandbox answers them."""
    tunnel = SandboxProxy(sandbox).start()
    yield tunnel
    tunnel.stop()


@pytest.fixture
def start_bot(proxy, tmp_path):
    """start_bot(dry_run=..., smart_trailing=...) -> a running bot; every bot is reaped at the end.

    ``pairs`` replaces the whitelist; ``config_options`` go to ``bot_config`` (e.g. trading_mode);
    ``strategy`` names the strategy class in ``tests/e2e/strategies`` (``E2ETrailing`` by default);
    ``extra_config`` adds top-level sections (e.g. ``webhook``); ``db_url`` replaces the bot's own
    ``tradesv3.sqlite`` in its folder."""
    bots: list[BotProcess] = []
    exchange_settings, environment = proxy.freqtrade_settings()

    def start(dry_run: bool = True, smart_trailing: dict | None = None, workdir: Path | None = None,
              api_port: int | None = None, pairs: list[str] | None = None, strategy: str = "E2ETrailing",
              extra_config: dict | None = None, db_url: str | None = None, **config_options) -> BotProcess:
        folder = workdir or tmp_path / f"bot{len(bots)}"
        folder.mkdir(exist_ok=True)
        config = bot_config(exchange_settings, api_port or free_port(), pairs or [PAIR, "ETH/USDT"],
                            dry_run=dry_run, smart_trailing=smart_trailing, **config_options)
        config.update(extra_config or {})
        bot = BotProcess(folder, config, strategy, STRATEGIES, environment, db_url=db_url)
        bots.append(bot)
        return bot.start()

    yield start
    for bot in bots:
        bot.kill()


def open_trade(bot: BotProcess, pair: str = PAIR) -> dict | None:
    trades = [t for t in bot.client.status() if t["pair"] == pair]
    return trades[0] if trades and not trades[0].get("has_open_orders") else None


def stored_state(bot: BotProcess, trade_id: int) -> dict | None:
    """The trade's smart_trailing object as the REST API (freqtrade-client) shows it."""
    answer = bot.client.list_custom_data(trade_id, key="smart_trailing")
    entries = answer if isinstance(answer, list) else [answer]
    for entry in entries:
        for item in entry.get("custom_data", []):
            if item["key"] == "smart_trailing":
                value = item["value"]
                return json.loads(value) if isinstance(value, str) else value
    return None


def closed_trade(bot: BotProcess, trade_id: int) -> dict | None:
    trade = bot.client.trade(trade_id)
    return trade if trade and not trade.get("is_open") else None


def enter(bot: BotProcess, pair: str = PAIR) -> dict:
    bot.client.forceenter(pair, "long")
    return wait_until(lambda: open_trade(bot, pair), 60, f"the forced entry on {pair} to fill")
