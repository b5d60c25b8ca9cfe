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
        "`python -m benchmarks.attribution` (in-process A/B: (a), shadow with and without momentum and its",
        "exit path, each part timed).",
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
        "| ticks | ticks that changed the state | state writes | stop-path writes (`smart_trailing_trace`) "
        "| ticks without a change that wrote |",
        "| ---: | ---: | ---: | ---: | ---: |",
        f"| {db.get('ticks', 0):,} | {db.get('changed_ticks', 0):,} | {db.get('writes', 0):,} | "
        f"{db.get('trace_writes', '-')} | {db.get('writes_on_unchanged_ticks', 0)} |",
        "",
        "A stop-path point is written only with a state write that raised the stop or changed the phase,",
        "so both keys stay silent on quiet ticks; each is its own commit in freqtrade's custom-data store.",
        "",
    ]
    lines += _exchange_sections(results)
    return "\n".join(lines)


WINDOWS_HEADING = "## Unprotected window per replacement path"
REPLACEMENTS_HEADING = "## Exchange stop replacements"
PATH_ROWS = {  # windows.py's path -> (table label, what ran on the sandbox)
    "cancel_then_create": ("cancel_then_create", "Binance spot: freqtrade's cancel, then create"),
    "make_before_break": ("make_before_break", "Binance USD-M futures algo orders: the governor's create, then cancel"),
    "amend": ("amend", "Bybit USDT perpetual (/v5/order/amend): the governor's `_amend`, one order moved in place"),
    "amend_refused": ("refused amend -> fallback", "Bybit, every amend refused (retCode 10001): the governor's "
                                                   "new-stop-first replacement"),
}
REQUEST_COLUMNS = {  # requests per move measured by windows.py, as columns of the requests table
    "amend": "amend (Bybit)", "make_before_break": "make-before-break (Binance USD-M)",
    "cancel_then_create": "cancel-then-create (Binance spot)",
}


def measured_line(results: dict) -> str:
    """When, how and on what a section was measured (each exchange section can be re-run alone)."""
    machine = results["machine"]
    note = f" {results['note']}" if results.get("note") else ""
    return (f"Measured {machine['date']} with `{results['command']}` on {machine['cpu']}, "
            f"{machine['memory']} RAM, Python {machine['python']}, freqtrade {machine['freqtrade']}, "
            f"ccxt {machine['ccxt']}.{note}")


def _exchange_sections(results: dict) -> list[str]:
    return _windows_section(results) + _replacements_section(results)


