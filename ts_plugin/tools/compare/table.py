"""One row per variant, from freqtrade's own result of it; the text table and the JSON of ``compare``.

Exits by phase reuse the plugin summary's classification (``summary.exit_kind``): for a plugin variant
the phase each trade was in when its exit filled (recorded by the mixin as it counts the exit); for
the variants without the plugin freqtrade's exit reason says it (``stop_loss``: the hard stop,
``trailing_stop_loss``: the built-in's trailing). ROI exits are counted apart from the strategy's own.
The give-back is the peak profit minus the exit profit, on price from the entry (before fees, times
leverage): how much of the best move a trade handed back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from statistics import median
from typing import Any, Mapping

from ts_plugin.strategy.mixin import CROSSED_EXIT_REASON
from ts_plugin.strategy.summary import (
    BREAKEVEN_STOP, CROSSED_STOP, EXIT_KINDS, HARD_STOP, OTHER, STRATEGY_EXIT, TRAILING_STOP, exit_kind,
    is_losing_entry_candle_trailing_exit)

ROI = "roi"
KINDS = (HARD_STOP, BREAKEVEN_STOP, TRAILING_STOP, CROSSED_STOP, STRATEGY_EXIT, ROI, OTHER)
_HEADINGS = {HARD_STOP: "hard", BREAKEVEN_STOP: "b/even", TRAILING_STOP: "trail", CROSSED_STOP: "crossed",
             STRATEGY_EXIT: "strat", ROI: "roi", OTHER: "other"}
_REASON_PHASE = {"stop_loss": "WAITING", "stoploss_on_exchange": "WAITING", "trailing_stop_loss": "ACTIVE"}
CROSSED_REASON = CROSSED_EXIT_REASON


def trade_key(pair: str, opened_ms: int) -> tuple[str, int]:
    """A trade's identity across freqtrade's result and the strategy's fill callback."""
    return pair, int(opened_ms)


@dataclass
class Row:
    """A variant's figures (ratios: 0.01 = 1 %)."""

    name: str
    title: str
    trades: int
    profit_total: float
    max_drawdown: float
    exits: dict[str, int]
    avg_trailing_exit: float | None
    avg_give_back: float | None
    entry_candle_artefacts: int
    trailing_trades: int = 0
    seconds: float = 0.0
    leverage: float | None = None  # the median leverage of its trades (1 on spot; None without trades)
    short_trades: int = 0
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def give_back(trade: Mapping[str, Any]) -> float | None:
    """Peak profit minus exit profit on price from the entry, times leverage (None without the rates)."""
    entry, close = trade.get("open_rate"), trade.get("close_rate")
    best = trade.get("min_rate") if trade.get("is_short") else trade.get("max_rate")
    if not entry or close is None or best is None:
        return None
    moved = (close - best) if trade.get("is_short") else (best - close)
    return max(0.0, moved / entry) * float(trade.get("leverage") or 1.0)


def classify(trade: Mapping[str, Any], phases: Mapping[tuple[str, int], str] | None) -> str:
    """What closed the trade: ROI apart, then the plugin's phase at the exit (plugin variants) or the
    phase freqtrade's exit reason implies (variants without the plugin)."""
    reason = trade.get("exit_reason")
    if reason == ROI:
        return ROI
    key = trade_key(trade["pair"], trade["open_timestamp"])
    if phases is not None and key in phases:
        return phases[key]
    return exit_kind(_REASON_PHASE.get(reason, "ACTIVE"), reason, CROSSED_REASON)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def row(name: str, title: str, stats: Mapping[str, Any],
        phases: Mapping[tuple[str, int], str] | None = None) -> Row:
    """A row from freqtrade's stats of one strategy (``results["strategy"][name]``). ``phases``: the
    plugin's kind of each exit by ``trade_key`` (plugin variants)."""
    trades = list(stats.get("trades", []))
    exits = dict.fromkeys(KINDS, 0)
    trailing: list[float] = []
    give: list[float] = []
    artefacts = 0
    for trade in trades:
        kind = classify(trade, phases)
        exits[kind] += 1
        if kind == TRAILING_STOP:
            trailing.append(float(trade["profit_ratio"]))
        back = give_back(trade)
        if back is not None:
            give.append(back)
        if is_losing_entry_candle_trailing_exit(trade.get("exit_reason"), trade["open_timestamp"] / 1000,
                                                trade["close_timestamp"] / 1000, trade.get("profit_ratio")):
            artefacts += 1
    return Row(name=name, title=title, trades=len(trades), profit_total=float(stats.get("profit_total", 0.0)),
               max_drawdown=float(stats.get("max_drawdown_account", 0.0)), exits=exits,
               avg_trailing_exit=_mean(trailing), avg_give_back=_mean(give), entry_candle_artefacts=artefacts,
               trailing_trades=len(trailing),
               leverage=median(float(trade.get("leverage") or 1.0) for trade in trades) if trades else None,
               short_trades=sum(1 for trade in trades if trade.get("is_short")))


def _pct(value: float | None, sign: bool = True) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.2f}" if sign else f"{value * 100:.2f}"


def format_table(rows: list[Row]) -> str:
    """The text table: a row per variant, exits by phase in the middle."""
    head = ["variant", "trades", "profit%", "maxDD%", *(_HEADINGS[kind] for kind in KINDS),
            "avg trail%", "give-back%", "entry-candle"]
    body = [[r.name, str(r.trades), _pct(r.profit_total), _pct(r.max_drawdown, sign=False),
             *(str(r.exits[kind]) for kind in KINDS), _pct(r.avg_trailing_exit), _pct(r.avg_give_back, sign=False),
             str(r.entry_candle_artefacts)] for r in rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
             for line in [head, *body]]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def legend(rows: list[Row]) -> str:
    """What each variant is, one line each."""
    width = max(len(r.name) for r in rows)
    return "\n".join(f"  {r.name:<{width}}  {r.title}" for r in rows)


assert set(EXIT_KINDS) <= set(KINDS)
