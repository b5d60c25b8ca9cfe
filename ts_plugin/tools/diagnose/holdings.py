"""Does every coin (spot) or position (futures) on the exchange belong to an open trade? Pure.

A bot killed between an entry fill and freqtrade's commit of the trade leaves coins on the exchange
that no trade accounts for: nothing trails them and no stop protects them. The bot's own ``/balance``
lists what the exchange holds; the open trades (``/status``) say what the bot accounts for. For every
coin of a pair the bot trades (its whitelist and its open trades), held minus accounted must be
dust; a difference either way is a problem (coins without a trade, or a trade whose coins are gone).
Coins of pairs the bot does not trade are only noted (freqtrade assumes it owns the account; another
bot or a person may hold them). In futures each position must match the open trades on its pair and
side. A dry-run wallet is simulated from the trades themselves, so there is nothing to compare.

Dust: differences worth less than ``DUST_SHARE`` of one trade's stake (config ``stake_amount``, or
the bot's total over ``max_open_trades`` with an ``unlimited`` stake) are rounding and fee remains.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from ts_plugin.tools.diagnose import formatting as fmt
from ts_plugin.tools.diagnose.checks import Observation, Severity
from ts_plugin.tools.diagnose.snapshot import Snapshot

DUST_SHARE = 0.01


def dust_value(snapshot: Snapshot) -> float:
    """The value (stake currency) below which a difference is dust."""
    config, balance = snapshot.config, snapshot.balance
    try:
        stake = float(config.get("stake_amount"))
    except (TypeError, ValueError):
        stake = float("nan")
    if not math.isfinite(stake) or stake <= 0:
        slots = config.get("max_open_trades")
        total = float(balance.get("total_bot") or balance.get("total") or 0)
        slots = slots if isinstance(slots, (int, float)) and math.isfinite(slots) and slots > 0 else 1
        stake = total / slots
    return DUST_SHARE * stake


def _base(pair: str) -> str:
    return pair.split("/")[0]


def observe_holdings(snapshot: Snapshot) -> tuple[list[Observation], list[str]]:
    """(observations, one evidence line per coin or position compared)."""
    config = snapshot.config
    if config.get("dry_run"):
        return [], ["dry-run: the wallet is simulated from the trades, nothing to compare"]
    if config.get("trading_mode") == "futures":
        return _positions(snapshot)
    return _coins(snapshot)


def _coins(snapshot: Snapshot) -> tuple[list[Observation], list[str]]:
    stake_currency = snapshot.config.get("stake_currency")
    stake = stake_currency or ""
    dust = dust_value(snapshot)
    accounted: dict[str, float] = defaultdict(float)
    rate: dict[str, float] = {}
    busy: set[str] = set()
    for trade in snapshot.trades:
        coin = trade.get("base_currency") or _base(trade.get("pair", ""))
        accounted[coin] += float(trade.get("amount") or 0)
        if trade.get("quote_currency") == stake_currency and trade.get("current_rate"):
            rate[coin] = float(trade["current_rate"])
        if trade.get("has_open_orders"):
            busy.add(coin)
    held: dict[str, float] = {}
    for row in snapshot.balance.get("currencies") or ():
        if row.get("is_position") or row.get("currency") in (stake_currency, None):
            continue
        coin, total = row["currency"], float(row.get("balance") or 0)
        held[coin] = total
        if total > 0 and row.get("est_stake") and coin not in rate:
            rate[coin] = float(row["est_stake"]) / total
    traded = {_base(pair) for pair in snapshot.whitelist} | set(accounted)
    seen: list[Observation] = []
    evidence: list[str] = []
    for coin in sorted(set(held) | set(accounted)):
        difference = held.get(coin, 0.0) - accounted.get(coin, 0.0)
        worth = abs(difference) * rate[coin] if coin in rate else None
        line = (f"{coin}: {fmt.amount(held.get(coin, 0.0), coin)} held, open trades account for "
                f"{fmt.amount(accounted.get(coin, 0.0), coin)}")
        evidence.append(line)
        if difference == 0 or (worth < dust if worth is not None
                               else abs(difference) <= DUST_SHARE * max(held.get(coin, 0.0), accounted[coin])):
            continue
        worth_text = f" (about {fmt.value(worth, stake)})" if worth is not None else ""
        if coin in busy:
            seen.append(Observation("holding_mismatch", f"{coin} holding", Severity.NOTE,
                                    f"{line}: an order is in progress"))
        elif coin not in traded:
            if difference > 0:
                seen.append(Observation("foreign_holding", f"{coin} holding", Severity.NOTE,
                                        f"{fmt.amount(difference, coin)}{worth_text} held of a coin "
                                        "this bot does not trade"))
        elif difference > 0:
            seen.append(Observation("untracked_holding", f"{coin} holding", Severity.PROBLEM,
                                    f"{fmt.amount(difference, coin)}{worth_text} on the exchange that "
                                    "no open trade accounts for: no stop protects it"))
        else:
            seen.append(Observation("missing_holding", f"{coin} holding", Severity.PROBLEM,
                                    f"the open trades hold {fmt.amount(-difference, coin)}{worth_text} "
                                    "more than the exchange has: their exit will fail"))
    return seen, evidence


def _positions(snapshot: Snapshot) -> tuple[list[Observation], list[str]]:
    accounted: dict[tuple[str, str], float] = defaultdict(float)
    busy: set[tuple[str, str]] = set()
    for trade in snapshot.trades:
        key = (trade.get("pair", ""), "short" if trade.get("is_short") else "long")
        accounted[key] += float(trade.get("amount") or 0)
        if trade.get("has_open_orders"):
            busy.add(key)
    held: dict[tuple[str, str], float] = {}
    for row in snapshot.balance.get("currencies") or ():
        if row.get("is_position") and float(row.get("position") or 0):
            held[(row["currency"], row.get("side") or "long")] = float(row["position"])
    seen: list[Observation] = []
    evidence: list[str] = []
    for pair, side in sorted(set(held) | set(accounted)):
        have, want = held.get((pair, side), 0.0), accounted.get((pair, side), 0.0)
        coin = _base(pair)
        line = (f"{pair} {side}: position {fmt.amount(have, coin)}, open trades account for "
                f"{fmt.amount(want, coin)}")
        evidence.append(line)
        if abs(have - want) <= DUST_SHARE * max(have, want):
            continue
        subject = f"{pair} {side} position"
        if (pair, side) in busy:
            seen.append(Observation("position_mismatch", subject, Severity.NOTE, f"{line}: an order is in progress"))
        elif want == 0:
            seen.append(Observation("untracked_position", subject, Severity.PROBLEM,
                                    f"{line}: a position no open trade accounts for, no stop protects it"))
        else:
            seen.append(Observation("position_mismatch", subject, Severity.PROBLEM, line))
    return seen, evidence
