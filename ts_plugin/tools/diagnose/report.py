"""The verdicts as text for people (problems first, then the evidence) or as JSON for machines."""

from __future__ import annotations

import json
from typing import Any

from ts_plugin.tools.diagnose import formatting as fmt
from ts_plugin.tools.diagnose.verdict import OK, PROBLEM, UNREACHABLE, Finding, Verdict

EXIT_OK, EXIT_PROBLEM, EXIT_UNAVAILABLE = 0, 1, 2


def exit_code(verdicts: list[Verdict]) -> int:
    """2 when a bot could not be diagnosed at all, else 1 when any bot has a problem, else 0."""
    if any(v.status == UNREACHABLE for v in verdicts):
        return EXIT_UNAVAILABLE
    return EXIT_PROBLEM if any(v.status == PROBLEM for v in verdicts) else EXIT_OK


def _bot_line(bot: dict[str, Any]) -> str:
    mode = "dry-run" if bot.get("dry_run") else "live"
    protection = "stoploss on exchange" if bot.get("stoploss_on_exchange") else "no stoploss on exchange"
    return (f"bot {bot.get('bot_name')}: {bot.get('strategy')}, {mode} {bot.get('trading_mode')} on "
            f"{bot.get('exchange')}, freqtrade {bot.get('version')}, {bot.get('state')}, {protection}")


def _finding(finding: Finding) -> str:
    seen = (f"at {fmt.utc(finding.last_seen)}" if finding.polls == 1
            else f"{fmt.span(finding.first_seen, finding.last_seen)}, {finding.polls} polls")
    return f"  - {finding.subject}: {finding.text} ({seen})"


def format_verdict(verdict: Verdict) -> list[str]:
    lines = [f"{verdict.target}: {verdict.status}"]
    if verdict.status == UNREACHABLE:
        return lines + [f"  {verdict.error}"]
    now = verdict.ended or 0.0
    lines.append(f"  {_bot_line(verdict.bot)}")
    rules = verdict.rules
    if rules is not None:
        source = (f"the bot's settings line of {fmt.when(rules.logged_at, now)}" if rules.from_bot
                  else "defaults: the settings line is no longer in the bot's log")
        lines.append(f"  policy: {rules.describe()} ({source})")
    lines.append(f"  problems: {len(verdict.problems) or 'none'}")
    lines += [_finding(f) for f in verdict.problems]
    if verdict.notes:
        lines.append(f"  notes: {len(verdict.notes)}")
        lines += [_finding(f) for f in verdict.notes]
    lines.append(f"  {verdict.health}")
    if not verdict.trades:
        lines.append("  open trades: none")
    for subject, evidence in verdict.trades.items():
        lines.append(f"  {subject}")
        lines += [f"    {line}" for line in evidence]
    lines.append("  holdings on the exchange:" + ("" if verdict.holdings else " none besides the stake currency"))
    lines += [f"    {line}" for line in verdict.holdings]
    if verdict.warnings:
        lines.append("  the plugin's latest WARNING lines in the bot's log:")
        lines += [f"    {line}" for line in verdict.warnings]
    return lines


def format_text(verdicts: list[Verdict], duration_s: float, interval_s: float) -> str:
    polled = [v for v in verdicts if v.started is not None]
    start = min((v.started for v in polled), default=None)
    end = max((v.ended for v in polled), default=None)
    span = f", {fmt.span(start, end)}" if start is not None else ""
    lines = [f"ts-plugin diagnose: {len(verdicts)} bot(s){span}, polled every {interval_s:g} s "
             f"for {duration_s / 60:g} min", ""]
    for verdict in verdicts:
        lines += format_verdict(verdict) + [""]
    counts = {status: sum(v.status == status for v in verdicts) for status in (OK, PROBLEM, UNREACHABLE)}
    lines.append(f"Verdict: {counts[OK]} OK, {counts[PROBLEM]} with problems, {counts[UNREACHABLE]} "
                 f"unreachable (exit code {exit_code(verdicts)})")
    return "\n".join(lines)


def as_json(verdicts: list[Verdict]) -> str:
    return json.dumps({"exit_code": exit_code(verdicts), "bots": [{
        "api": v.target, "verdict": v.status, "error": v.error, "bot": v.bot, "polls": v.polls,
        "started": fmt.utc(v.started) if v.started else None,
        "ended": fmt.utc(v.ended) if v.ended else None,
        "policy": None if v.rules is None else {
            "min_improvement": v.rules.exchange.min_improvement,
            "emergency_improvement": v.rules.exchange.emergency_improvement,
            "min_update_interval_s": v.rules.exchange.min_update_interval_s, "from_bot": v.rules.from_bot},
        "problems": [f.as_dict() for f in v.problems], "notes": [f.as_dict() for f in v.notes],
        "health": v.health, "trades": v.trades, "holdings": v.holdings, "warnings": v.warnings,
    } for v in verdicts]}, indent=1)
