"""The whole comparison: check the input, start the sandbox, optionally optimise before ``--split``, then
run every variant on the same candles and return the rows (see running.py for how)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from ts_plugin.tools.compare import split as splitting
from ts_plugin.tools.compare import variants as v
from ts_plugin.tools.compare.leverage import constant, differing_note, mapped_line, trade_leverages
from ts_plugin.tools.compare.running import CompareError, Outcome, Session, Setup


def _candle_span(datadir: Path, pairs: list[str], timeframe: str | None, futures: bool = False):
    import pandas as pd

    from ts_plugin.tools.futures_candles import candle_file

    first = last = None
    for pair in pairs:
        wanted = candle_file(datadir, pair, timeframe or "*", futures)
        for path in sorted(wanted.parent.glob(wanted.name))[:1]:
            dates = pd.read_feather(path, columns=["date"])["date"]
            low, high = dates.min().to_pydatetime(), dates.max().to_pydatetime()
            first = low if first is None else min(first, low)
            last = high if last is None else max(last, high)
    return first, last


def _pairs(setup: Setup, futures: bool) -> dict[str, float]:
    """The pairs to compare and their last close (the sandbox's prices): spot candles in DATADIR, or
    with trading_mode futures the futures candles in DATADIR/futures, as ``ts-plugin backtest`` reads."""
    from ts_plugin.tools.demo import pairs_in
    from ts_plugin.tools.futures_candles import candle_file, futures_pairs_in, layout

    candles_in = futures_pairs_in if futures else pairs_in
    found = candles_in(setup.datadir, setup.timeframe) if setup.datadir.is_dir() else {}
    if not found:
        kind = "futures" if futures else "feather"
        hint = ""
        if not futures and setup.datadir.is_dir() and futures_pairs_in(setup.datadir, setup.timeframe):
            hint = ("; it holds futures candles in its futures/ folder: set \"trading_mode\": \"futures\" in a "
                    "--config file to compare those")
        raise CompareError(f"--datadir {setup.datadir}: no {setup.timeframe or ''} {kind} candles "
                           f"({layout(setup.timeframe, futures)}){hint}".replace("no  ", "no "))
    if setup.pairs:
        missing = [pair for pair in setup.pairs if pair not in found]
        if missing:
            raise CompareError(f"--pairs {' '.join(missing)}: no candles in {setup.datadir} "
                               f"(found: {', '.join(found)})")
        found = {pair: found[pair] for pair in setup.pairs}
    if setup.timeframe_detail:
        detail = setup.timeframe_detail
        lacking = [pair for pair in found if not candle_file(setup.datadir, pair, detail, futures).is_file()]
        if lacking:
            raise CompareError(f"--timeframe-detail {detail}: no {detail} candles in {setup.datadir} for "
                               f"{', '.join(lacking)} (give --pairs with detail candles, or download them)")
    return found


def run_comparison(setup: Setup, split: str | None = None, epochs: int = splitting.DEFAULT_EPOCHS,
                   progress: Callable[[str], None] = print, quiet: bool = True,
                   plotted: tuple[str, ...] = ()) -> Outcome:
    """Every chosen variant backtested on the same candles; CompareError for anything the user must fix."""
    from freqtrade.configuration.directory_operations import create_userdata_dir
    from freqtrade.exceptions import OperationalException

    from ts_plugin.core.config import parse_config
    from ts_plugin.sandbox import SandboxExchange, ccxt_overrides
    from ts_plugin.tools.demo import BACKTEST_CONFIG, backtest_stake, build_backtest_config
    from ts_plugin.tools.futures_candles import FUTURES_DEFAULTS, futures_configured

    if setup.chosen and (unknown := v.unknown_names(setup.chosen)):
        raise CompareError(f"--variants {' '.join(unknown)}: unknown (choose from {', '.join(v.NAMES)})")
    if setup.timerange:
        from freqtrade.configuration import TimeRange

        try:
            TimeRange.parse_timerange(setup.timerange)
        except Exception as exc:  # freqtrade's own parser decides what a range is
            raise CompareError(f"--timerange {setup.timerange}: {exc}") from None
    if split is not None:
        splitting.parse_date(split)
    futures = futures_configured(setup.configs, BACKTEST_CONFIG)
    found = _pairs(setup, futures)
    # your --config files win over these; futures: isolated margin and order-book pricing, as ts-plugin backtest
    defaults = {**FUTURES_DEFAULTS, **backtest_stake(found)} if futures else backtest_stake(found)
    timerange = setup.timerange
    before = None
    if split is not None:
        first, last = _candle_span(setup.datadir, list(found), setup.timeframe, futures)
        before, timerange = splitting.periods(split, setup.timerange, first, last)
    try:
        create_userdata_dir(str(setup.userdir), create_dir=True)
    except (OperationalException, OSError) as exc:
        raise CompareError(f"--userdir {setup.userdir}: cannot use it as the user data folder: {exc}") from None
    sandbox = SandboxExchange(found)
    session = None
    if quiet:  # freqtrade's INFO log (start-up, each strategy load): a progress line per variant instead
        logging.disable(logging.INFO)
    try:
        sandbox.start()

        def config_for(period: str | None) -> dict:
            config = build_backtest_config(
                BACKTEST_CONFIG, setup.datadir.resolve(), ccxt_overrides(sandbox.url), strategy=setup.strategy,
                strategy_path=setup.strategy_path, pairs=list(found), timerange=period,
                user_data_dir=setup.userdir.resolve(), user_configs=setup.configs, defaults=defaults,
                timeframe=setup.timeframe, timeframe_detail=setup.timeframe_detail, export="none")
            return config

        params: dict = {}
        if before is not None:
            progress(f"hyperopt of the smart_trailing space on {before} ({epochs} epochs) ...")
            params = splitting.optimise(config_for(before), before, epochs)
            progress(f"best before {split}: {params or 'no result'}")
        session = Session(config_for(timerange), progress)
        settings = session.user_settings()
        try:
            from_strategy, note = v.strategy_builtin(session.user)
            if note:
                progress(note)
            chosen = build_variants(parse_config(settings), setup.chosen, settings, params, split, from_strategy)
        except ValueError as exc:
            raise CompareError(f"--strategy {setup.strategy}: {exc}") from None
        if not chosen:
            raise CompareError(f"--variants {' '.join(setup.chosen or [])}: none of these applies to your "
                               "settings (an ablation row needs the rule configured)")
        names = [variant.name for variant in chosen]
        if missing := [name for name in plotted if name not in names]:
            raise CompareError(f"--plot-variants {' '.join(missing)}: not in this comparison "
                               f"(its variants: {', '.join(names)})")
        rows, results, stops, mapping = run_variants(session, chosen, plotted, progress)
        return Outcome(rows=rows, user_settings=settings, fee=float(session.backtesting.fee or 0.0),
                       mapped_leverage=mapping,
                       timeframe_detail=setup.timeframe_detail, timerange=timerange or "all candles",
                       results=results, stops=stops, timeframe=session.backtesting.timeframe,
                       candles=session.candles(timerange) if plotted else {})
    except OperationalException as exc:  # freqtrade's own configuration and data refusals
        raise CompareError(_refusal(str(exc), setup)) from None
    finally:
        if session is not None:
            session.cleanup()
        sandbox.stop()
        if quiet:
            logging.disable(logging.NOTSET)


def run_variants(session: Session, chosen: list[v.Variant], plotted: tuple[str, ...],
                 progress: Callable[[str], None]) -> tuple[list, dict, dict, float]:
    """Run the variants in order: their rows, freqtrade's stats and the stop paths by name, and the
    leverage the built-in was mapped at. The variants mapped from the built-in get the leverage of the
    trades run before them (leverage.py); the first of them with nothing run before it runs at leverage 1
    and again when its trades show one other leverage."""
    rows, results, stops = [], {}, {}
    seen: set[float] = set()  # the leverages of the trades of the variants run so far
    mapping = None  # decided at the first variant mapped from the built-in
    for index, variant in enumerate(chosen, 1):
        paths = stops.setdefault(variant.name, {}) if variant.name in plotted else None
        if variant.mapped_from is not None and mapping is None:
            if not seen:
                found_row, result = session.run(variant, index, len(chosen), paths)
                seen |= trade_leverages(result)
                mapping = _mapping_leverage(seen, progress)
                if mapping == 1:
                    results[variant.name] = result
                    rows.append(found_row)
                    continue
                if paths is not None:
                    paths.clear()
            else:
                mapping = _mapping_leverage(seen, progress)
        if variant.mapped_from is not None:
            variant = v.at_leverage(variant, mapping)
        found_row, results[variant.name] = session.run(variant, index, len(chosen), paths)
        seen |= trade_leverages(results[variant.name])
        rows.append(found_row)
    return rows, results, stops, mapping or 1.0


def _mapping_leverage(seen: set[float], progress: Callable[[str], None]) -> float:
    """The leverage to map the built-in at: the trades' one leverage, else 1 (with a NOTE naming them
    when they differ)."""
    found = constant(seen)
    if found is not None and found != 1:
        progress(mapped_line(found))
        return found
    if len(seen) > 1:
        progress(differing_note(seen))
    return 1.0


def build_variants(user, chosen, settings, params, split, from_strategy=None) -> list[v.Variant]:
    found = v.build(user, chosen, from_strategy)
    if split is not None and (not chosen or v.OPTIMISED in chosen):
        if not any(variant.name == v.YOURS for variant in found):
            found.append(v.Variant(v.YOURS, "plugin with your settings"))
        found.append(v.optimised(settings, params, split))
    return found


def _refusal(message: str, setup: Setup) -> str:
    """freqtrade's refusal, naming the option it is about."""
    if "timerange" in message.lower() and setup.timerange:
        return f"--timerange {setup.timerange}: {message}"
    if "Impossible to load Strategy" in message or "Could not load" in message:
        return f"--strategy {setup.strategy}: not found in --strategy-path {setup.strategy_path} ({message})"
    if "No data found" in message or "No data" in message:
        detail = f" or --timeframe-detail {setup.timeframe_detail}" if setup.timeframe_detail else ""
        return f"--datadir {setup.datadir}: no candles for the pairs, --timerange{detail} asked ({message})"
    return f"backtest refused: {message}"
