"""``compare --plot DIR``: the stop paths of two variants over the same candles, one HTML page per pair.

The paths are not replayed: they are the stops freqtrade itself held in each variant's run, read from
the trade after every ``ft_stoploss_adjust`` call (where freqtrade moves a stop, the built-in's and a
custom one alike), so the built-in's trailing and the strategy's fixed stop draw as truly as the
plugin's. Recording costs a call per candle of an open trade and happens only for the two variants
drawn. The page is ``ts-plugin plot``'s figure for the first variant with the second's stop line and
exits laid over it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ts_plugin.tools.compare.table import trade_key
from ts_plugin.tools.plot.model import StopPoint, TradePicture

SECOND_COLOUR = "#00897b"  # the second variant's stop line and exits: teal beside the first's purple
DEFAULT_PAIR = ("builtin", "yours")

Paths = dict[tuple[str, int], list[StopPoint]]


def record_stops(strategy: Any, paths: Paths) -> None:
    """Record the stop freqtrade holds for each trade after every stop adjustment, on this instance."""
    adjust = strategy.ft_stoploss_adjust

    def ft_stoploss_adjust(current_rate: float, trade: Any, current_time: Any, *args: Any, **kwargs: Any) -> None:
        adjust(current_rate, trade, current_time, *args, **kwargs)
        key = trade_key(trade.pair, int(round(trade.open_date_utc.timestamp() * 1000)))
        path = paths.setdefault(key, [])
        stop = trade.stop_loss
        if stop and (not path or path[-1].stop != stop):
            phase = "trailing" if getattr(trade, "is_stop_loss_trailing", False) else "hard stop"
            when = trade.open_date_utc.timestamp() if not path else current_time.timestamp()
            path.append(StopPoint(when, float(stop), phase))

    strategy.ft_stoploss_adjust = ft_stoploss_adjust


def pictures(name: str, stats: dict, paths: Paths) -> dict[str, list[TradePicture]]:
    """A variant's trades per pair, each with the stop path freqtrade held."""
    found: dict[str, list[TradePicture]] = {}
    for number, trade in enumerate(stats.get("trades", []), start=1):
        key = trade_key(trade["pair"], trade["open_timestamp"])
        found.setdefault(trade["pair"], []).append(TradePicture(
            trade_id=f"{name} {number}", pair=trade["pair"], is_short=bool(trade["is_short"]),
            open_time=trade["open_timestamp"] / 1000, open_rate=float(trade["open_rate"]),
            close_time=trade["close_timestamp"] / 1000, close_rate=trade.get("close_rate"),
            exit_reason=trade.get("exit_reason"), stops=tuple(paths.get(key, ())),
            stops_source=f"{name}: the stop freqtrade held"))
    return found


def write_pages(folder: Path, candles: dict[str, Any], timeframe: str, first: tuple[str, dict, Paths],
                second: tuple[str, dict, Paths], timerange: str) -> list[Path]:
    """One page per pair with trades in either variant; the written files."""
    import plotly.graph_objects as go

    from ts_plugin.tools.plot.figure import EXIT_COLOUR, build_figure, page_name, stop_line
    from ts_plugin.tools.plot.sources import PairPicture

    (name_a, stats_a, paths_a), (name_b, stats_b, paths_b) = first, second
    trades_a, trades_b = pictures(name_a, stats_a, paths_a), pictures(name_b, stats_b, paths_b)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for pair in sorted(set(trades_a) | set(trades_b)):
        frame = candles[pair]
        origin = (f"ts-plugin compare ({timerange}): stops held by freqtrade in {name_a} (purple) and "
                  f"{name_b} (teal, dotted)")
        figure = build_figure(PairPicture(pair, timeframe, frame, trades_a.get(pair, []), origin))
        for trace in figure.data:
            if trace.name == "stop":
                trace.name = f"stop: {name_a}"
            elif trace.name in ("entry", "exit"):
                trace.name = f"{trace.name}: {name_a}"
        end = frame["date"].iloc[-1].timestamp() if len(frame) else 0.0
        xs, ys, texts = stop_line(trades_b.get(pair, []), end)
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"stop: {name_b}", text=texts,
                                    line={"shape": "hv", "color": SECOND_COLOUR, "width": 2, "dash": "dot"},
                                    hovertemplate="%{text}<extra></extra>", connectgaps=False))
        entries = trades_b.get(pair, [])
        figure.add_trace(go.Scatter(
            x=[xs_time(t.open_time) for t in entries], y=[t.open_rate for t in entries], name=f"entry: {name_b}",
            mode="markers", marker={"symbol": "triangle-up-open", "size": 11, "color": SECOND_COLOUR},
            text=[f"{t.trade_id} entry {t.open_rate:.8g}" for t in entries], hovertemplate="%{text}<extra></extra>"))
        exits = [t for t in entries if t.close_time is not None]
        figure.add_trace(go.Scatter(
            x=[xs_time(t.close_time) for t in exits], y=[t.close_rate for t in exits], name=f"exit: {name_b}",
            mode="markers+text", text=[t.exit_reason or "" for t in exits], textposition="top center",
            textfont={"size": 8, "color": SECOND_COLOUR},
            marker={"symbol": "x-thin", "size": 9, "color": SECOND_COLOUR, "line": {"color": EXIT_COLOUR, "width": 1}}))
        path = folder / page_name(pair)
        figure.write_html(path, include_plotlyjs=True, full_html=True, config={"displaylogo": False})
        written.append(path)
    return written


def xs_time(epoch: float) -> datetime:
    """Naive UTC, as the figure's own axis (plotly draws a time as written)."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).replace(tzinfo=None)
