"""The lines under the compare table: the largest differences between neighbouring variants, and their
causes in plain words (activation basis, fees, leverage, detail candles, the rule a row adds).

Each neighbouring pair of variants differs in one thing by construction (variants.py), so the cause of
a difference is known from which pair it is; the figures in the sentence come from the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ts_plugin.tools.compare import variants as v
from ts_plugin.tools.compare.table import BREAKEVEN_STOP, Row

SHOWN = 3  # the largest differences named under the table


@dataclass(frozen=True)
class Difference:
    """Total profit of ``after`` minus ``before`` (ratio) and why they differ."""

    before: str
    after: str
    delta: float
    cause: str

    def line(self) -> str:
        return f"{self.after} vs {self.before}: {self.delta * 100:+.2f} pp total profit. {self.cause}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.2f} %"


def _entry_candle(a: Row, b: Row, detail: str | None) -> str:
    if not (a.entry_candle_artefacts or b.entry_candle_artefacts):
        return "No trailing exit lost money on its entry candle in either."
    text = (f"Entry-candle trailing exits at a loss: {a.entry_candle_artefacts} vs {b.entry_candle_artefacts}; "
            "freqtrade prices a trailing exit on the entry candle by a worst case")
    if detail:
        return text + f" (with --timeframe-detail {detail} only the trade's first {detail} counts)."
    return text + ", which --timeframe-detail 1m (with 1m candles) makes realistic."


def _cause(before: Row, after: Row, settings: Mapping[str, Any], fee: float, detail: str | None,
           mapped_leverage: float = 1.0) -> str:
    pair = (before.name, after.name)
    if pair == (v.OFF, v.BUILTIN):
        return (f"freqtrade's trailing closed {after.exits['trailing_stop']} trades (average {_pct(after.avg_trailing_exit)}) "
                "that the strategy's own stop, ROI and exits closed otherwise.")
    if pair == (v.BUILTIN, v.PLUGIN_BUILTIN):
        return ("Same rule and numbers: the difference is where freqtrade prices stops moved on the entry candle "
                "(its own trailing and a custom stop get different worst cases). " + _entry_candle(before, after, detail))
    if pair == (v.PLUGIN_BUILTIN, v.YOURS):
        parts = []
        if settings.get("activation_basis", "price") == "price":
            parts.append(_activation(before, after, settings, fee))
        if mapped_leverage != 1 and settings.get("trail_distance") is not None:
            parts.append(f"Distance: the built-in semantics trail trailing_stop_positive / {mapped_leverage:g} "
                         f"on price (freqtrade divides it by the leverage), yours {settings['trail_distance']:g}.")
        rules = [key for key in v.RULES if settings.get(key)]
        if rules:
            parts.append(f"Your rules on top: {', '.join(rules)}.")
        parts.append(_entry_candle(before, after, detail))
        return " ".join(parts)
    if after.name == "+breakeven":
        return _breakeven(after, settings, fee)
    if after.name in v.RULES.values():
        return f"What {after.name[1:]} alone adds to the built-in semantics."
    if after.name == v.OPTIMISED:
        verdict = ("the optimum holds up on candles it never saw" if after.profit_total >= before.profit_total
                   else "the optimum does worse than your settings on candles it never saw: overfitted")
        return f"Hyperopt's best before the split, judged after it: {verdict}."
    return ""


def _activation(before: Row, after: Row, settings: Mapping[str, Any], fee: float) -> str:
    """Where each row arms, as a price move from the entry. freqtrade's profit ratio is about leverage x
    (price move - the round trip's fees), so the built-in's offset ``a`` is reached at a move of about
    a / leverage + 2 x fee; the plugin's price basis arms at a move of ``a`` whatever the leverage. On
    spot the built-in arms later than yours, at leverage 3 (a = 1.5 %) earlier."""
    activation = float(settings.get("activation_profit", 0.015))
    traded = after if after.trades else before
    leverage = traded.leverage or 1.0
    longs, shorts = traded.trades - traded.short_trades, traded.short_trades
    if shorts and not longs:
        level = f"entry x (1 - {activation:g})"
    elif shorts:
        level = f"entry x (1 + {activation:g}) for a long, x (1 - {activation:g}) for a short"
    else:
        level = f"entry x (1 + {activation:g})"
    builtin_move = activation / leverage + 2 * fee
    if activation < builtin_move:
        verdict = "yours trails earlier and locks smaller gains"
    elif activation > builtin_move:
        verdict = "yours trails later, only after larger moves"
    else:
        verdict = "both arm at about the same move"
    if leverage == 1:
        builtin = (f"the built-in once the profit after fees (about {2 * fee * 100:.2f} % for a round trip here) "
                   f"passes it, a move of about {builtin_move * 100:.2f} %")
    else:
        builtin = (f"at leverage {leverage:g} freqtrade's profit is about {leverage:g} x (the price move - "
                   f"the round trip's fees), so the built-in arms at a move of about {activation:g} / {leverage:g} "
                   f"+ the round trip's fees ({2 * fee * 100:.2f} %) = {builtin_move * 100:.2f} %")
    return (f"Activation basis: yours arms at {level} on price, a move of {activation * 100:.2f} % before fees; "
            f"{builtin}; so {verdict} (average trailing exit {_pct(after.avg_trailing_exit)} vs "
            f"{_pct(before.avg_trailing_exit)}).")


def _breakeven(after: Row, settings: Mapping[str, Any], fee: float) -> str:
    block = settings.get("breakeven") or {}
    offset, trigger = block.get("offset", 0.002), block.get("trigger_profit")
    text = (f"Breakeven alone: {after.exits[BREAKEVEN_STOP]} trades closed at the breakeven stop (entry + "
            f"{offset * 100:.2f} %, set once a trade is {trigger * 100 if trigger else 0:.2f} % up).")
    if offset <= 2 * fee:
        text += (f" Fees: that offset is no more than the round trip's fees ({2 * fee * 100:.2f} %), so each "
                 "such exit is at best flat after fees.")
    return text


def _neighbours(rows: list[Row]) -> list[tuple[Row, Row]]:
    by_name = {r.name: r for r in rows}
    pairs = [(v.OFF, v.BUILTIN), (v.BUILTIN, v.PLUGIN_BUILTIN), (v.PLUGIN_BUILTIN, v.YOURS),
             *((v.PLUGIN_BUILTIN, name) for name in v.RULES.values()), (v.YOURS, v.OPTIMISED)]
    return [(by_name[a], by_name[b]) for a, b in pairs if a in by_name and b in by_name]


def differences(rows: list[Row], settings: Mapping[str, Any], fee: float, detail: str | None,
                mapped_leverage: float = 1.0) -> list[Difference]:
    """Every neighbouring pair's difference, largest first. ``mapped_leverage``: the leverage
    plugin-builtin maps the built-in at (the comparison's ``Outcome.mapped_leverage``)."""
    found = [Difference(a.name, b.name, b.profit_total - a.profit_total,
                        _cause(a, b, settings, fee, detail, mapped_leverage))
             for a, b in _neighbours(rows)]
    return sorted(found, key=lambda d: abs(d.delta), reverse=True)


def explain(rows: list[Row], settings: Mapping[str, Any], fee: float, detail: str | None,
            mapped_leverage: float = 1.0) -> list[str]:
    """The lines under the table: the largest differences, then the entry-candle caveat when it applies."""
    found = differences(rows, settings, fee, detail, mapped_leverage)
    lines = [f"Largest differences (fee {fee * 100:.3f} % per side):"] if found else []
    lines += [f"- {d.line()}" for d in found[:SHOWN]]
    artefacts = max((r.entry_candle_artefacts for r in rows), default=0)
    if artefacts and not detail:
        lines.append(f"- Up to {artefacts} trailing exits per row lost money on their entry candle: without detail "
                     "candles freqtrade cannot tell the order of high and low inside a candle; rerun with "
                     "--timeframe-detail 1m where 1m candles exist.")
    return lines
