"""``ts-plugin plot`` pages a trader can read: ``--timerange`` picks the trades and the candles shown,
every exit carries its reason as a label, entries stand out on any candle colour, and a database
trade whose candles are not in ``--datadir`` is named in a WARNING instead of a page without candles."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from tests.freqtrade_helpers import OPENED, add_trade, make_strategy, tick
from ts_plugin.cli import main
from ts_plugin.tools.demo import DEFAULT_CONFIG, build_backtest_config, pairs_in, run_backtest
from ts_plugin.tools.plot.figure import DOWN_COLOUR, UP_COLOUR, build_figure
from ts_plugin.tools.plot.model import StopPoint, TradePicture
from ts_plugin.tools.plot.sources import PairPicture
from ts_plugin.tools.plot.timerange import parse_span

START = pd.Timestamp("2026-01-05 12:00", tz="UTC")
REASONS = ("trailing_stop_loss", "stop_loss", "smart_trailing_stop_crossed", "exit_signal")


def _page(trades: int) -> PairPicture:
    """A page of ``trades`` short trades on rising candles, with exits of several reasons."""
    count = trades * 4 + 10
    prices = 100 * np.exp(np.cumsum(np.full(count, 0.001)))
    candles = pd.DataFrame({"date": pd.date_range(START, periods=count, freq="5min"), "open": prices,
                            "high": prices * 1.002, "low": prices * 0.998, "close": prices * 1.001})
    pictures = []
    for number in range(trades):
        opened = START.timestamp() + 1200 * number
        pictures.append(TradePicture(
            trade_id=number + 1, pair="BTC/USDT", is_short=False, open_time=opened, open_rate=float(prices[4 * number]),
            close_time=opened + 900, close_rate=float(prices[4 * number + 3]), exit_reason=REASONS[number % 4],
            stops=(StopPoint(opened, float(prices[4 * number]) * 0.96, "WAITING"),), stops_source="recorded"))
    return PairPicture("BTC/USDT", "5m", candles, pictures, "test page")


def _trace(figure, name: str):
    (trace,) = [t for t in figure.data if t.name == name]
    return trace


@pytest.mark.parametrize("trades", [3, 40])
def test_every_exit_is_labelled_with_its_reason(trades):
    page = _page(trades)
    exits = _trace(build_figure(page), "exit")
    assert "text" in exits.mode.split("+")  # drawn on the chart, not only in the hover text
    assert list(exits.text) == [trade.exit_reason for trade in page.trades]


def _luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(first: str, second: str) -> float:
    """WCAG's contrast ratio (1 to 21; 3 is its minimum for graphics a reader must make out)."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("trades", [3, 40])
def test_entries_stand_out_on_any_candle_colour(trades):
    marker = _trace(build_figure(_page(trades)), "entry").marker
    assert marker.line.width and marker.line.width >= 1.5
    for candle in (UP_COLOUR, DOWN_COLOUR):  # the outline sets the marker off either candle
        assert _contrast(marker.line.color, candle) >= 3, candle
    assert _contrast(marker.color, "#ffffff") >= 3  # and the fill off the page's background


def _close(trade, opened, minutes: int, rate: float, reason: str) -> None:
    from freqtrade.persistence import Trade

    trade.open_date = opened
    trade.close_date = opened + timedelta(minutes=minutes)
    trade.close_rate, trade.exit_reason, trade.is_open = rate, reason, False
    Trade.commit()


def _two_trades_a_week_apart(db):
    """Trade 1 a week before OPENED (closed), trade 2 at OPENED (open, with a recorded stop path)."""
    strategy = make_strategy()
    early = add_trade(entry=100.0)
    _close(early, OPENED - timedelta(days=7), 60, 101.0, "trailing_stop_loss")
    late = add_trade(entry=100.0)
    for minute, price in enumerate([100.5, 101.6, 102.5], start=1):
        tick(strategy, late, price, 5 * minute)
    return early, late


def _candles(datadir, start, days: int) -> None:
    from ts_plugin.tools.sampledata import generate

    generate(datadir, pairs={"BTC/USDT": 100.0}, days=days, seed=3, end=start + timedelta(days=days))


