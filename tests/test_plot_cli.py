"""``ts-plugin plot`` as a user runs it: pages from a backtest result and from a trade database (which it
never writes), the data on them (a stop path per trade, never loosening, the exit on it), and clear
errors for bad input."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from tests.freqtrade_helpers import OPENED, add_trade, make_strategy, tick
from ts_plugin.cli import main
from ts_plugin.tools.demo import DEFAULT_CONFIG, build_backtest_config, pairs_in, run_backtest
from ts_plugin.tools.plot.figure import build_figure
from ts_plugin.tools.plot.replay import STOP_EXIT_REASONS


def _stop_segments(figure) -> list[list[float]]:
    """The stop trace's y values, one list per trade (segments separated by gaps)."""
    (trace,) = [t for t in figure.data if t.name == "stop"]
    segments, current = [], []
    for y in trace.y:
        if y is None:
            segments.append(current)
            current = []
        else:
            current.append(y)
    return segments


@pytest.mark.slow
def test_pages_from_a_backtest_result(synthetic_datadir, exchange_overrides, tmp_path, capsys):
    from ts_plugin.tools.plot.sources import backtest_pictures, open_backtest

    config = build_backtest_config(DEFAULT_CONFIG, synthetic_datadir, exchange_overrides,
                                   pairs=list(pairs_in(synthetic_datadir)), user_data_dir=tmp_path,
                                   export="trades", timerange="20251201-")
    run_backtest(config)
    out = tmp_path / "pages"
    code = main(["plot", "--backtest-results", str(tmp_path / "backtest_results"), "--datadir",
                 str(synthetic_datadir), "--out", str(out), "--pairs", "BTC/USDT", "ETH/USDT"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert sorted(path.name for path in out.iterdir()) == ["BTC_USDT.html", "ETH_USDT.html"]
    assert "replayed with smart_trailing settings in force: activation_profit=0.015 [config.json]" in printed
    assert "BTC/USDT:" in printed and "with a stop path" in printed

    pages = backtest_pictures(open_backtest(tmp_path / "backtest_results", synthetic_datadir), ["BTC/USDT"])
    (page,) = pages
    segments = _stop_segments(build_figure(page))
    assert len(segments) == len(page.trades) > 3  # a stop path per trade
    for trade, segment in zip(page.trades, segments):
        assert segment == sorted(segment)  # never loosens (longs)
        assert trade.stops[0].phase == "WAITING"
        if trade.exit_reason in STOP_EXIT_REASONS and trade.close_time - trade.open_time >= 300:
            assert segment[-1] == trade.close_rate or trade.close_rate < segment[-1]  # exit on its stop (or a gap)
    assert page.candles["date"].iloc[0].timestamp() <= min(t.open_time for t in page.trades)


def _candles_around(datadir, hours=48):
    from ts_plugin.tools.sampledata import generate

    generate(datadir, pairs={"BTC/USDT": 100.0}, days=2, seed=3, end=OPENED + timedelta(hours=hours / 2))


def test_pages_from_a_trade_database_without_writing_it(db, tmp_path, capsys):
    strategy = make_strategy(breakeven={"trigger_profit": 0.008, "offset": 0.002})
    trade = add_trade(entry=100.0)
    for minute, price in enumerate([100.5, 101.0, 101.6, 102.5, 102.4, 103.0, 102.8], start=1):
        tick(strategy, trade, price, 5 * minute)
    datadir = tmp_path / "candles"
    _candles_around(datadir)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    out = tmp_path / "pages"
    code = main(["plot", "--db-url", f"sqlite:///{db}", "--datadir", str(datadir), "--out", str(out)])
    assert code == 0, capsys.readouterr()
    assert "BTC/USDT: 1 trades, 1 with a stop path" in capsys.readouterr().out
    assert (out / "BTC_USDT.html").is_file()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # never written

    from ts_plugin.tools.plot.sources import database_pictures

    (page,), skipped = database_pictures(f"sqlite:///{db}", datadir, "5m")
    assert skipped == []
    (drawn,) = page.trades
    stops = [point.stop for point in drawn.stops]
    assert stops[0] == pytest.approx(95.0) and stops == sorted(stops)
    assert stops[-1] == pytest.approx(strategy._ts_store.cache[trade.id].stop)
    assert [point.phase for point in drawn.stops][:3] == ["WAITING", "BREAKEVEN", "ACTIVE"]
    assert drawn.activated_at is not None and drawn.breakeven_at is not None
    assert _stop_segments(build_figure(page)) == [stops + [stops[-1]]]  # runs on to the last candle


def test_bad_input_is_named(db, tmp_path, capsys):
    add_trade(entry=100.0)
    datadir = tmp_path / "candles"
    _candles_around(datadir)
    cases = [
        (["--backtest-results", str(tmp_path / "nowhere.zip")], "backtest result"),
        (["--backtest-results", str(tmp_path)], "holds no backtest result"),
        (["--db-url", f"sqlite:///{tmp_path / 'missing.sqlite'}", "--datadir", str(datadir)], "missing.sqlite"),
        (["--db-url", f"sqlite:///{db}", "--datadir", str(datadir), "--pairs", "ETH/USDT"], "no trades for ETH/USDT"),
        (["--db-url", f"sqlite:///{db}", "--datadir", str(tmp_path / "none")], "does not exist"),
    ]
    for args, message in cases:
        assert main(["plot", *args, "--out", str(tmp_path / "pages")]) == 2, args
        error = capsys.readouterr().err
        assert message in error and "Traceback" not in error, (args, error)
    for args, message in ((["--db-url", f"sqlite:///{db}"], "--db-url needs --datadir"),
                          (["--db-url", "x", "--backtest-results", "y"], "not allowed with argument")):
        with pytest.raises(SystemExit) as stopped:
            main(["plot", *args])
        assert stopped.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "pages").exists()  # nothing written on errors
