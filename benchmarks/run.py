"""`make bench`: wall time vs (a) and (b), per-call cost vs closed trades, DB writes per tick, the plugin
against freqtrade's built-in trailing stop (benchmarks/versus_builtin.py).

    python -m benchmarks.run [--quick] [--runs N] [--big-runs N] [--versus-runs N] [--write] [--soak]
    python -m benchmarks.run --only windows,replacements [--write] [--note TEXT]

--quick: real data only (or a 60-day synthetic set), one run each (against the built-in: one run per
variant, one hyperopt of 4 epochs per space). --write: rewrite BENCHMARKS.md.
--soak: also run the soak end to end (benchmarks/soak.py) and record its section; without it the
last "## Soak" section of BENCHMARKS.md is kept as it was.
--only: just these exchange sections (unprotected windows, replacements and requests per trade);
with --write only their sections of BENCHMARKS.md are replaced. The requests per trade need the
windows' requests per move: with only ``replacements`` they come from the last run's results.json.
--note: a sentence added to those sections' "Measured" line (say so when the machine was busy).
--report (with --only): no measuring, the last run's figures in .bench/results.json rendered again.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from benchmarks.paths import ROOT, SHARED, WORK

BIG_SET = {f"{base}/USDT": price for base, price in [
    ("BTC", 60_000.0), ("ETH", 3_000.0), ("SOL", 150.0), ("XRP", 0.6), ("ADA", 0.45), ("DOGE", 0.12),
    ("LTC", 80.0), ("DOT", 6.0), ("LINK", 14.0), ("AVAX", 30.0)]}

# Tighter than the sample's so that trades turn over fast enough to reach 10,000 closed trades.
PERCALL_SETTINGS = {
    "activation_profit": 0.006, "trail_distance": 0.004,
    "breakeven": {"trigger_profit": 0.004, "offset": 0.001},
    "steps": [{"profit": 0.02, "trail_distance": 0.003}],
    "momentum": {"roc_period": 12, "roc_threshold": 0.02, "roc_factor": 0.7,
                 "min_distance": 0.002, "max_distance": 0.01},
}


def _datasets(quick: bool) -> list[tuple[str, Path, str]]:
    from ts_plugin.tools.sampledata import generate

    sets = []
    if any(SHARED.glob("*-5m.feather")):
        sets.append(("real: 10 BTC pairs x 20 days", SHARED, "BTC"))
    else:
        print(f"SKIP real data: {SHARED} not present", flush=True)
    days = 60 if quick else 180
    big = WORK / f"data-{days}d"
    if not any(big.glob("*-5m.feather")):
        generate(big, pairs=BIG_SET, days=days, seed=11)
    if not quick or not sets:
        sets.append((f"synthetic: 10 pairs x {days} days", big, "USDT"))
    return sets


EXCHANGE_SECTIONS = ("windows", "replacements")


def _sections(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in EXCHANGE_SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown section(s) {', '.join(unknown) or text!r}; "
                                         f"choose from {', '.join(EXCHANGE_SECTIONS)}")
    return names


def _replay_files() -> list[Path]:
    return sorted(SHARED.glob("*-5m.feather")) or sorted(_datasets(quick=True)[-1][1].glob("*-5m.feather"))


def _measure_exchange(results: dict, selected: tuple[str, ...], previous: dict) -> None:
    """The windows per path (and requests per move) and the replay's replacements per trade."""
    from benchmarks import replacements, windows

    if "windows" in selected or not previous.get("windows", {}).get("amend"):
        print("unprotected window per replacement path (sandbox, 20 ms injected latency):", flush=True)
        results["windows"] = windows.measure(latency_ms=20.0, replacements=60)
        print(json.dumps(results["windows"]), flush=True)
    else:
        print("requests per move from the last windows run (.bench/results.json)", flush=True)
        results["windows"] = previous["windows"]
    if "replacements" in selected:
        files = _replay_files()
        print("exchange stop replacements per trade (5 s price path):", flush=True)
        results["replacements"] = replacements.compare(files)
        results["replacements_source"] = ", ".join(f.name for f in files)


def _only(selected: tuple[str, ...], options: argparse.Namespace, command: str) -> int:
    """Only the exchange sections; with --write only they change in BENCHMARKS.md."""
    from benchmarks.machine import facts
    from benchmarks.report import REPLACEMENTS_HEADING, WINDOWS_HEADING, _exchange_sections, replace_sections

    WORK.mkdir(exist_ok=True)
    stored = WORK / "results.json"
    previous = json.loads(stored.read_text()) if stored.exists() else {}
    if options.report:  # render the last run's figures again
        results = previous
    else:
        results = {"machine": facts(), "command": command, "note": options.note}
        _measure_exchange(results, selected, previous)
        stored.write_text(json.dumps({**previous, **results}, indent=1, default=str))
    text = "\n".join(_exchange_sections(results))
    print(text)
    if options.write:
        headings = tuple(h for name, h in (("windows", WINDOWS_HEADING), ("replacements", REPLACEMENTS_HEADING))
                         if name in selected)
        target = ROOT / "BENCHMARKS.md"
        target.write_text(replace_sections(target.read_text() if target.exists() else "", text, headings))
    return 0


