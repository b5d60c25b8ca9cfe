"""``/trailing`` through freqtrade's real Telegram class: the authorised chat gets the table, another
chat gets nothing, and a freqtrade that does not hold its Telegram handler as expected gives one
WARNING and a bot that runs on. Only Telegram's HTTP seam is a stand-in (telegram_api_stand_in.py)."""

from __future__ import annotations

import logging
import threading
import time
from types import SimpleNamespace

import pytest
from freqtrade.data.dataprovider import DataProvider
from freqtrade.rpc.rpc_manager import RPCManager
from freqtrade.rpc.telegram import Telegram
from telegram.request import HTTPXRequest

from tests.freqtrade_helpers import OPENED, add_trade, make_strategy, tick
from tests.test_readonly_db import _open
from tests.telegram_api_stand_in import TelegramApiStandIn
from ts_plugin.strategy.telegram_command import COMMAND, MENU_DESCRIPTION, Registration

CHAT = 1111
OTHER_CHAT = 2222


def _telegram_config(**extra) -> dict:
    return {"enabled": True, "token": "123456:stand-in-token", "chat_id": str(CHAT), **extra}


@pytest.fixture
def api(mocker):
    stand_in = TelegramApiStandIn(listed_commands=[{"command": "status", "description": "Open trades"}])
    mocker.patch.object(HTTPXRequest, "do_request", stand_in.do_request)
    return stand_in


@pytest.fixture
def running_bot(db, api):
    """A dry-run strategy started by freqtrade's real RPC manager and Telegram handler, one open trade."""
    strategy = make_strategy()
    strategy.config["user_data_dir"] = db.parent  # the health file goes there, not into the working folder
    strategy.config["telegram"] = _telegram_config()
    manager = RPCManager(SimpleNamespace(config=strategy.config))
    (telegram,) = manager.registered_modules
    assert isinstance(telegram, Telegram)
    strategy.dp = DataProvider(strategy.config, None, rpc=manager)
    try:  # Telegram's thread is not a daemon: stopped whatever happens, or pytest never ends
        trade = _open(strategy, 50000.0)  # entry filled, prices in 0.01 ticks
        tick(strategy, trade, 52000, 0)  # ACTIVE at once: the stop trails 0.5 % behind 52000
        _start(strategy, manager)
        yield strategy, trade, api
    finally:
        _stop(manager)


def _wait_for_telegrams_loop(telegram) -> None:
    """Wait for the condition the plugin's registration waits for: Telegram's thread made its loop."""
    deadline = time.monotonic() + 60
    while getattr(telegram, "_loop", None) is None:
        assert time.monotonic() < deadline, "Telegram's thread never made its loop"
        time.sleep(0.01)


def _stop(manager) -> None:
    """freqtrade's clean-up, once Telegram is polling: cleaned up before, freqtrade's Telegram thread
    starts polling afterwards and never ends (its clean-up stops an updater not yet running)."""
    (telegram,) = manager.registered_modules
    _wait_for_telegrams_loop(telegram)
    deadline = time.monotonic() + 60
    while not (getattr(telegram, "_app", None) is not None and telegram._app.updater.running):
        assert time.monotonic() < deadline, "Telegram never started polling"
        time.sleep(0.01)
    manager.cleanup()


def _start(strategy, manager) -> None:
    """freqtrade's start-up as the bot runs it: bot_start, then loop starts (one is enough once
    Telegram's thread has made its loop; the bot makes one every few seconds)."""
    strategy.ft_bot_start()
    _wait_for_telegrams_loop(manager.registered_modules[0])
    strategy.bot_loop_start(current_time=OPENED)
    assert strategy._ts_telegram.status is Registration.SCHEDULED


def _replies(api) -> list[str]:
    return [sent["text"] for sent in api.sent]


def test_authorised_chat_gets_each_open_trade(running_bot):
    strategy, trade, api = running_bot
    api.send_command("/trailing", CHAT)
    api.wait_for(lambda a: len(a.sent) == 1)
    (text,) = _replies(api)
    assert f"BTC/USDT (#{trade.id})" in text and "`long`" in text
    assert "*Phase:* `ACTIVE`" in text
    assert "*Entry:* `50000.00 USDT`" in text and "*Peak:* `52000.00 USDT` (`+4.00%`)" in text
    assert "*Bot stop:* `51740.00 USDT` (locks in `+3.48%`)" in text
    assert "*Warnings:* none" in text
    assert int(api.sent[0]["chat_id"]) == CHAT
    # and listed in the bot's command menu, beside the commands already there
    api.wait_for(lambda a: a.menu_updates == 1)
    assert [c["command"] for c in api.commands] == ["status", COMMAND]
    assert api.commands[-1]["description"] == MENU_DESCRIPTION