def test_a_database_trade_without_candles_is_named_in_a_warning(db, tmp_path, capsys):
    early, late = _two_trades_a_week_apart(db)
    datadir = tmp_path / "candles"
    _candles(datadir, OPENED - timedelta(days=1), 2)  # around the late trade only
    out = tmp_path / "pages"
    code = main(["plot", "--db-url", f"sqlite:///{db}", "--datadir", str(datadir), "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed
    (warning,) = [line for line in printed.err.splitlines() if line.startswith("WARNING")]
    assert f"trade {early.id} BTC/USDT" in warning and str(datadir) in warning and "not drawn" in warning
    assert "--timerange 20251229-20251230" in warning  # how to get the candles
    assert "BTC/USDT: 1 trades, 1 with a stop path" in printed.out

    from ts_plugin.tools.plot.sources import database_pictures

    (page,), missing = database_pictures(f"sqlite:///{db}", datadir, "5m")
    assert [trade.trade_id for trade in page.trades] == [late.id]
    assert [(m.pair, m.trade_id, m.datadir) for m in missing] == [("BTC/USDT", early.id, datadir)]
    assert page.candles["date"].iloc[0].timestamp() <= late.open_date.timestamp()  # its candles are drawn


def test_only_trades_without_candles_draws_no_page_and_says_why(db, tmp_path, capsys):
    early, late = _two_trades_a_week_apart(db)
    datadir = tmp_path / "candles"
    _candles(datadir, OPENED - timedelta(days=30), 2)  # a month before both
    code = main(["plot", "--db-url", f"sqlite:///{db}", "--datadir", str(datadir), "--out", str(tmp_path / "pages")])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "pages").exists()
    warned = [line for line in err.splitlines() if line.startswith("WARNING")]
    assert [f"trade {t.id} BTC/USDT" in line for t, line in zip((early, late), warned)] == [True, True]
    assert "now (still open)" in warned[1]
    assert f"no trades to draw with candles in {datadir}" in err and "Traceback" not in err


def test_timerange_picks_the_trades_and_the_candles_of_a_database(db, tmp_path, capsys):
    early, late = _two_trades_a_week_apart(db)
    datadir = tmp_path / "candles"
    _candles(datadir, OPENED - timedelta(days=9), 10)  # both trades
    out = tmp_path / "pages"
    day = f"{OPENED - timedelta(days=7):%Y%m%d}-{OPENED - timedelta(days=6):%Y%m%d}"
    assert main(["plot", "--db-url", f"sqlite:///{db}", "--datadir", str(datadir), "--out", str(out),
                 "--timerange", day]) == 0
    assert "BTC/USDT: 1 trades" in capsys.readouterr().out

    from ts_plugin.tools.plot.sources import database_pictures

    span = parse_span(day)
    (page,), missing = database_pictures(f"sqlite:///{db}", datadir, "5m", span=span)
    assert missing == [] and [trade.trade_id for trade in page.trades] == [early.id]
    times = page.candles["date"].map(lambda moment: moment.timestamp())
    assert times.iloc[0] == span.start and times.iloc[-1] == span.stop  # the range's candles

    (page,), _ = database_pictures(f"sqlite:///{db}", datadir, "5m", span=parse_span(f"{OPENED:%Y%m%d}-"))
    assert [trade.trade_id for trade in page.trades] == [late.id]  # an open trade in an open-ended range
    assert main(["plot", "--db-url", f"sqlite:///{db}", "--datadir", str(datadir), "--out", str(out),
                 "--timerange", "20200101-20200102"]) == 2
    assert "no trades open in --timerange 20200101-20200102 to draw" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["2018", "20180120-20180115", "yesterday", "-"])
def test_a_bad_timerange_is_named(db, tmp_path, capsys, value):
    with pytest.raises(SystemExit) as stopped:
        main(["plot", "--db-url", f"sqlite:///{db}", "--datadir", str(tmp_path), "--timerange", value])
    err = capsys.readouterr().err
    assert stopped.value.code == 2
    assert f"argument --timerange: '{value}'" in err and "20180115-20180120" in err and "Traceback" not in err


@pytest.mark.slow
def test_timerange_on_a_backtest_result(synthetic_datadir, exchange_overrides, tmp_path, capsys):
    from ts_plugin.tools.plot.sources import backtest_pictures, open_backtest

    config = build_backtest_config(DEFAULT_CONFIG, synthetic_datadir, exchange_overrides,
                                   pairs=list(pairs_in(synthetic_datadir)), user_data_dir=tmp_path,
                                   export="trades", timerange="20251201-")
    run_backtest(config)
    source = open_backtest(tmp_path / "backtest_results", synthetic_datadir)
    (whole,) = backtest_pictures(source, ["BTC/USDT"])
    span = parse_span("20251210-20251212")
    (page,) = backtest_pictures(source, ["BTC/USDT"], span)
    inside = [t for t in whole.trades if t.open_time < span.stop and t.close_time >= span.start]
    assert 0 < len(page.trades) == len(inside) < len(whole.trades)
    assert [t.trade_id for t in page.trades] == [t.trade_id for t in inside]  # numbered as in the whole result
    times = page.candles["date"].map(lambda moment: moment.timestamp())
    assert times.iloc[0] <= min(span.start, page.trades[0].open_time)
    assert times.iloc[-1] >= max(span.stop - 300, page.trades[-1].close_time)
    assert times.iloc[-1] <= max(span.stop, page.trades[-1].close_time)
    out = tmp_path / "pages"
    assert main(["plot", "--backtest-results", str(tmp_path / "backtest_results"), "--datadir",
                 str(synthetic_datadir), "--out", str(out), "--pairs", "BTC/USDT", "--timerange", span.text]) == 0
    assert f"BTC/USDT: {len(inside)} trades" in capsys.readouterr().out
