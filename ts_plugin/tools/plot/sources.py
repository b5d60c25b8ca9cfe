"""Where the pictures come from: a backtest result (stop paths replayed from the candles) or a dry-run
/ live trade database (stop paths recorded by the plugin as it ran, ``smart_trailing_trace``).

Both only read: the database through ``ts_plugin.tools.readonly_db`` (never written, never migrated), the
backtest result and the candles from disk; no exchange is contacted.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from pandas import DataFrame

from ts_plugin.tools.plot.model import StopPoint, TradePicture
from ts_plugin.tools.plot.profit import profit_for
from ts_plugin.tools.plot.replay import BacktestTrade, Candle, Replay, Rounding, replay, with_detail
from ts_plugin.tools.plot.timerange import Span, trades_in

# Candles shown before the first trade and after the last one on a page.
MARGIN_CANDLES = 30


class SourceError(ValueError):
    """A user mistake or unusable input, said in one sentence naming what is wrong."""


@dataclass
class PairPicture:
    """One page: a pair's candles and its trades with their stop paths."""

    pair: str
    timeframe: str
    candles: DataFrame  # date (UTC), open, high, low, close
    trades: list[TradePicture]
    origin: str  # one line: where the trades and their stop paths come from
    notes: list[str] = field(default_factory=list)


# ----- candles ------------------------------------------------------------------------------------


def load_candles(datadir: Path, pairs: list[str], timeframe: str, *, timerange: str | None = None,
                 startup_candles: int = 0, data_format: str = "feather") -> dict[str, DataFrame]:
    """freqtrade's own loader, called the way its backtesting calls it (missing candles filled)."""
    from freqtrade.configuration import TimeRange
    from freqtrade.data import history

    if not Path(datadir).is_dir():
        raise SourceError(f"candle folder {datadir} does not exist (give --datadir)")
    try:
        span = TimeRange.parse_timerange(timerange) if timerange else None
    except Exception as exc:
        raise SourceError(f"time range {timerange!r}: {exc}") from None
    from freqtrade.enums import CandleType

    data: dict[str, DataFrame] = {}
    futures = [pair for pair in pairs if ":" in pair]  # BTC/USDT:USDT: freqtrade's futures/ sub-folder
    for kind, chosen in ((CandleType.SPOT, [pair for pair in pairs if ":" not in pair]),
                         (CandleType.FUTURES, futures)):
        if chosen:
            data.update(history.load_data(datadir=Path(datadir), timeframe=timeframe, pairs=chosen,
                                          timerange=span, startup_candles=startup_candles,
                                          data_format=data_format, candle_type=kind))
    return {pair: frame for pair, frame in data.items() if len(frame)}


def _candles(frame: DataFrame) -> list[Candle]:
    times = frame["date"].map(lambda moment: moment.timestamp())
    return [Candle(t, o, h, lo, c) for t, o, h, lo, c in
            zip(times, frame["open"], frame["high"], frame["low"], frame["close"])]


def _window(frame: DataFrame, trades: list[TradePicture], timeframe_seconds: int, span: Span | None = None) -> DataFrame:
    """The candles around the trades (``MARGIN_CANDLES`` either side); with ``span`` (--timerange) the
    range's candles, widened so that every trade drawn is whole."""
    if not trades:
        return frame
    margin = MARGIN_CANDLES * timeframe_seconds
    first = min(t.open_time for t in trades) - margin
    last = max(t.close_time or t.open_time for t in trades) + margin
    if span is not None and span.start is not None:
        first = min(span.start, first + margin)
    if span is not None and span.stop is not None:
        last = max(span.stop, last - margin)
    if any(t.close_time is None for t in trades):
        last = float("inf")
    seconds = frame["date"].map(lambda moment: moment.timestamp())
    return frame[(seconds >= first) & (seconds <= last)].reset_index(drop=True)


def _price_steps(frame: DataFrame) -> Any:
    """The price step over time the backtester derives from the candles' digits (monthly)."""
    from freqtrade.data.btanalysis.historic_precision import get_tick_size_over_time

    return get_tick_size_over_time(frame[["date", "open", "high", "low", "close"]].copy())


