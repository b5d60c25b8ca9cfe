"""Which notification channels carry the plugin's alarms: the start-up check against freqtrade's rule.

The rule is checked against freqtrade itself: a strategy message is put through freqtrade's real
``RPCManager.process_msg_queue`` and its real Telegram / Webhook / Discord handlers (only the HTTP post
and Telegram's send coroutine are replaced), on configs validated by freqtrade's own schema (which
fills its defaults); a channel the check calls delivered must send, one it calls undelivered must not.
"""

from __future__ import annotations

import logging
from collections import deque
from contextlib import ExitStack
from unittest.mock import MagicMock, patch

from freqtrade.config_schema.config_schema import CONF_SCHEMA
from freqtrade.configuration.config_validation import FreqtradeValidator
from freqtrade.rpc.discord import Discord
from freqtrade.rpc.rpc_manager import RPCManager
from freqtrade.rpc.telegram import Telegram
from freqtrade.rpc.webhook import Webhook
from hypothesis import given, settings
from hypothesis import strategies as st

from ts_plugin.strategy.alarm_delivery import check_delivery, startup_lines
from tests.freqtrade_helpers import make_strategy

ALARM = "\N{WARNING SIGN} Smart trailing: trade 3 BTC/USDT has no live stop order on the exchange"


def _validated(config: dict) -> dict:
    """``config`` as freqtrade's schema validation leaves it (defaults filled in place)."""
    schema = {"type": "object", "properties": {c: CONF_SCHEMA["properties"][c]
                                                for c in ("telegram", "webhook", "discord")}}
    FreqtradeValidator(schema).validate(config)
    return config


def _sent_by_freqtrade(config: dict) -> set[str]:
    """The enabled channels freqtrade's real handlers send a queued strategy message to (their
    outgoing call replaced by a mock)."""
    sent: dict[str, MagicMock] = {}
    manager = RPCManager.__new__(RPCManager)
    manager.registered_modules = []
    with ExitStack() as stack:
        if config.get("telegram", {}).get("enabled"):
            telegram = Telegram.__new__(Telegram)
            telegram._config, telegram._loop = config, None
            sent["telegram"] = stack.enter_context(
                patch("freqtrade.rpc.telegram.asyncio.run_coroutine_threadsafe"))
            stack.enter_context(patch.object(telegram, "_send_msg", lambda message, **kw: message))
            manager.registered_modules.append(telegram)
        for channel, cls, url_key in (("webhook", Webhook, "url"), ("discord", Discord, "webhook_url")):
            if config.get(channel, {}).get("enabled"):
                config[channel].setdefault(url_key, "http://127.0.0.1:9/")
                handler = cls(None, config) if cls is Discord else cls(MagicMock(), config)
                sent[channel] = stack.enter_context(patch.object(handler, "_send_msg"))
                manager.registered_modules.append(handler)
        manager.process_msg_queue(deque([ALARM]))
    return {channel for channel, call in sent.items() if call.called}


_ALLOW = st.sampled_from([None, True, False])
_STRATEGY_MSG = {"webhook": st.sampled_from([None, {}, {"text": "{msg}"}]),
                 "discord": st.sampled_from([None, [], [{"Smart trailing": "{msg}"}]])}


@st.composite
def channel_configs(draw) -> dict:
    config: dict = {}
    for channel in ("telegram", "webhook", "discord"):
        if not draw(st.booleans()):
            continue
        block: dict = {"enabled": draw(st.booleans())}
        allow = draw(_ALLOW)
        if allow is not None:
            block["allow_custom_messages"] = allow
        if channel == "telegram":
            block.update(token="123:abc", chat_id="1")
            noti = draw(st.sampled_from([None, "on", "silent", "off"]))
            if noti is not None:
                block["notification_settings"] = {"strategy_msg": noti}
        else:
            payload = draw(_STRATEGY_MSG[channel])
            if payload is not None:
                block["strategy_msg"] = payload
        config[channel] = block
    return config


