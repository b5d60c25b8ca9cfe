"""BENCHMARKS.md from a results dict."""

from __future__ import annotations


def _ratios(rows: list[dict], dataset: str) -> tuple[str, str, str]:
    """plugin / (a), shadow / (a) and whether shadow and (a) really ran the same trades and calls."""
    by_name = {r["strategy"]: r for r in rows if r["set"] == dataset}
    floor = next(v for k, v in by_name.items() if k.startswith("(a) constant"))
    plugin = by_name.get("plugin (SmartTrailingSample)")
    shadow = next((v for k, v in by_name.items() if k.startswith("(a) + plugin")), None)
    first = f"{plugin['median_s'] / floor['median_s']:.2f}" if plugin else "-"
    if shadow is None:
        return first, "-", "-"
    same = shadow["trades"] == floor["trades"] and shadow.get("calls") == floor.get("calls")
    return first, f"{shadow['median_s'] / floor['median_s']:.2f}", "yes" if same else "NO"


def render(results: dict) -> str:
    machine = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {machine['date']} with `{results['command']}` on {machine['cpu']}, "
        f"{machine['memory']} RAM, Python {machine['python']}, freqtrade {machine['freqtrade']}, "
        f"ccxt {machine['ccxt']}. Timings are benchmarks, never test thresholds.",
        "",
        "## Wall time of a whole `freqtrade backtesting` process",
        "",
        "Same entries in all three; (a) is a `custom_stoploss` that only returns a constant (the floor:",
        "freqtrade deep-copies the trade for every call), (b) is freqtrade's built-in trailing stop.",
        "Target: plugin <= 1.10 x (a). Exits differ between the three (the constant in (a) is a 4 %",
        "trailing distance, which holds trades longer), so the number of `custom_stoploss` calls each run",
        "paid for is shown too (counted by a twin strategy that increments a counter per call).",
        "The like-for-like row is \"(a) + plugin shadow\": the plugin's complete `custom_stoploss` (and",
        "`order_filled`) runs on every call but (a)'s constant is returned, so it makes exactly (a)'s",
        "trades and calls (checked below) and the difference to (a) is the plugin's own work.",
        "The plugin's own callbacks (`custom_stoploss`, `custom_exit`, `order_filled`) are marked as",
        "library code, so freqtrade does not deep-copy the trade for them (it does for a strategy's own",
        "overrides, as in (a) and the shadow's `custom_stoploss`): the plain plugin rows pay no copy.",
        "Strategies: `benchmarks/strategies/bench_strategies.py`; each run is a fresh",
        "`python -m freqtrade backtesting --export none --cache none` process against the local sandbox;",
        "the runs are interleaved round-robin over the strategies, so machine drift hits all of them.",
        "Where the time goes: `python -m benchmarks.profile` (cProfile of one in-process run) and",
        "`python -m benchmarks.attribution` (in-process A/B: (a), shadow, shadow without momentum).",
        "",
        "| dataset | strategy | median wall s | runs | trades | custom_stoploss calls |",
        "| --- | --- | ---: | --- | ---: | ---: |",
    ]
    for row in results["wall"]:
        calls = f"{row['calls']:,}" if row.get("calls") else "-"
        lines.append(f"| {row['set']} | {row['strategy']} | {row['median_s']:.2f} | "
                     f"{', '.join(map(str, row['runs']))} | {row['trades']} | {calls} |")
    lines += ["", "| dataset | plugin / (a) (own exits) | shadow / (a) (same exits, target <= 1.10) "
                  "| shadow made (a)'s trades and calls |", "| --- | ---: | ---: | --- |"]
    for dataset in dict.fromkeys(r["set"] for r in results["wall"]):
        plugin, shadow, same = _ratios(results["wall"], dataset)
        lines.append(f"| {dataset} | {plugin} | {shadow} | {same} |")
    per = results["percall"] or {}
    lines += [
        "",
        "## The plugin's own cost per `custom_stoploss` call",
        "",
        "`BenchTimedPlugin` (busy entries, 1.5 % hard stop and tighter trailing settings so that trades",
        "turn over fast, see `benchmarks/run.py`) times the mixin's work inside each call, in-process,",
        "with the garbage collector paused in the timed region (collections triggered by freqtrade's",
        "deep copy of the trade would otherwise land in whichever code allocates next), filed under",
        f"the number of trades closed before the call. {per.get('calls', 0):,} calls, "
        f"{per.get('closed_trades', 0):,} closed trades.",
        "",
        "| window | mean us/call | median us/call | calls in window |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label in ("~1,000 closed trades", "~10,000 closed trades"):
        window = per.get(label)
        if window:
            lines.append(f"| {label} | {window['mean_us']:.2f} | {window['median_us']:.2f} | {window['calls']:,} |")
        else:
            lines.append(f"| {label} | not reached | | |")
    if per.get("quarters"):
        lines += ["", "Median per quarter of the run (calls in time order), to show the trend:", "",
                  "| quarter | closed trades at its start | median us/call |", "| --- | ---: | ---: |"]
        for index, quarter in enumerate(per["quarters"], start=1):
            lines.append(f"| {index} | {quarter['closed_from']:,} | {quarter['median_us']:.2f} |")
        lines += ["", f"Trailing states left in the plugin's cache at the end: {per.get('open_states_left', '?')} "
                  "(only open trades are kept).",
                  "", "The absolute figure inside a running backtest is far above what the same code costs in",
                  "isolation (about 1.3 us per call without momentum, measured with a bare loop over",
                  "`custom_stoploss` on one LocalTrade); the garbage collector is paused in the timed region,",
                  "so the difference is the environment of a large backtest process (caches, allocator), which",
                  "the wall-time comparison above already contains."]
    db = results["dbwrites"] or {}
    lines += [
        "",
        "## Database writes in dry-run / live",
        "",
        f"Replay of {db.get('source', '?')} (last 1,500 candles each, four ticks per candle: open, high,",
        "low, close) through freqtrade's `should_exit` with a real SQLite database, runmode dry-run.",
        "",
        "| ticks | ticks that changed the state | custom-data writes | writes on unchanged ticks |",
        "| ---: | ---: | ---: | ---: |",
        f"| {db.get('ticks', 0):,} | {db.get('changed_ticks', 0):,} | {db.get('writes', 0):,} | "
        f"{db.get('writes_on_unchanged_ticks', 0)} |",
        "",
    ]
    lines += _exchange_sections(results)
    return "\n".join(lines)


def _exchange_sections(results: dict) -> list[str]:
    windows = results.get("windows")
    lines: list[str] = []
    if windows:
        lines += [
            "## Unprotected window per replacement path",
            "",
            f"A real freqtrade Exchange object with the governor installed, against the sandbox with "
            f"{windows['latency_ms']:g} ms injected on every request, {windows['replacements']} "
            "replacements per path (`benchmarks/windows.py`).",
            "",
            "| path | replacements | median window ms | max window ms | note |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        notes = {
            "cancel_then_create": "Binance spot: confirmed cancel -> acknowledged create, governor's monotonic clock",
            "make_before_break": "Binance USD-M futures algo (conditional) orders on the sandbox: the governor's "
                                 "create, then cancel; window = time with zero live stops on the exchange "
                                 "(see below)",
            "amend": "one in-place request (Bybit / OKX); not on the Binance sandbox: "
                     f"one signed request takes {windows['amend'].get('request_ms', 0):.0f} ms there",
        }
        for path in ("cancel_then_create", "make_before_break", "amend"):
            row = windows[path]
            lines.append(f"| {path} | {row['n']} | {row['median_ms']:.1f} | {row['max_ms']:.1f} | {notes[path]} |")
        lines += ["", *_make_before_break_text(windows["make_before_break"]), ""]
    replaced = results.get("replacements")
    if replaced:
        lines += [
            "## Exchange stop replacements per trade: plugin policy vs freqtrade's rule",
            "",
            f"Replay of {results.get('replacements_source', '?')} as a 5-second price path (60 ticks per 5m",
            "candle), as straight lines and with seeded tick noise, trades opened whenever flat, bot stop",
            "from the real state machine, exchange stop following it under each rule",
            "(`benchmarks/replacements.py`). Gap: mean distance between the bot's stop and the exchange's",
            "stop, % of price, over ticks where the trailing stop exists. Exit: mean exit price, % from",
            "entry. Floor: trades with at least one move (the activation move off the hard stop is an",
            "emergency every rule must make), so no rule can have fewer replacements than that.",
            "",
        ]
        for path_label, by_trailing in replaced.items():
            for trailing, rows in by_trailing.items():
                lines += [f"Path {path_label}, trailing {trailing}:", "",
                          "| rule | trades | replacements | per trade | fewer than freqtrade | mean gap % "
                          "| mean exit % | floor |",
                          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
                for label, row in rows.items():
                    lines.append(f"| {label} | {row['trades']} | {row['replacements']} | {row['per_trade']:.2f} | "
                                 f"{row['fewer_pct']:.0f} % | {row['mean_gap_pct']:.3f} | "
                                 f"{row['mean_exit_pct']:.3f} | {row['protected']} |")
                lines.append("")
    return lines


def _make_before_break_text(row: dict) -> list[str]:
    """How the make-before-break window was observed, so a reader can judge the 0 in the table."""
    return [
        "make_before_break: a real freqtrade Exchange in futures mode (isolated, `BTC/USDT:USDT`, real",
        "ccxt) with an open position; each replacement runs `StopGovernor._make_before_break` while a",
        f"thread counts the sandbox's live conditional stops ({row['samples_per_replacement']:.0f} samples per "
        f"replacement, at most {row['largest_sample_gap_ms']:.1f} ms apart).",
        f"Fewest live stops at any sample: {row['min_live_sampled']}; both stops seen live in "
        f"{row['both_live_seen']} of {row['n']} replacements.",
        "Whole replacement (create request start -> cancel acknowledged, including the margin-mode and",
        f"leverage calls freqtrade makes before the create): median {row['replacement_ms']:.0f} ms, "
        f"max {row['replacement_max_ms']:.0f} ms.",
        f"Replacements that left zero live stops: {row['left_zero_live']}; two or more: "
        f"{row['left_two_or_more_live']}.",
    ]