def main(argv: list[str] | None = None) -> int:
    from benchmarks import dbwrites, percall, soak, versus_builtin, wall
    from benchmarks.machine import facts
    from benchmarks.report import keep_unmeasured_sections, measured_line, render, replace_sections
    from ts_plugin.sandbox import SandboxExchange, ccxt_overrides
    from ts_plugin.tools.demo import DEFAULT_CONFIG, build_backtest_config, pairs_in

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=3, help="runs per strategy on the real data set")
    parser.add_argument("--big-runs", type=int, default=2, help="runs per strategy on the 180-day set")
    parser.add_argument("--versus-runs", type=int, default=3,
                        help="runs per variant against the built-in trailing stop, per data set")
    parser.add_argument("--versus-hyperopt-runs", type=int, default=2, help="hyperopt processes per space")
    parser.add_argument("--versus-epochs", type=int, default=8, help="epochs per hyperopt process")
    parser.add_argument("--write", action="store_true", help="rewrite BENCHMARKS.md")
    parser.add_argument("--soak", action="store_true",
                        help="also run the soak (benchmarks/soak.py) and record its figures")
    parser.add_argument("--only", type=_sections, metavar="SECTIONS",
                        help="only these exchange sections, comma-separated: windows, replacements")
    parser.add_argument("--note", default="", help="a sentence for the exchange sections' measured line")
    parser.add_argument("--report", action="store_true",
                        help="with --only: render the figures of the last run (.bench/results.json) again")
    options = parser.parse_args(argv)
    command = " ".join([".venv/bin/python -m benchmarks.run", shlex.join(argv if argv is not None else sys.argv[1:])])
    if options.only:
        return _only(options.only, options, command)
    WORK.mkdir(exist_ok=True)
    datasets = _datasets(options.quick)
    versus_sets = versus_builtin.both_datasets()  # the real month and the generated 60 days
    prices = {}
    for _, datadir, _ in datasets + versus_sets:
        prices.update(pairs_in(datadir))
    results: dict = {"machine": facts(), "command": command, "note": options.note,
                     "wall": [], "percall": None, "dbwrites": None}
    with SandboxExchange(prices) as sandbox:
        overrides = ccxt_overrides(sandbox.url)
        print("wall time of `freqtrade backtesting` (whole process):", flush=True)
        for label, datadir, stake in datasets:
            runs = 1 if options.quick else (options.runs if "real" in label else options.big_runs)
            results["wall"] += wall.compare(label, datadir, sorted(pairs_in(datadir)), stake, overrides,
                                            WORK / label.split(":")[0], runs)
        label, datadir, stake = datasets[-1]
        print(f"per-call cost on {label} (BenchTimedPlugin, in-process):", flush=True)
        config = build_backtest_config(
            DEFAULT_CONFIG, datadir, overrides, strategy="BenchTimedPlugin",
            strategy_path=ROOT / "benchmarks" / "strategies", pairs=sorted(pairs_in(datadir)),
            user_data_dir=WORK, extra={"max_open_trades": 10, "stake_currency": stake,
                                       "stake_amount": 0.01 if stake == "BTC" else 100,
                                       # a wallet that cannot run dry: trades must never stop for lack of stake
                                       "dry_run_wallet": 1e6 if stake == "BTC" else 1e10,
                                       "smart_trailing": PERCALL_SETTINGS})
        results["percall"] = percall.measure(config)
        print(json.dumps(results["percall"], indent=1), flush=True)
        print("against freqtrade's built-in trailing stop (alternated; hyperopt per epoch):", flush=True)
        quick = options.quick
        results["versus"] = versus_builtin.measure(
            versus_sets, lambda _: overrides, 1 if quick else options.versus_runs,
            1 if quick else options.versus_hyperopt_runs, 4 if quick else options.versus_epochs, WORK)
    files = sorted(SHARED.glob("*-5m.feather"))[:3] or sorted(datasets[-1][1].glob("*-5m.feather"))[:3]
    print("database writes in dry-run mode (SQLite replay):", flush=True)
    results["dbwrites"] = dbwrites.replay(files, 1500)
    results["dbwrites"]["source"] = ", ".join(f.name for f in files)
    print(json.dumps(results["dbwrites"]), flush=True)
    _measure_exchange(results, EXCHANGE_SECTIONS, {})
    (WORK / "results.json").write_text(json.dumps(results, indent=1, default=str))
    text = render(results)
    versus = "\n".join(versus_builtin.section(results["versus"], measured_line(results)))
    text = replace_sections(text, versus, (versus_builtin.HEADING,))
    soak_section = None
    if options.soak:
        print("soak (live bot, real-candle paths, faults, kill -9; spot, Binance USD-M, Bybit):", flush=True)
        soak_section = soak.measure_and_render(results["command"])
    previous = (ROOT / "BENCHMARKS.md").read_text() if (ROOT / "BENCHMARKS.md").exists() else ""
    text = soak.with_section(text, soak_section, previous)  # without --soak: the last Soak section stays
    text = keep_unmeasured_sections(previous, text)
    print(text)
    if options.write:
        (ROOT / "BENCHMARKS.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
