"""One self-contained HTML page per pair: candles, entries, exits with their reason, and each trade's
stop over time with breakeven and activation marked. plotly.js is embedded, so the page opens offline.

Times are UTC (the axis and every hover say so); prices are in the pair's quote currency.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ts_plugin.tools.plot.model import TradePicture
from ts_plugin.tools.plot.sources import PairPicture

STOP_COLOUR = "#8e24aa"  # the stop path: a purple no other trace on the page uses
ENTRY_COLOUR = "#1e88e5"
EXIT_COLOUR = "#212121"
# Entries sit on a candle (the entry candle's open): a dark outline keeps the marker visible on a
# rising, a falling and the page's white background alike.
ENTRY_OUTLINE = {"color": "#0b1f3a", "width": 2}
BREAKEVEN_COLOUR = "#fb8c00"
ACTIVATION_COLOUR = "#fdd835"
UP_COLOUR, DOWN_COLOUR = "#26a69a", "#ef5350"
# Up to this many trades on a page, markers are drawn full size; more, smaller (and the exit labels
# in a smaller font) so the stop lines stay visible. Every exit is labelled with its reason.
FULL_SIZE_MARKERS = 15


def _utc(epoch: float) -> datetime:
    """Naive UTC for plotly (it draws a time as written, without converting it to the viewer's zone)."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).replace(tzinfo=None)


def _when(epoch: float | None) -> str:
    return "-" if epoch is None else _utc(epoch).strftime("%Y-%m-%d %H:%M UTC")


def _price(value: float | None) -> str:
    return "-" if value is None else f"{value:.8g}"


def quote_of(pair: str) -> str:
    return pair.split("/")[1].split(":")[0] if "/" in pair else ""


def _profit(trade: TradePicture) -> str:
    if trade.close_rate is None:
        return ""
    move = (trade.close_rate - trade.open_rate) / trade.open_rate
    return f" ({-move if trade.is_short else move:+.2%} before fees)"


def _label(trade: TradePicture) -> str:
    return f"trade {trade.trade_id} {'short' if trade.is_short else 'long'}"


def stop_line(trades: list[TradePicture], end: float) -> tuple[list, list, list]:
    """x, y and hover text of every trade's stop as one step line, trades separated by gaps. Each
    path runs to the trade's exit (an open trade's to ``end``, the last candle)."""
    xs: list[Any] = []
    ys: list[Any] = []
    texts: list[str] = []
    for trade in trades:
        if not trade.stops:
            continue
        for point in trade.stops:
            xs.append(_utc(point.time))
            ys.append(point.stop)
            texts.append(f"{_label(trade)}<br>stop {_price(point.stop)} ({point.phase}) from {_when(point.time)}"
                         f"<br>{trade.stops_source}")
        last = trade.stops[-1]
        finish = trade.close_time if trade.close_time is not None else max(end, last.time)
        xs.append(_utc(max(finish, last.time)))
        ys.append(last.stop)
        texts.append(f"{_label(trade)}<br>stop {_price(last.stop)} ({last.phase}) at "
                     f"{'exit' if trade.close_time is not None else 'last candle'}")
        xs.append(None)
        ys.append(None)
        texts.append("")
    return xs, ys, texts


def build_figure(page: PairPicture) -> Any:
    import plotly.graph_objects as go

    candles = page.candles
    dates = [moment.tz_convert("UTC").tz_localize(None) if moment.tzinfo else moment for moment in candles["date"]]
    end = candles["date"].iloc[-1].timestamp() if len(candles) else 0.0
    quote = quote_of(page.pair)
    figure = go.Figure()
    figure.add_trace(go.Candlestick(
        x=dates, open=candles["open"], high=candles["high"], low=candles["low"], close=candles["close"],
        name=f"{page.pair} {page.timeframe} candles", increasing_line_color=UP_COLOUR,
        decreasing_line_color=DOWN_COLOUR))
    xs, ys, texts = stop_line(page.trades, end)
    figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"shape": "hv", "color": STOP_COLOUR, "width": 2},
                                name="stop", text=texts, hovertemplate="%{text}<extra></extra>",
                                connectgaps=False))
    _markers(figure, go, page.trades)
    title = (f"{page.pair}: {len(page.trades)} trades on {page.timeframe} candles, stop paths "
             f"<br><sup>{page.origin}. Times UTC, prices in {quote or 'the quote currency'}.</sup>")
    figure.update_layout(
        title={"text": title, "x": 0.01}, template="plotly_white", hovermode="closest",
        xaxis={"title": "time (UTC)", "rangeslider": {"visible": False}},
        yaxis={"title": f"price ({quote})" if quote else "price", "tickformat": ".8~g"},
        legend={"orientation": "h", "y": -0.12}, margin={"t": 80, "b": 80})
    if page.notes:
        figure.add_annotation(text="<br>".join(page.notes[:10]), xref="paper", yref="paper", x=0, y=1.0,
                              showarrow=False, align="left", font={"size": 11})
    return figure