@settings(max_examples=150, deadline=None)
@given(config=channel_configs())
def test_the_check_agrees_with_freqtrades_own_handlers(config):
    validated = _validated(config)
    delivery = check_delivery(validated)
    sent = _sent_by_freqtrade(validated)
    assert set(delivery.delivered) == sent, (config, delivery)
    enabled = {c for c in ("telegram", "webhook", "discord") if config.get(c, {}).get("enabled")}
    assert {u.channel for u in delivery.undelivered} == enabled - sent


def test_a_webhook_without_the_key_names_both_keys_it_needs():
    delivery = check_delivery({"webhook": {"enabled": True, "url": "http://x"}})
    assert delivery.delivered == () and delivery.summary() == "not delivered to webhook"
    (dropped,) = delivery.undelivered
    assert dropped.fixes == ("webhook.allow_custom_messages: true", 'webhook.strategy_msg: {"text": "{msg}"}')


def test_telegram_delivers_by_default_and_an_explicit_false_is_named():
    assert check_delivery({"telegram": {"enabled": True}}).delivered == ("telegram",)
    (dropped,) = check_delivery({"telegram": {"enabled": True, "allow_custom_messages": False}}).undelivered
    assert dropped.fixes == ("telegram.allow_custom_messages: true",)


def test_no_channel_at_all_is_said_once_at_info_and_disabled_ones_do_not_count():
    delivery = check_delivery({"webhook": {"enabled": False}, "telegram": {"enabled": False}})
    assert delivery.log_only and delivery.summary() == "log only"
    assert startup_lines(delivery) == [("INFO", "smart_trailing: no notification channel (telegram, webhook, "
                                                "discord) is enabled: the plugin's alarms go to the log only")]


def _started(config_blocks: dict, caplog, notify: bool = True):
    strategy = make_strategy(notify=notify)
    strategy.config.update(config_blocks)
    with caplog.at_level(logging.INFO, logger="ts_plugin"):
        strategy.ft_bot_start()
    return strategy


def test_start_up_warns_naming_the_channel_and_the_key(caplog):
    strategy = _started({"telegram": {"enabled": True, "allow_custom_messages": False},
                         "webhook": {"enabled": True, "url": "http://x", "allow_custom_messages": True,
                                     "strategy_msg": {"text": "{msg}"}}}, caplog)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["smart_trailing: alarms not delivered to telegram: freqtrade drops strategy messages "
                        "there; set telegram.allow_custom_messages: true in config.json"]
    settings_line = next(r.getMessage() for r in caplog.records
                         if r.getMessage().startswith("smart_trailing settings in force"))
    assert "alarms=webhook; not delivered to telegram [freqtrade channels]" in settings_line
    from ts_plugin.tools.diagnose.logs import parse_settings
    from ts_plugin.tools.diagnose.rules import rules_from_settings

    assert rules_from_settings(parse_settings(settings_line)).from_bot  # diagnose still reads the line
    from ts_plugin.strategy.health import snapshot

    assert snapshot(strategy, 0.0)["alarms"] == {
        "summary": "webhook; not delivered to telegram", "delivered_to": ["webhook"],
        "not_delivered_to": {"telegram": ["telegram.allow_custom_messages: true"]}}


def test_start_up_without_any_channel_says_log_only_once_at_info(caplog):
    _started({}, caplog)
    lines = [r for r in caplog.records if "go to the log only" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_with_notify_off_nothing_is_checked(caplog):
    _started({"webhook": {"enabled": True, "url": "http://x"}}, caplog, notify=False)
    assert "alarms" not in caplog.text and "log only" not in caplog.text


def test_diagnose_says_alarms_not_delivered_to_a_channel():
    """The health line the bot logs carries the channel check; diagnose reports it as a problem."""
    from tests.test_diagnose_checks import RULES, health, series, snapshot
    from ts_plugin.tools.diagnose.verdict import findings

    line = {**health(), "alarms": {"summary": "not delivered to telegram", "delivered_to": [],
                                   "not_delivered_to": {"telegram": ["telegram.allow_custom_messages: true"]}}}
    problems, _ = findings(series(snapshot(health_line=line), snapshot(health_line=line)),
                           RULES)
    assert [f.text for f in problems] == [
        "alarms not delivered to telegram: set telegram.allow_custom_messages: true in the bot's config"]
