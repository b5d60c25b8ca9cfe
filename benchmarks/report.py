"""BENCHMARKS.md from a results dict."""

from __future__ import annotations


def _ratio(rows: list[dict], dataset: str) -> str:
    by_name = {r["strategy"]: r["median_s"] for r in rows if r["set"] == dataset}
    plugin = next(v for k, v in by_name.items() if k.startswith("plugin"))
    floor = next(v for k, v in by_name.items() if k.startswith("(a)"))
    return f"{plugin / floor:.2f}"


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
        "Target: plugin <= 1.10 x (a).",
        "",
        "| dataset | strategy | median wall s | runs | trades |",
        "| --- | --- | ---: | --- | ---: |",
    ]
    for row in results["wall"]:
        lines.append(f"| {row['set']} | {row['strategy']} | {row['median_s']:.2f} | "
                     f"{', '.join(map(str, row['runs']))} | {row['trades']} |")
    lines += ["", "| dataset | plugin / (a) |", "| --- | ---: |"]
    for dataset in dict.fromkeys(r["set"] for r in results["wall"]):
        lines.append(f"| {dataset} | {_ratio(results['wall'], dataset)} |")
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
    return "\n".join(lines)