def test_trade_id_argument_and_bad_argument(running_bot):
    strategy, trade, api = running_bot
    api.send_command(f"/trailing {trade.id}", CHAT)
    api.send_command("/trailing 999", CHAT)
    api.send_command("/trailing abc", CHAT)
    api.wait_for(lambda a: len(a.sent) == 3)
    first, missing, usage = _replies(api)
    assert f"(#{trade.id})" in first
    assert "no open trade #999" in missing
    assert usage.startswith("Usage: `/trailing`")


def test_another_chat_gets_nothing(running_bot):
    strategy, trade, api = running_bot
    api.send_command("/trailing", OTHER_CHAT)
    api.send_command("/trailing 999", CHAT)  # answered after the other chat's, handled in order
    api.wait_for(lambda a: len(a.sent) >= 1)
    assert [int(sent["chat_id"]) for sent in api.sent] == [CHAT]
    assert "no open trade #999" in _replies(api)[0]


def test_registered_at_a_later_loop_start_when_telegrams_thread_was_not_ready(db, api, mocker):
    """Telegram's thread makes its loop on its own time: not there yet at bot_start, the command is
    registered at the next loop start, without a warning."""
    ready = threading.Event()
    real_init = Telegram._init

    def late_init(telegram):
        ready.wait(60)
        real_init(telegram)

    mocker.patch.object(Telegram, "_init", late_init)
    strategy = make_strategy()
    strategy.config["user_data_dir"] = db.parent  # the health file goes there, not into the working folder
    strategy.config["telegram"] = _telegram_config()
    manager = RPCManager(SimpleNamespace(config=strategy.config))
    (telegram,) = manager.registered_modules
    strategy.dp = DataProvider(strategy.config, None, rpc=manager)
    try:
        strategy.ft_bot_start()
        assert strategy._ts_telegram.status is Registration.PENDING
        ready.set()
        _wait_for_telegrams_loop(telegram)
        strategy.bot_loop_start(current_time=OPENED)
        assert strategy._ts_telegram.status is Registration.SCHEDULED
        api.send_command("/trailing", CHAT)
        api.wait_for(lambda a: len(a.sent) == 1)
        assert "no open trade" in api.sent[0]["text"]
    finally:
        ready.set()
        _stop(manager)


def test_wrong_topic_gets_nothing(db, api):
    strategy = make_strategy()
    strategy.config["user_data_dir"] = db.parent  # the health file goes there, not into the working folder
    strategy.config["telegram"] = _telegram_config(topic_id="7")
    manager = RPCManager(SimpleNamespace(config=strategy.config))
    strategy.dp = DataProvider(strategy.config, None, rpc=manager)
    try:
        _start(strategy, manager)
        api.send_command("/trailing", CHAT, topic_id=8)
        api.send_command("/trailing", CHAT, topic_id=7)
        api.wait_for(lambda a: len(a.sent) >= 1)
        assert len(api.sent) == 1 and "no open trade" in api.sent[0]["text"]
        assert api.sent[0]["message_thread_id"] == "7"
    finally:
        _stop(manager)


class _ManagerOfAnotherVersion:
    """An RPC manager that does not list its handlers in ``registered_modules``."""

    handlers = ()

    def send_msg(self, msg):
        pass


def test_unexpected_freqtrade_layout_warns_once_and_runs_on(db, caplog):
    strategy = make_strategy()
    strategy.config["user_data_dir"] = db.parent  # the health file goes there, not into the working folder
    strategy.config["telegram"] = _telegram_config()
    strategy.dp = DataProvider(strategy.config, None, rpc=_ManagerOfAnotherVersion())
    trade = add_trade(50000.0)
    with caplog.at_level(logging.INFO, logger="ts_plugin"):
        strategy.ft_bot_start()
        for minutes in (0, 1, 2):
            strategy.bot_loop_start(current_time=OPENED)
            tick(strategy, trade, 52000 + minutes, minutes)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "/trailing" in r.getMessage()]
    assert len(warned) == 1 and "not as expected" in warned[0] and "registered_modules" in warned[0]
    assert strategy._ts_telegram.status is Registration.UNAVAILABLE
    assert strategy._ts_store.cache[trade.id].phase.value == "ACTIVE"  # the bot trailed on


def test_without_telegram_nothing_is_registered_or_said(db, caplog):
    strategy = make_strategy()
    strategy.dp = DataProvider(strategy.config, None, rpc=None)
    with caplog.at_level(logging.INFO, logger="ts_plugin"):
        strategy.ft_bot_start()
    assert strategy._ts_telegram.status is Registration.NO_TELEGRAM
    assert not [r for r in caplog.records if "/trailing" in r.getMessage()]