def _markers(figure: Any, go: Any, trades: list[TradePicture]) -> None:
    few = len(trades) <= FULL_SIZE_MARKERS
    size = 1.0 if few else 0.6  # many trades: smaller markers, so the stop lines stay visible
    figure.add_trace(go.Scatter(
        x=[_utc(t.open_time) for t in trades], y=[t.open_rate for t in trades], mode="markers", name="entry",
        marker={"symbol": ["triangle-down" if t.is_short else "triangle-up" for t in trades],
                "size": 13 * size + 2, "color": ENTRY_COLOUR, "line": ENTRY_OUTLINE},
        text=[f"{_label(t)} entry {_price(t.open_rate)}<br>{_when(t.open_time)}" for t in trades],
        hovertemplate="%{text}<extra></extra>"))
    exits = [t for t in trades if t.close_time is not None and t.close_rate is not None]
    figure.add_trace(go.Scatter(
        x=[_utc(t.close_time) for t in exits], y=[t.close_rate for t in exits], name="exit",
        mode="markers+text",
        marker={"symbol": "x", "size": 10 * size, "color": EXIT_COLOUR}, text=[t.exit_reason or "" for t in exits],
        textposition="bottom center", textfont={"size": 9 if few else 8, "color": EXIT_COLOUR},
        customdata=[f"{_label(t)} exit {_price(t.close_rate)}{_profit(t)}<br>{t.exit_reason}<br>{_when(t.close_time)}"
                    for t in exits],
        hovertemplate="%{customdata}<extra></extra>"))
    for name, attribute, symbol, colour in (("breakeven", "breakeven_at", "diamond", BREAKEVEN_COLOUR),
                                            ("activation", "activated_at", "star", ACTIVATION_COLOUR)):
        marked = [(t, getattr(t, attribute)) for t in trades if getattr(t, attribute) is not None]
        figure.add_trace(go.Scatter(
            x=[_utc(moment) for _, moment in marked], y=[t.stop_at(moment) or t.open_rate for t, moment in marked],
            mode="markers", name=name,
            marker={"symbol": symbol, "size": 12 * size, "color": colour, "line": {"color": EXIT_COLOUR, "width": 1}},
            text=[f"{_label(t)} {name} {_when(moment)}<br>stop {_price(t.stop_at(moment))}"
                  + (f"<br>activation price {_price(t.activation_price)}" if name == "activation" else "")
                  for t, moment in marked],
            hovertemplate="%{text}<extra></extra>"))


def page_name(pair: str) -> str:
    """``ETH/BTC`` -> ``ETH_BTC.html`` (futures ``BTC/USDT:USDT`` -> ``BTC_USDT_USDT.html``)."""
    return pair.replace("/", "_").replace(":", "_") + ".html"


def write_page(page: PairPicture, folder: Path) -> Path:
    """Write the page (plotly.js embedded: no network needed to open it); its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / page_name(page.pair)
    build_figure(page).write_html(path, include_plotlyjs=True, full_html=True,
                                  config={"displaylogo": False, "responsive": True})
    return path