def _windows_section(results: dict) -> list[str]:
    windows = results.get("windows")
    if not windows:
        return []
    rows = [(name, windows[name]) for name in PATH_ROWS if name in windows]
    lines = [
        WINDOWS_HEADING,
        "",
        measured_line(results),
        "",
        f"Real freqtrade Exchange objects (real ccxt) with the governor installed, against the sandbox with "
        f"{windows['latency_ms']:g} ms injected on every request, {windows['replacements']} replacements per "
        "path (`benchmarks/windows.py`). Every row is measured the same way: while each replacement runs, a",
        "thread counts the stops the sandbox's book holds live for the symbol (read from the book itself: no",
        "request, no latency), and the window is the time spanned by samples that show none (from the last",
        "sample with a stop to the next one with a stop: an upper bound). The samples are only as close as",
        "the thread gets scheduled, so the largest gap between two samples is the resolution of the",
        "measurement: **a window shorter than that gap could pass unseen**, and a 0.0 below reads \"no window",
        "as long as the largest gap\", not \"provably none\". Replacement ms: the whole replacement as the",
        "caller waits for it, including ccxt's client-side rate limiter (freqtrade leaves it on), which",
        "spaces requests by their declared cost: Bybit's order endpoints 100 ms apart, Binance spot's 10 ms;",
        "each replacement starts with the limiter idle. Requests per move: what the sandbox received.",
        "",
        "| path | on the sandbox | replacements | median window ms | max window ms | samples per "
        "replacement | largest gap between samples ms (median / max) | replacement ms (median / max) "
        "| requests per move |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in rows:
        label, what = PATH_ROWS[name]
        lines.append(
            f"| {label} | {what} | {row['n']} | {row['median_ms']:.1f} | {row['max_ms']:.1f} | "
            f"{row['samples_per_replacement']:.0f} | {row['median_sample_gap_ms']:.1f} / "
            f"{row['largest_sample_gap_ms']:.1f} | {row['replacement_ms']:.0f} / {row['replacement_max_ms']:.0f} | "
            f"{row['requests_per_move']:g} |")
    lines += ["", "| path | fewest live stops at any sample | both stops seen live | left zero live "
                  "| left two or more live | requests sent per move |", "| --- | ---: | ---: | ---: | ---: | --- |"]
    for name, row in rows:
        sent = ", ".join(f"`{kind}` x {count:g}" for kind, count in row["requests"].items())
        lines.append(f"| {PATH_ROWS[name][0]} | {row['min_live_sampled']} | {row['both_live_seen']} of {row['n']} | "
                     f"{row['left_zero_live']} | {row['left_two_or_more_live']} | {sent} |")
    lines += ["", *_window_notes(windows), ""]
    return lines


def _window_notes(windows: dict) -> list[str]:
    notes = []
    spot = windows.get("cancel_then_create", {})
    if "governor_median_ms" in spot:
        notes += ["cancel_then_create: the governor's own monotonic clock (cancel answered -> create answered)",
                  f"reads median {spot['governor_median_ms']:.1f} ms, max {spot['governor_max_ms']:.1f} ms: longer "
                  "than the sampled window, which ends when the",
                  "sandbox's book holds the new order, while the governor's ends when the create's answer is back",
                  "in the bot. The bot's figure is the one its UNPROTECTED_WINDOW alarm uses."]
    if "make_before_break" in windows:
        notes += ["make_before_break and the refused amend's fallback: freqtrade's `create_stoploss` sets the",
                  "margin mode and the leverage before each futures create (two of their requests per move; the",
                  "sandbox answers them like the exchange). An open isolated position of 0.02 BTC at 50,000."]
    if "amend" in windows:
        notes += ["amend: a real freqtrade `Bybit` Exchange object in futures mode (url mode, real ccxt `bybit`",
                  "client); the replacement ms is the one amend request. The stop's order id never changes. In a",
                  "bot the amend follows freqtrade's fetch of the stop order, so ccxt's limiter delays it up to",
                  "100 ms more (the window is not affected: the one stop is live throughout)."]
    refused = windows.get("amend_refused")
    if refused:
        notes += [f"refused amend -> fallback: {refused.get('refusals', '?')} refusals, "
                  f"{refused.get('fallback_failures', '?')} failed fallbacks; each costs the refused amend plus a",
                  "make-before-break replacement, and the old stop stays live until the new one is."]
    return notes


def _replacements_section(results: dict) -> list[str]:
    from benchmarks.replacements import HEADLINE, requests_per_trade

    replaced = results.get("replacements")
    if not replaced:
        return []
    lines = [
        f"{REPLACEMENTS_HEADING} and requests per trade: plugin policy vs freqtrade's rule",
        "",
        measured_line(results),
        "",
        f"Replay of {results.get('replacements_source', '?')} as a 5-second price path (60 ticks per 5m",
        "candle), as straight lines and with seeded tick noise, trades opened whenever flat, bot stop",
        "from the real state machine, exchange stop following it under each rule",
        "(`benchmarks/replacements.py`). Gap: mean distance between the bot's stop and the exchange's",
        "stop, % of price, over ticks where the trailing stop exists. Exit: mean exit price, % from",
        "entry. Floor: trades with at least one move (the activation move off the hard stop is an",
        "emergency every rule must make), so no rule can have fewer replacements than that. The demo's",
        "settings (steps and momentum from the candles' 12-candle rate of change) are replayed for the",
        "two headline rules only.",
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
    lines += _requests_table(replaced, results.get("windows"), HEADLINE, requests_per_trade)
    return lines


def _requests_table(replaced: dict, windows: dict | None, headline: tuple, requests_per_trade) -> list[str]:
    """Exchange requests per trade by path, from the replay's moves x the requests per move measured
    in the windows run; the native backstop's requests from the replay alone."""
    per_move = {path: windows[path]["requests_per_move"] for path in REQUEST_COLUMNS
                if windows and "requests_per_move" in windows.get(path, {})}
    lines = [
        "### Exchange requests per trade, with and without the native backstop",
        "",
        "Stop moves per trade from the replay above x the requests per move measured on the sandbox",
        "(section above: " + ", ".join(f"{REQUEST_COLUMNS[p]} {n:g}" for p, n in per_move.items()) + "). Not",
        "counted (the same under every rule): the first stop's placement, and freqtrade's check of the",
        "stop order's status in each bot iteration. Native backstop (`exchange.native_backstop`, Binance",
        "USD-M `TRAILING_STOP_MARKET`), counted in the same replay: placed when the trade starts trailing",
        "(1 request), re-placed each time the distance rounded up to the 0.1 % callbackRate grid changes",
        "(`TrailGrid.native`, `needs_replacing`; new first, then the old one cancelled: 2 requests), cancelled",
        "when the trade exits on its stop (1 request). A move of the stop itself never re-places it; only",
        "steps and momentum change the distance, so with fixed settings it costs 2 requests per trailing trade.",
        "",
    ]
    if not per_move:
        return lines + ["(No requests per move measured: run the windows section too.)", ""]
    columns = [REQUEST_COLUMNS[p] for p in per_move]
    lines += ["| price path | trailing | rule | stop moves per trade | " + " | ".join(columns)
              + " | backstop: placed / re-placed / cancelled | backstop requests per trade "
              "| Binance USD-M make-before-break + backstop |",
              "| --- | --- | --- | ---: | " + " | ".join("---:" for _ in columns) + " | ---: | ---: | ---: |"]
    for path_label, by_trailing in replaced.items():
        for trailing, rows in by_trailing.items():
            for rule in headline:
                row = rows.get(rule)
                if row is None:
                    continue
                figures = requests_per_trade(row, per_move)
                with_backstop = (f"{figures['make_before_break'] + figures['backstop']:.2f}"
                                 if "make_before_break" in figures else "-")
                lines.append(
                    f"| {path_label} | {trailing.split(' (')[0]} | {rule.split(' (')[0]} | {row['per_trade']:.2f} | "
                    + " | ".join(f"{figures[p]:.2f}" for p in per_move)
                    + f" | {row['backstop_placed']} / {row['backstop_replaced']} / {row['backstop_cancelled']} "
                    f"| {figures['backstop']:.2f} | {with_backstop} |")
    return lines + [""]


def replace_sections(previous: str, text: str, headings: tuple[str, ...]) -> str:
    """``previous`` (a BENCHMARKS.md) with each section of ``text`` whose heading starts with one of
    ``headings`` put in place of the section with the same heading start; a new one goes before the
    Soak section (or at the end). The other sections are left exactly as they were."""
    def sections(document: str) -> list[str]:
        parts, current = [], []
        for line in document.splitlines(keepends=True):
            if line.startswith("## ") and current:
                parts.append("".join(current))
                current = []
            current.append(line)
        if current:
            parts.append("".join(current))
        return parts

    def key(part: str) -> str | None:
        return next((heading for heading in headings if part.startswith(heading)), None)

    new = {key(part): part.rstrip("\n") + "\n\n" for part in sections(text) if key(part)}
    old = sections(previous)
    out = [new.pop(key(part)) if key(part) in new else part for part in old]
    soak = next((i for i, part in enumerate(out) if part.startswith("## Soak")), len(out))
    out[soak:soak] = list(new.values())
    return "".join(out).rstrip("\n") + "\n"


def keep_unmeasured_sections(previous: str, text: str) -> str:
    """``text`` (a full new BENCHMARKS.md) plus every section of ``previous`` that this run does not
    measure (for example the killed-mid-trail exits, recorded from end-to-end tests), so a full
    ``make bench`` never drops a figure it cannot produce itself."""
    def headings(document: str) -> set[str]:
        return {line.rstrip("\n") for line in document.splitlines() if line.startswith("## ")}

    missing = tuple(sorted(headings(previous) - headings(text)))
    return replace_sections(text, previous, missing) if missing else text