def _rounding(steps: Any, opened: datetime, is_short: bool) -> Rounding:
    """The rounding the backtester gave the trade: its pair's price step at the entry."""
    from freqtrade.exchange.exchange_utils import ROUND_DOWN, ROUND_UP, TICK_SIZE, price_to_precision

    step = steps.asof(opened)
    if step != step:  # NaN: no candle before the entry
        return Rounding()
    away = ROUND_DOWN if is_short else ROUND_UP
    return Rounding(stop=lambda price: price_to_precision(price, step, TICK_SIZE, rounding_mode=away),
                    price=lambda price: price_to_precision(price, step, TICK_SIZE))


# ----- backtest results ---------------------------------------------------------------------------


@dataclass
class BacktestSource:
    """One strategy's run in a backtest result, with the strategy loaded as the backtest ran it."""

    path: Path
    name: str
    stats: dict[str, Any]
    config: dict[str, Any]
    strategy: Any
    datadir: Path

    @property
    def timeframe(self) -> str:
        return self.stats.get("timeframe") or self.strategy.timeframe

    @property
    def timeframe_detail(self) -> str | None:
        return self.stats.get("timeframe_detail") or None

    def trailing_config(self):
        return self.strategy._ts_config()

    def settings_line(self) -> str:
        """The plugin's settings in force with their sources, as the bot's start-up line says them."""
        from ts_plugin.strategy.settings_report import report

        return report(self.strategy, self.trailing_config(), *self.strategy._ts_layers)[0]


def _result_file(path: Path) -> Path:
    """A result file, or the latest result in a backtest_results folder (freqtrade's ``.last_result.json``)."""
    from freqtrade.data.btanalysis import get_latest_backtest_filename

    path = Path(path).expanduser()
    if path.is_dir():
        try:
            return path / get_latest_backtest_filename(path)
        except ValueError:
            raise SourceError(f"{path} holds no backtest result (no .last_result.json): run a backtest "
                              "with --export trades, or name the .zip file") from None
    if not path.is_file():
        raise SourceError(f"backtest result {path} does not exist")
    return path


def _zip_member(path: Path, suffix: str) -> bytes | None:
    import zipfile

    if path.suffix != ".zip":
        return None
    with zipfile.ZipFile(path) as archive:
        name = path.with_suffix("").name + suffix
        return archive.read(name) if name in archive.namelist() else None


def open_backtest(path: Path, datadir: Path | None = None, *, strategy: str | None = None,
                  strategy_path: Path | None = None, quiet: bool = False) -> BacktestSource:
    """Read a backtest result (``--export trades``) and load its strategy as it ran: the strategy file,
    parameters and config stored in the result's zip (or the strategy from ``strategy_path``).
    ``quiet``: only warnings from freqtrade's logging (which its configuration sets up at INFO)."""
    from freqtrade.data.btanalysis import load_backtest_stats

    file = _result_file(path)
    try:
        stats = load_backtest_stats(file)
    except Exception as exc:
        raise SourceError(f"{file} is not a readable backtest result: {exc}") from None
    runs = stats.get("strategy") if isinstance(stats, dict) else None
    if not runs:
        raise SourceError(f"{file} holds no strategy results (was it exported with --export trades?)")
    if strategy is None:
        if len(runs) > 1:
            raise SourceError(f"{file} holds several strategies ({', '.join(runs)}): choose one with --strategy")
        strategy = next(iter(runs))
    if strategy not in runs:
        raise SourceError(f"{file} has no results for strategy {strategy} (found: {', '.join(runs)})")
    config_text = _zip_member(file, "_config.json")
    config = json.loads(config_text) if config_text else {}
    loaded, full_config = _load_strategy(file, strategy, config, strategy_path, quiet)
    if not hasattr(loaded, "_ts_config"):
        raise SourceError(f"strategy {strategy} does not use SmartTrailingMixin: no stop paths to replay")
    folder = Path(datadir) if datadir else _default_datadir(file, full_config)
    return BacktestSource(path=file, name=strategy, stats=runs[strategy], config=full_config,
                          strategy=loaded, datadir=folder)


def _default_datadir(file: Path, config: dict) -> Path:
    """freqtrade's default: ``<user data>/data/<exchange>``, the user data folder being the one holding
    ``backtest_results`` (else ./user_data)."""
    userdir = file.parent.parent if file.parent.name == "backtest_results" else Path("user_data")
    return userdir / "data" / config.get("exchange", {}).get("name", "binance")


