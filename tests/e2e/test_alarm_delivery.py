"""Issue 13.1 end to end: the plugin's alarms reach a person through a real bot's webhook.

A real ``freqtrade trade`` bot (live, real ccxt against the sandbox) with the webhook block exactly as
the README shows it, pointed at a receiver on 127.0.0.1: the exchange refuses every stop of the
trade, the reconciliation finds it unprotected, and the alarm arrives at the receiver written for
people. Without the webhook's keys freqtrade drops strategy messages: the bot says so at start-up
(WARNING naming the keys) and in its health file, and ``ts-plugin status`` shows it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import PAIR, enter
from tests.e2e.test_live_spot import SETTINGS, health
from tests.e2e.test_status_live import status
from tests.e2e.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
UNPROTECTED = "open trade has no live stop order on the exchange"
# Binance's answer to a stop the account cannot cover: ccxt raises InsufficientFunds, freqtrade logs it
# and keeps the trade open with no stop (it retries every iteration), the plugin's create fails.
REFUSED = {"kind": "error", "code": -2010, "msg": "Account has insufficient balance for requested action.",
           "times": 100_000, "when": {"type": "STOP_LOSS_LIMIT"}}


def readme_webhook(url: str) -> dict:
    """The webhook block of the README's "Alarms" section, with the receiver's address."""
    section = README.read_text().split("## Alarms: what is sent and what to enable", 1)[1]
    block = re.search(r"```json\n(\"webhook\": \{.*?\n\})\n```", section, re.S).group(1)
    webhook = json.loads("{" + block + "}")["webhook"]
    return {**webhook, "url": url}


def texts(receiver: WebhookReceiver) -> list[str]:
    """What arrived, as the text of the README's ``{"text": "{msg}"}`` payload."""
    found = []
    for body in receiver.received():
        try:
            found.append(str(json.loads(body)["text"]))
        except (ValueError, KeyError, TypeError):
            found.append(body)
    return found


def test_the_unprotected_alarm_reaches_a_webhook_set_up_as_the_readme_says(sandbox, start_bot):
    with WebhookReceiver() as receiver:
        bot = start_bot(dry_run=False, smart_trailing=SETTINGS,
                        extra_config={"webhook": readme_webhook(receiver.url)})
        log = " ".join(bot.log_text().split())  # freqtrade's log handler wraps long lines
        assert "alarms not delivered" not in log and "alarms=webhook [freqtrade channels]" in log
        sandbox.faults.add("POST /api/v3/order", REFUSED)
        trade = enter(bot)
        alarm = wait_until(lambda: [t for t in texts(receiver) if UNPROTECTED in t], 120,
                           "the unprotected alarm at the webhook receiver")[0]
    # written for people, as the README's event messages: what, pair and trade, the reason in words
    assert alarm.startswith("\N{SHIELD} *Smart trailing:* ")
    assert f"{PAIR} (#{trade['trade_id']})" in alarm and f"*Reason:* `{UNPROTECTED}`" in alarm
    assert "event=" not in alarm and "trade_id=" not in alarm
    assert any(t.startswith("\N{SHIELD} *Smart trailing:* settings in force") for t in texts(receiver))
    assert health(bot)["alarms"]["delivered_to"] == ["webhook"]


def test_a_webhook_without_the_keys_is_named_at_start_up_and_in_status(sandbox, start_bot):
    with WebhookReceiver() as receiver:
        webhook = {"enabled": True, "url": receiver.url, "format": "json",
                   "webhookstatus": {"text": "{status}"}}  # freqtrade's own messages only
        bot = start_bot(dry_run=False, smart_trailing=SETTINGS, extra_config={"webhook": webhook})
        log = " ".join(bot.log_text().split())  # freqtrade's log handler wraps long lines
        assert log.count("alarms not delivered") == 1 and (
            " - ts_plugin - WARNING - smart_trailing: alarms not delivered to webhook: freqtrade drops strategy "
            'messages there; set webhook.allow_custom_messages: true and webhook.strategy_msg: {"text": "{msg}"} '
            "in config.json") in log
        assert "alarms=not delivered to webhook [freqtrade channels]" in log
        wait_until(lambda: health(bot).get("alarms"), 60, "the health file")
        assert health(bot)["alarms"]["not_delivered_to"] == {"webhook": [
            "webhook.allow_custom_messages: true", 'webhook.strategy_msg: {"text": "{msg}"}']}
        enter(bot)  # a trade: status has plugin state to show
        done = wait_until(lambda: (d := status(bot)).returncode == 0 and d, 60, "status of the trade")
        assert "alarms not delivered to webhook: set webhook.allow_custom_messages: true and " \
               'webhook.strategy_msg: {"text": "{msg}"} in the bot\'s config' in done.stdout
        # freqtrade's own messages arrived (the bot has run many iterations since its start-up queued
        # the plugin's settings message); none of the plugin's
        assert texts(receiver) and not any("Smart trailing" in t for t in texts(receiver))
