"""How the diagnosis writes numbers and times: the way freqtrade writes them, for people.

Prices at the pair's precision with the quote currency (``101.480 USDT``, as the plugin's messages
write them), amounts of a coin with up to 8 decimals (``0.9999 BTC``), values in the stake currency
with freqtrade's decimals per coin, ratios as signed percentages, times in UTC with their age
(``2026-01-05 12:00:00 UTC (3 minutes ago)``). ``now`` is always passed in: the checks are pure.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

import humanize

from ts_plugin.core.events import TradeView, format_price

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # freqtrade's DATETIME_PRINT_FORMAT


def view_of(trade: Mapping[str, Any]) -> TradeView:
    """The price view of a trade as the REST API shows it (``status()``)."""
    return TradeView(
        is_short=bool(trade.get("is_short")), entry=trade.get("open_rate"),
        leverage=float(trade.get("leverage") or 1.0), price_precision=trade.get("price_precision"),
        precision_mode=trade.get("precision_mode"), quote=trade.get("quote_currency"))


def price(value: float | None, trade: Mapping[str, Any]) -> str:
    return format_price(value, view_of(trade))


def amount(value: float, coin: str) -> str:
    text = f"{value:.8f}".rstrip("0").rstrip(".")
    return f"{text or '0'} {coin}"


def value(amount_in_stake: float, stake_currency: str) -> str:
    from freqtrade.util.formatters import fmt_coin

    return fmt_coin(amount_in_stake, stake_currency)


def pct(ratio: float) -> str:
    return f"{ratio:+.2%}"


def utc(epoch: float | None) -> str:
    if epoch is None:
        return "never"
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime(DATETIME_FORMAT) + " UTC"


def span(first: float, last: float) -> str:
    """``2026-01-05 12:00:00 to 12:00:10 UTC`` (the date once when both are on the same day)."""
    start, end = utc(first)[:-4], utc(last)[:-4]
    if start[:10] == end[:10]:
        end = end[11:]
    return f"{start} to {end} UTC"


def age(epoch: float, now: float) -> str:
    seconds = now - epoch
    if seconds < 0:
        return f"in {humanize.naturaldelta(-seconds)}"
    return "just now" if seconds < 1 else f"{humanize.naturaldelta(seconds)} ago"


def when(epoch: float | None, now: float) -> str:
    """``2026-01-05 12:00:00 UTC (3 minutes ago)``."""
    return "never" if epoch is None else f"{utc(epoch)} ({age(epoch, now)})"


def iso_epoch(text: Any) -> float | None:
    """Epoch seconds of an ISO-8601 time (the plugin's stored times and health line), else None."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