def _load_strategy(file: Path, name: str, stored_config: dict, strategy_path: Path | None,
                   quiet: bool = False) -> tuple[Any, dict]:
    """freqtrade's StrategyResolver on the stored config, with the stored strategy file and its
    parameters unless ``strategy_path`` is given; hyperopt parameters loaded as ``ft_bot_start`` does."""
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode
    from freqtrade.resolvers import StrategyResolver

    with tempfile.TemporaryDirectory(prefix="ts-plugin-plot-") as scratch:
        folder = Path(scratch)
        config_file = folder / "config.json"
        stored = {key: value for key, value in stored_config.items() if key not in ("config_files",)}
        stored.setdefault("exchange", {"name": "binance"})
        config_file.write_text(json.dumps(stored))
        if strategy_path is None:
            source = _zip_member(file, f"_{name}.py")
            if source is None:
                raise SourceError(f"{file} does not include the strategy file of {name}: give --strategy-path DIR")
            strategy_path = folder / "strategies"
            strategy_path.mkdir()
            (strategy_path / f"{name}.py").write_bytes(source)
            params = _zip_member(file, f"_{name}.json")
            if params is not None:
                (strategy_path / f"{name}.json").write_bytes(params)
        args = {"config": [str(config_file)], "strategy": name, "strategy_path": str(strategy_path),
                "user_data_dir": str(folder)}
        try:
            if quiet:
                logging.disable(logging.INFO)
            config = Configuration(args, RunMode.BACKTEST).get_config()
            strategy = StrategyResolver.load_strategy(config)
            strategy.ft_load_hyper_params(False)  # as IStrategy.ft_bot_start does
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(f"strategy {name} could not be loaded: {exc}") from None
        finally:
            logging.disable(logging.NOTSET)
    return strategy, config


def _epoch(record: dict, key: str) -> float | None:
    stamp = record.get(f"{key}_timestamp")
    if stamp is not None:
        return stamp / 1000.0
    text = record.get(f"{key}_date")
    return datetime.fromisoformat(str(text)).replace(tzinfo=timezone.utc).timestamp() if text else None


@dataclass
class ReplayedTrade:
    """A backtest trade record and its replay (None when it cannot be replayed: ``note`` says why)."""

    record: dict[str, Any]
    replay: Replay | None
    note: str | None = None


def replay_backtest(source: BacktestSource, pairs: list[str] | None = None) -> dict[str, tuple[DataFrame, list[ReplayedTrade]]]:
    """Every trade of the run replayed from the candles the backtest used: per pair, the main-timeframe
    candles (with the backtest's start-up candles) and the replayed trades."""
    from freqtrade.exchange import timeframe_to_seconds

    from ts_plugin.core.indicators import add_momentum_columns, momentum_series

    by_pair: dict[str, list[dict]] = {}
    for record in source.stats.get("trades", []):
        by_pair.setdefault(record["pair"], []).append(record)
    if pairs:
        unknown = [pair for pair in pairs if pair not in by_pair]
        if unknown:
            raise SourceError(f"no trades for {', '.join(unknown)} in {source.path.name} "
                              f"(pairs with trades: {', '.join(sorted(by_pair)) or 'none'})")
        by_pair = {pair: by_pair[pair] for pair in pairs}
    config = source.trailing_config()
    timeframe, detail = source.timeframe, source.timeframe_detail
    data_format = source.config.get("dataformat_ohlcv", "feather")
    timerange = source.stats.get("timerange") or None
    main = load_candles(source.datadir, list(by_pair), timeframe, timerange=timerange,
                        startup_candles=source.strategy.startup_candle_count, data_format=data_format)
    details = load_candles(source.datadir, list(by_pair), detail, timerange=timerange,
                           data_format=data_format) if detail else {}
    missing = [pair for pair in by_pair if pair not in main]
    if missing:
        raise SourceError(f"no {timeframe} candles for {', '.join(missing)} in {source.datadir} "
                          "(give --datadir: the folder the backtest read)")
    seconds = timeframe_to_seconds(timeframe)
    result: dict[str, tuple[DataFrame, list[ReplayedTrade]]] = {}
    for pair, records in by_pair.items():
        frame = main[pair]
        walked = _candles(frame)
        if pair in details:
            walked = with_detail(walked, _candles(details[pair]), seconds)
        momentum_at: Callable | None = None
        if config.momentum is not None:
            momentum_at = momentum_series(add_momentum_columns(frame.copy(), config.momentum), seconds).at
        steps = _price_steps(frame)
        replayed = []
        for record in records:
            entries = [order for order in record.get("orders", []) if order.get("ft_is_entry")]
            if len(entries) > 1:
                replayed.append(ReplayedTrade(record, None, "position adjusted: not replayed"))
                continue
            trade = BacktestTrade(
                is_short=bool(record["is_short"]), open_rate=float(record["open_rate"]),
                open_time=_epoch(record, "open"), close_time=_epoch(record, "close"),
                initial_stop=float(record["initial_stop_loss_abs"]), leverage=float(record.get("leverage") or 1.0))
            opened = datetime.fromtimestamp(trade.open_time, tz=timezone.utc)
            replayed.append(ReplayedTrade(record, replay(
                trade, walked, config, momentum_at=momentum_at,
                rounding=_rounding(steps, opened, trade.is_short),
                profit_at=profit_for(record, source.config.get("trading_mode")))))
        result[pair] = (frame, replayed)
    return result


