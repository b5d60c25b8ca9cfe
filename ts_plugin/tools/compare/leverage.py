"""The leverage compare maps freqtrade's built-in trailing at, read from the trades themselves.

freqtrade's built-in trails ``trailing_stop_positive / leverage`` behind the peak (the trade's own
leverage); the plugin's ``trail_distance`` is on price. So ``plugin-builtin`` (and the ablation rows
built on it) equal ``builtin`` only with the distance divided by the leverage the trades have. That
leverage comes from the strategy's ``leverage`` callback, which may answer differently by pair, time,
side or price, so compare does not guess it from the callback: it takes the leverages of the trades
of the variants already run (``off`` and ``builtin`` come first in table order; when neither was
chosen, the mapped variant's own run at leverage 1 shows them, and it is run again when they are one
other value). One value for every trade: the mapping uses it. Several: it stays at leverage 1 and
a NOTE names them, since no single distance matches every trade.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping


def trade_leverages(stats: Mapping[str, Any]) -> set[float]:
    """The leverages of the trades in freqtrade's stats of one run (spot trades: 1)."""
    return {float(trade.get("leverage") or 1.0) for trade in stats.get("trades", [])}


def constant(leverages: Iterable[float]) -> float | None:
    """The one leverage every trade had; None when there were no trades or several leverages."""
    found = set(leverages)
    return found.pop() if len(found) == 1 else None


def mapped_line(leverage: float) -> str:
    """The progress line saying the mapping follows the trades' leverage."""
    return (f"futures: every trade had leverage {leverage:g}: plugin-builtin (and the rows built on it) trail "
            f"trailing_stop_positive / {leverage:g} on price, as freqtrade's built-in does at that leverage")


def differing_note(leverages: Iterable[float]) -> str:
    """The NOTE when the trades' leverages differ: no one distance equals the built-in's."""
    named = ", ".join(f"{value:g}" for value in sorted(set(leverages)))
    return (f"NOTE: futures: the trades had leverages {named}: freqtrade's built-in trailing (builtin) trails "
            "trailing_stop_positive / each trade's leverage behind the peak, the plugin (plugin-builtin and the "
            "rows after it) trailing_stop_positive on price (leverage 1): those rows trail at different "
            "distances, not only the entry-candle pricing")
