"""Where the plugin's alarms go: which of freqtrade's notification channels deliver strategy messages.

The plugin's messages (its events, the exchange alarms, the settings in force) go out through
``dp.send_msg``. freqtrade queues them and, once per iteration, hands each to every enabled channel
whose block has ``allow_custom_messages`` true (``RPCManager.process_msg_queue``). What the channel
then does with it differs (read from freqtrade's ``rpc`` package):

- telegram: sends the text, unless ``notification_settings.strategy_msg`` is ``"off"``. freqtrade's
  config schema gives ``telegram.allow_custom_messages`` the default true, so only an explicit false
  drops the messages.
- webhook: no default (absent means dropped), and even when allowed the webhook sends a strategy
  message only when its block has a ``strategy_msg`` payload (e.g. ``{"text": "{msg}"}``); without
  one it drops it without a word.
- discord: like the webhook, with ``strategy_msg`` fields (e.g. ``[{"Smart trailing": "{msg}"}]``).

So in a default set-up the alarm that says a trade has no stop on the exchange may reach no one: the
plugin checks the channels at start-up and says which ones drop its messages and what to set.
Pure: a freqtrade config goes in, a verdict comes out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

logger = logging.getLogger("ts_plugin")

CHANNELS = ("telegram", "webhook", "discord")
# What each channel needs besides allow_custom_messages (None: nothing), written as the operator sets it.
PAYLOAD_EXAMPLES = {"webhook": '{"text": "{msg}"}', "discord": '[{"Smart trailing": "{msg}"}]'}


@dataclass(frozen=True)
class Undelivered:
    """An enabled channel that drops the plugin's messages, and the keys that would let them through."""

    channel: str
    fixes: tuple[str, ...]  # e.g. "webhook.allow_custom_messages: true"

    def describe(self) -> str:
        return f"{self.channel} (set {' and '.join(self.fixes)})"


@dataclass(frozen=True)
class Delivery:
    """Which enabled channels carry the plugin's messages and which drop them."""

    delivered: tuple[str, ...]
    undelivered: tuple[Undelivered, ...]

    @property
    def log_only(self) -> bool:
        """No channel is enabled at all: alarms go to the log only."""
        return not self.delivered and not self.undelivered

    def summary(self) -> str:
        """One phrase for the settings line and status: ``telegram, webhook``, ``log only``,
        ``telegram; not delivered to webhook``."""
        if self.log_only:
            return "log only"
        parts = [", ".join(self.delivered)] if self.delivered else []
        if self.undelivered:
            parts.append("not delivered to " + ", ".join(u.channel for u in self.undelivered))
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"delivered_to": list(self.delivered),
                "not_delivered_to": {u.channel: list(u.fixes) for u in self.undelivered}}


def _block(config: Mapping[str, Any], channel: str) -> Mapping[str, Any] | None:
    block = config.get(channel)
    return block if isinstance(block, Mapping) and block.get("enabled", False) else None


def _fixes(channel: str, block: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys ``channel`` lacks to deliver strategy messages (empty: it delivers them)."""
    fixes: list[str] = []
    if channel == "telegram":
        if not block.get("allow_custom_messages", True):  # the schema's default is true
            fixes.append("telegram.allow_custom_messages: true")
        settings = block.get("notification_settings")
        if isinstance(settings, Mapping) and settings.get("strategy_msg") == "off":
            fixes.append('telegram.notification_settings.strategy_msg: "on"')
        return tuple(fixes)
    if not block.get("allow_custom_messages", False):
        fixes.append(f"{channel}.allow_custom_messages: true")
    if not block.get("strategy_msg"):
        fixes.append(f"{channel}.strategy_msg: {PAYLOAD_EXAMPLES[channel]}")
    return tuple(fixes)


def check_delivery(config: Mapping[str, Any]) -> Delivery:
    """Which of the enabled channels of freqtrade ``config`` deliver the plugin's messages."""
    delivered: list[str] = []
    undelivered: list[Undelivered] = []
    for channel in CHANNELS:
        block = _block(config, channel)
        if block is None:
            continue
        fixes = _fixes(channel, block)
        if fixes:
            undelivered.append(Undelivered(channel, fixes))
        else:
            delivered.append(channel)
    return Delivery(tuple(delivered), tuple(undelivered))


def startup_lines(delivery: Delivery) -> list[tuple[str, str]]:
    """(level, text) to log at start-up: a WARNING per channel that drops the alarms, an INFO when
    none is enabled."""
    if delivery.log_only:
        return [("INFO", "smart_trailing: no notification channel (telegram, webhook, discord) is enabled: "
                         "the plugin's alarms go to the log only")]
    return [("WARNING", f"smart_trailing: alarms not delivered to {u.channel}: freqtrade drops strategy "
                        f"messages there; set {' and '.join(u.fixes)} in config.json")
            for u in delivery.undelivered]


def announce(config: Mapping[str, Any]) -> Delivery:
    """Check ``config``'s channels and log what ``startup_lines`` says; the verdict is kept by the
    strategy for the settings line and the health view."""
    delivery = check_delivery(config)
    for level, text in startup_lines(delivery):
        logger.log(logging.WARNING if level == "WARNING" else logging.INFO, text)
    return delivery