def backtest_pictures(source: BacktestSource, pairs: list[str] | None = None,
                      span: Span | None = None) -> list[PairPicture]:
    """One page per pair with trades (in ``span``, --timerange): candles, entries, exits and each trade's
    replayed stop path. Trades are numbered as in the whole result, whatever the range."""
    from freqtrade.exchange import timeframe_to_seconds

    seconds = timeframe_to_seconds(source.timeframe)
    detail = f", ticks from {source.timeframe_detail} candles" if source.timeframe_detail else ""
    origin = f"backtest {source.path.name}, strategy {source.name}: stop paths replayed from the candles{detail}"
    pages = []
    for pair, (frame, replayed) in replay_backtest(source, pairs).items():
        trades = []
        for number, item in enumerate(replayed, start=1):
            record, run = item.record, item.replay
            trades.append(TradePicture(
                trade_id=number, pair=pair, is_short=bool(record["is_short"]),
                open_time=_epoch(record, "open"), open_rate=float(record["open_rate"]),
                close_time=_epoch(record, "close"), close_rate=record.get("close_rate"),
                exit_reason=record.get("exit_reason"),
                stops=run.stops if run else (), stops_source="replayed" if run else item.note,
                breakeven_at=run.state.breakeven_at if run else None,
                activated_at=run.state.activated_at if run else None,
                activation_price=run.state.activation_price if run else None))
        shown = trades_in(trades, span)
        notes = [f"trade {trade.trade_id}: {trade.stops_source}" for trade in shown if not trade.stops]
        if shown:
            pages.append(PairPicture(pair, source.timeframe, _window(frame, shown, seconds, span), shown, origin,
                                     notes))
    return pages


# ----- dry-run / live databases -------------------------------------------------------------------


def database_trades(record: Any) -> TradePicture:
    """A database trade (``readonly_db.TradeRecord``) with the stop path the plugin recorded."""
    from ts_plugin.strategy.store import TRACE_KEY
    from ts_plugin.strategy.trace import TraceError, decode_trace

    opened = record.open_date.timestamp()
    state = record.smart_trailing
    stops: list[StopPoint] = []
    if record.initial_stop_loss:
        stops.append(StopPoint(opened, float(record.initial_stop_loss), "WAITING"))
    source = "recorded"
    try:
        recorded = decode_trace(record.custom_data.get(TRACE_KEY)) if TRACE_KEY in record.custom_data else None
    except TraceError as exc:
        recorded, source = None, f"trace unreadable ({exc})"
    if recorded:
        stops.extend(point for point in recorded if point.time >= opened)
    elif state is not None and state.stop is not None:
        stops.append(StopPoint(state.updated_at, state.stop, state.phase.value))
        if source == "recorded":
            source = "no trace recorded: first and last stop only"
    elif source == "recorded":
        source = "no trailing state: initial stop only"
    closed = record.close_date.timestamp() if record.close_date else None
    return TradePicture(
        trade_id=record.id, pair=record.pair, is_short=bool(record.is_short), open_time=opened,
        open_rate=float(record.open_rate), close_time=closed, close_rate=record.close_rate,
        exit_reason=record.exit_reason, stops=tuple(sorted(stops, key=lambda point: point.time)),
        stops_source=source,
        breakeven_at=state.breakeven_at if state else None,
        activated_at=state.activated_at if state else None,
        activation_price=state.activation_price if state else None)


