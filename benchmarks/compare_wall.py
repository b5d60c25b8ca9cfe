"""Wall time of ``ts-plugin compare`` on the real month against one backtest per variant.

    python -m benchmarks.compare_wall [--datadir DIR]

Three whole processes, each timed from start to exit (start-up, sandbox, data load included):
- the whole comparison (every variant the settings give, data loaded once);
- every variant alone (``compare --variants NAME``: its own start-up and data load each), summed;
- one ``ts-plugin backtest`` of the user's settings (freqtrade's report and the plugin's summary),
  times the number of variants: "one backtest per variant".
Prints the figures; BENCHMARKS.md's section on it is written from them by hand.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TS_PLUGIN = str(Path(sys.executable).with_name("ts-plugin"))
# breakeven, time activation and steps: three ablation rows, seven variants in all
SETTINGS = {"smart_trailing": {
    "activation_profit": 0.015, "trail_distance": 0.005,
    "breakeven": {"trigger_profit": 0.008, "offset": 0.002},
    "time_activation": {"after_minutes": 240, "min_profit": 0.006},
    "steps": [{"profit": 0.03, "trail_distance": 0.004}],
}}


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    began = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return time.monotonic() - began, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datadir", type=Path, default=ROOT.parent / "shared" / "data" / "binance")
    options = parser.parse_args()
    if not any(options.datadir.glob("*-5m.feather")):
        print(f"no 5m candles in {options.datadir}: nothing measured")
        return 2
    with tempfile.TemporaryDirectory(prefix="ts-compare-bench-") as scratch:
        work = Path(scratch)
        settings = work / "settings.json"
        settings.write_text(json.dumps(SETTINGS))
        common = ["--strategy", "SmartTrailingSample", "--strategy-path", str(ROOT / "ts_plugin/data/strategies"),
                  "--datadir", str(options.datadir), "--config", str(settings), "--userdir", str(work / "ud")]
        whole, out = timed([TS_PLUGIN, "compare", *common, "--json"], work)
        rows = json.loads(out)["rows"]
        names = [row["name"] for row in rows]
        print(f"compare, {len(names)} variants ({', '.join(names)}): {whole:.1f} s; "
              f"backtests inside it: {sum(row['seconds'] for row in rows):.1f} s")
        alone = {name: timed([TS_PLUGIN, "compare", *common, "--json", "--variants", name], work)[0] for name in names}
        print("each variant alone: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in alone.items())
              + f"; sum {sum(alone.values()):.1f} s")
        one, _ = timed([TS_PLUGIN, "backtest", *common], work)
        print(f"one ts-plugin backtest (your settings): {one:.1f} s; x {len(names)} = {one * len(names):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
