"""The soak's figures for BENCHMARKS.md: `python -m benchmarks.soak [--venue V ...] [--write]`.

Runs the same scenarios as `make soak` (`tests/e2e/soak.py`: a live bot on the sandbox, four pairs on
real-candle paths, force-entries, latency, 429 bursts, -2011 on cancels of stops that later fill, a
kill -9 and a restart; on Binance USD-M futures and Bybit linear also the native backstop and
position adjustments), keeps each venue's report in `.bench/soak/<venue>/soak.json` and, with --write,
replaces the "## Soak" section of BENCHMARKS.md (or appends it): one table per venue, a venue not run
this time shown from its last report. `python -m benchmarks.run --soak` does the same as part of
`make bench`; a `make bench` without it carries the last Soak section over unchanged.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "binance"
WORK = ROOT / ".bench" / "soak"
HEADING = "## Soak"


VENUES = ("spot", "binance_futures", "bybit")  # tests/e2e/soak.py's PLANS, in the order shown


def measure(command: str, venue: str = "spot") -> dict | None:
    """Run the soak of one venue once; its report with the machine and the command, or None without
    the data."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.machine import facts
    from tests.e2e import soak

    reason = soak.data_missing(SHARED)
    if reason:
        print(f"SKIP soak: {reason}", flush=True)
        return None
    work = WORK / venue
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    report = soak.run_soak(work, SHARED, plan=soak.PLANS[venue])
    report["machine"], report["command"] = facts(), command
    try:
        report["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                          text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        report["commit"] = None
    report["settings"] = {"smart_trailing": soak.SETTINGS, "hard_stop": soak.HARD_STOP,
                          "first_stop_grace_s": soak.FIRST_STOP_GRACE_S,
                          "replacement_grace_s": soak.REPLACEMENT_GRACE_S,
                          "unprotected_bound_s": soak.UNPROTECTED_BOUND_S,
                          "iteration_graces": soak.ITERATION_GRACES,
                          "unprotected_iterations_bound": soak.UNPROTECTED_ITERATIONS_BOUND}
    (work / "soak.json").write_text(json.dumps(report, indent=1))
    return report


def last_reports(venues: tuple[str, ...] = VENUES) -> dict[str, dict]:
    """The last report of each venue that has one (``.bench/soak/<venue>/soak.json``)."""
    found = {}
    for venue in venues:
        path = WORK / venue / "soak.json"
        if path.exists():
            found[venue] = json.loads(path.read_text())
    return found


def measure_and_render(command: str, venues: tuple[str, ...] = VENUES) -> str | None:
    """Run the soak on ``venues``; the Soak section with them and the last figures of the others."""
    measured = {venue: measure(command, venue) for venue in venues}
    if not any(measured.values()):
        return None
    return render_all(last_reports())


INTRO = {
    "binance usd-m futures": "A live Binance USD-M futures bot (isolated, conditional stops on the algo API "
                             "replaced make-before-break, `native_backstop` on: a TRAILING_STOP_MARKET while "
                             "trailing) on the sandbox, strategy `E2ESoakAdjust` (by trade id: one more entry "
                             "while trailing, a partial exit of a third while trailing, one more entry on a 1 % "
                             "dip, nothing); the restart after the `kill -9` switches `native_backstop` off.",
    "bybit linear": "A live Bybit linear bot (isolated, conditional stops amended in place, `native_backstop` on: "
                    "the position's trailing stop while trailing) on the sandbox, strategy `E2ESoakAdjust` (as "
                    "on Binance USD-M); no -2011 fault (a Bybit stop moves by amend, not by a cancel).",
}


def render_all(reports: dict[str, dict]) -> str:
    """The Soak section: the spot run's table under the section heading, each other venue's under
    its own sub-heading."""
    parts = [render(reports["spot"]) if "spot" in reports else HEADING + "\n"]
    for venue, report in reports.items():
        if venue != "spot":
            name = {"binance usd-m futures": "Binance USD-M futures", "bybit linear": "Bybit linear"}.get(
                report.get("venue", venue), venue)
            parts.append(render(report, heading=f"### Soak on {name}"))
    return "\n".join(parts)


def _checks_rows(report: dict) -> list[str]:
    """The rows of the checks against freqtrade and the webhook (reports written before them: none)."""
    rows = []
    if "position_findings" in report:
        adjusted = report["adjusted_positions"]
        rows += [
            f"| positions adjusted: more entries / partial exits | {adjusted['adds']} / {adjusted['partial_exits']} |",
            f"| exchange against freqtrade: naked or unbooked positions / stops not covering the position / "
            f"backstop findings (at the end, amount not followed) / fills booked otherwise / wallet off the fills / "
            f"open trades with their stop through the price | "
            f"{len(report['position_findings'])} / {len(report['stop_cover_findings'])} / "
            f"{len(report['backstop_findings'])}, {len(report.get('backstop_amount_findings', []))} / "
            f"{len(report['fill_findings'])} / {len(report['wallet_findings'])} / "
            f"{len(report.get('crossed_open_trades', []))} |",
        ]
        if (report.get("plan") or {}).get("race_fault"):
            rows.append(f"| stops filled between their replacement's create and their cancel (fill_other_stops): "
                        f"targeted / filled | {len(report['race_targets'])} / {len(report['race_fills'])} |")
    alarms = report.get("alarms")
    if alarms:
        rows.append(f"| alarms raised / lost with the killed bot / undelivered to the webhook (plugin messages "
                    f"received) | {alarms['raised']} / {alarms['lost_with_the_kill']} / "
                    f"{sum(alarms['undelivered'].values())} ({alarms['received_plugin_messages']}) |")
    return rows


def render(report: dict, heading: str = HEADING) -> str:
    machine = report["machine"]
    targets = report["unknown_order_targets"]
    settings = report["settings"]
    exits = ", ".join(f"{reason} {count}" for reason, count in report["exits"].items())
    per_pair = ", ".join(f"{pair.split('/')[0]} {count}" for pair, count in report["trades_per_pair"].items())
    result = "pass" if not report["problems"] else f"FAIL: {len(report['problems'])} finding(s), below"
    venue = report.get("venue", "binance spot")
    lines = [
        heading,
        "",
        f"Measured {machine['date']} with `{report['command']}` on {machine['cpu']} (CPU model from "
        f"/proc/cpuinfo x nproc), {machine['memory']} RAM, Python {machine['python']}, freqtrade "
        f"{machine['freqtrade']}, ccxt {machine['ccxt']}"
        + (f", code at commit {report['commit']}" if report.get("commit") else "")
        + ". The same run as `make soak` "
        "(`tests/e2e/test_soak.py`, scenario in `tests/e2e/soak.py`).",
        "",
        (INTRO[venue] + " Real ccxt through the HTTPS proxy; " if venue in INTRO else
         "A live spot bot (stop on exchange, not dry-run, real ccxt through the HTTPS proxy) on the sandbox; ")
        + f"{', '.join(report['pairs'])} follow {report['candles']} real 5m candles each from `../shared/data` "
        "(open, extremes, close; one candle a second, rescaled to start at 100); every flat pair is "
        "force-entered again at once. Faults: 30 ms latency on every request (250 ms for 20 s), HTTP 429 "
        "bursts (stop creates and cancels, every endpoint, then one that opens the circuit), -2011 on every "
        "cancel of an ACTIVE trade's stop order that stays live until it fills, one `kill -9` and a restart "
        "on the same database. Times come from the sandbox's own order records (created, cancelled, "
        "filled): a position is unprotected while it holds coins and none of its stop orders is live. "
        f"Not counted in the seconds: the first {settings['first_stop_grace_s']:g} s after the entry fill "
        f"(freqtrade places the stop in its next iteration), the first {settings['replacement_grace_s']:g} s "
        "of each cancel-then-create (or cancel before a market exit), and the time the bot was dead or "
        "restarting. The check counts the bot's own iterations instead (freqtrade's heartbeat after each; "
        "a loaded machine makes them longer, not more): the first stop may wait for the end of the entry "
        "fill's iteration and of one more (a create refused with a 429), a replacement for one end.",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| run | {report['replay_s']:.0f} s of price path, {report['wall_s']:.0f} s wall in all |",
        f"| trades (closed) | {report['trades']} ({report['closed']}); per pair "
        f"{per_pair} |",
        f"| exits | {exits} |",
        f"| stop orders created / cancel-then-create replacements | {report['stop_orders']} / {report['replacements']} |",
        f"| longest replacement without a live stop | {report['replacement_gap_max_s']:.2f} s |",
        f"| first stop after the entry fill: mean / max | {report['first_stop_mean_s']:.2f} s / {report['first_stop_max_s']:.2f} s |",
        f"| bot down (kill -9 to first reconciliation after restart) | {', '.join(f'{s:.1f} s' for s in report['bot_down_s'])} |",
        f"| -2011 stop orders: targeted / answered -2011 and then filled | {len(targets)} / {report['unknown_order_targets_filled']} |",
        f"| stop creates refused as 'old stop still live' | {report['refused_creates']} |",
        f"| unprotected beyond the graces, whole run | {report['unprotected_total_s']:.2f} s "
        f"(a figure; trades concerned: {len(report['unprotected_trades'])}) |",
        f"| **the bot's iterations ended without a live stop beyond the graces, whole run (the check)** | "
        f"**{report.get('unprotected_iterations', '-')}** of {report.get('iterations', '-')} (bound "
        f"{settings.get('unprotected_iterations_bound', '-')}; graces {settings.get('iteration_graces', '-')}) |",
        f"| orphaned stop orders / loosenings (exchange, stored) / open trades without exactly one named live stop | "
        f"{len(report['orphans'])} / {len(report['exchange_loosenings'])}, {len(report['stored_loosenings'])} / "
        f"{len(report['current_stop_mismatches']) + (0 if report['settled'] else 1)} |",
        f"| stored states rebuilt (none was missing or corrupt) / stored exchange stops dropped | "
        f"{len(report['rebuilt_states'])} / {len(report['stored_exchange_stop_dropped'])} |",
        *_checks_rows(report),
        f"| events | {', '.join(f'{k} {v}' for k, v in report['events'].items())} |",
        f"| result | {result} |",
        "",
    ]
    lines += [f"- {problem if len(problem) < 600 else problem[:600] + ' ...'}" for problem in report["problems"]]
    if report["problems"]:
        lines.append("")
    return "\n".join(lines)


def with_section(text: str, section: str | None, previous: str = "") -> str:
    """``text`` (a BENCHMARKS.md) with ``section`` as its Soak section; without one, the Soak
    section of ``previous`` is carried over, so a bench run without the soak keeps the last figures."""
    def split(document: str) -> tuple[str, str]:
        start = document.find("\n" + HEADING)
        if start < 0:
            return document, ""
        end = document.find("\n## ", start + 1)
        body = document[start + 1: end + 1 if end >= 0 else len(document)]
        return document.replace(body, ""), body

    rest, _ = split(text)
    if section is None:
        section = split(previous)[1]
    if not section:
        return text
    return rest.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="put the figures into BENCHMARKS.md")
    parser.add_argument("--venue", action="append", choices=VENUES,
                        help="run the soak on this venue only (repeatable; default: all of them); the others "
                             "are shown from their last report")
    parser.add_argument("--report", action="store_true", help="render the last reports (.bench/soak/<venue>/"
                                                              "soak.json) again instead of running the soak")
    options = parser.parse_args(argv)
    logging.getLogger("ft_rest_client").setLevel(logging.ERROR)  # the restart's refused connections
    command = " ".join([".venv/bin/python -m benchmarks.soak", *(argv if argv is not None else sys.argv[1:])])
    venues = tuple(options.venue or VENUES)
    if not options.report:
        if not any([measure(command, venue) for venue in venues]):
            return 0
    reports = last_reports()
    if not reports:
        print("no soak report to render", flush=True)
        return 0
    section = render_all(reports)
    print(section)
    if options.write:
        target = ROOT / "BENCHMARKS.md"
        current = target.read_text() if target.exists() else "# Benchmarks\n"
        target.write_text(with_section(current, section))
    return 0 if not any(reports[v]["problems"] for v in venues if v in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