@dataclass(frozen=True)
class MissingCandles:
    """A database trade not drawn: ``datadir`` holds no ``timeframe`` candles of its pair in its time."""

    pair: str
    trade_id: int | str
    open_time: float
    close_time: float | None
    datadir: Path
    timeframe: str

    def warning(self) -> str:
        """One line naming the trade, the folder looked in, and how to get the candles."""
        opened = datetime.fromtimestamp(self.open_time, tz=timezone.utc)
        closed = datetime.fromtimestamp(self.close_time, tz=timezone.utc) if self.close_time else None
        until = f"{closed:%Y-%m-%d %H:%M} UTC" if closed else "now (still open)"
        span = f"{opened:%Y%m%d}-{closed + timedelta(days=1):%Y%m%d}" if closed else f"{opened:%Y%m%d}-"
        return (f"WARNING: trade {self.trade_id} {self.pair} ({opened:%Y-%m-%d %H:%M} UTC to {until}) not drawn: "
                f"no {self.timeframe} candles of {self.pair} in its time in {self.datadir} (get them with "
                f"freqtrade download-data --pairs {self.pair} --timeframes {self.timeframe} --timerange {span})")


def _candle_times(frame: DataFrame | None) -> Any:
    """The candles' open times in epoch seconds, sorted (empty without candles)."""
    import numpy as np

    if frame is None or not len(frame):
        return np.empty(0)
    return np.sort(frame["date"].map(lambda moment: moment.timestamp()).to_numpy(dtype=float))


def _covered(times: Any, trade: TradePicture, timeframe_seconds: int) -> bool:
    """Whether the candle times hold one of the trade's time (its entry candle to its exit)."""
    import numpy as np

    first = int(np.searchsorted(times, trade.open_time - timeframe_seconds, side="right"))
    last = trade.close_time if trade.close_time is not None else float("inf")
    return first < len(times) and times[first] <= last


def database_pictures(db_url: str, datadir: Path, timeframe: str, pairs: list[str] | None = None,
                      data_format: str = "feather", span: Span | None = None,
                      ) -> tuple[list[PairPicture], list[MissingCandles]]:
    """One page per pair with trades in the database (open in ``span``, --timerange); and the trades not
    drawn because ``datadir`` has no candles of their pair in their time (never a page without candles)."""
    from freqtrade.exchange import timeframe_to_seconds

    from ts_plugin.tools.readonly_db import DatabaseError, open_database

    try:
        with open_database(db_url) as database:
            records = database.trades(include_closed=True)
    except DatabaseError as exc:
        raise SourceError(str(exc)) from None
    by_pair: dict[str, list[TradePicture]] = {}
    for record in records:
        by_pair.setdefault(record.pair, []).append(database_trades(record))
    if pairs:
        unknown = [pair for pair in pairs if pair not in by_pair]
        if unknown:
            raise SourceError(f"no trades for {', '.join(unknown)} in the database "
                              f"(pairs with trades: {', '.join(sorted(by_pair)) or 'none'})")
        by_pair = {pair: by_pair[pair] for pair in pairs}
    by_pair = {pair: shown for pair, trades in by_pair.items() if (shown := trades_in(trades, span))}
    candles = load_candles(datadir, list(by_pair), timeframe, data_format=data_format)
    seconds = timeframe_to_seconds(timeframe)
    pages, missing = [], []
    for pair, trades in by_pair.items():
        times = _candle_times(candles.get(pair))
        covered = [(trade, _covered(times, trade, seconds)) for trade in trades]
        drawn = [trade for trade, found in covered if found]
        missing += [MissingCandles(pair, trade.trade_id, trade.open_time, trade.close_time, Path(datadir), timeframe)
                    for trade, found in covered if not found]
        if drawn:
            origin = "trade database: stop paths as the plugin recorded them while trading"
            pages.append(PairPicture(pair, timeframe, _window(candles[pair], drawn, seconds, span), drawn, origin))
    return pages, missing
