"""From a series of snapshots of one bot to its verdict: pure.

A poll can land in the middle of the bot's own iteration (the trade's new peak committed, its state
not yet), so one snapshot never makes a problem: a problem is what is seen at consecutive polls
spanning at least the observation's ``confirm_after_s`` (10 s, or the plugin's own lag alarm limit
for an exchange stop behind). Anything seen for a shorter time is reported as a note that says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ts_plugin.tools.diagnose import formatting as fmt
from ts_plugin.tools.diagnose.checks import (Observation, Severity, observe_bot, observe_trade,
                                       trade_subject, warning_lines)
from ts_plugin.tools.diagnose.evidence import health_line, trade_lines
from ts_plugin.tools.diagnose.holdings import observe_holdings
from ts_plugin.tools.diagnose.rules import Rules, rules_from_settings
from ts_plugin.tools.diagnose.snapshot import Snapshot

OK, PROBLEM, UNREACHABLE = "OK", "PROBLEM", "UNREACHABLE"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    check: str
    subject: str
    text: str
    first_seen: float
    last_seen: float
    polls: int

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity.value, "check": self.check, "subject": self.subject,
                "text": self.text, "first_seen": fmt.utc(self.first_seen),
                "last_seen": fmt.utc(self.last_seen), "polls": self.polls}


@dataclass
class Verdict:
    target: str
    status: str
    bot: dict[str, Any] = field(default_factory=dict)
    polls: int = 0
    started: float | None = None
    ended: float | None = None
    rules: Rules | None = None
    problems: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)
    trades: dict[str, list[str]] = field(default_factory=dict)  # subject -> evidence lines
    holdings: list[str] = field(default_factory=list)
    health: str = ""
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def rules_of(snapshots: list[Snapshot]) -> Rules:
    """The rules from the latest settings line any snapshot saw (the buffer may drop it mid-run)."""
    for snapshot in reversed(snapshots):
        if snapshot.log.settings:
            return rules_from_settings(snapshot.log.settings, snapshot.log.settings_logged_at)
    return Rules()


def observe(snapshot: Snapshot, rules: Rules) -> list[Observation]:
    """Everything one snapshot shows, bot, trades and holdings."""
    stop_on_exchange = bool(snapshot.config.get("stoploss_on_exchange"))
    seen = observe_bot(snapshot, rules)
    for trade in snapshot.trades:
        seen += observe_trade(trade, snapshot.states.get(trade.get("trade_id")), rules, stop_on_exchange,
                              snapshot.taken_at)
    seen += observe_holdings(snapshot)[0]
    return seen


def _streaks(present: list[bool]) -> list[tuple[int, int]]:
    streaks, start = [], None
    for index, here in enumerate(present + [False]):
        if here and start is None:
            start = index
        elif not here and start is not None:
            streaks.append((start, index - 1))
            start = None
    return streaks


def findings(snapshots: list[Snapshot], rules: Rules) -> tuple[list[Finding], list[Finding]]:
    """(problems, notes) over the series: a problem must last ``confirm_after_s`` at consecutive polls."""
    times = [s.taken_at for s in snapshots]
    per_poll = [{o.key: o for o in observe(s, rules)} for s in snapshots]
    keys: dict[tuple[str, str], None] = {}
    for seen in per_poll:
        keys.update(dict.fromkeys(seen))
    problems, notes = [], []
    for key in keys:
        present = [key in seen for seen in per_poll]
        last = max(i for i, here in enumerate(present) if here)
        latest: Observation = per_poll[last][key]
        polls = sum(present)
        first = times[present.index(True)]
        if latest.severity is Severity.NOTE:
            notes.append(Finding(Severity.NOTE, latest.check, latest.subject, latest.text, first, times[last], polls))
            continue
        longest = max(times[b] - times[a] for a, b in _streaks(present))
        if longest >= latest.confirm_after_s:
            problems.append(Finding(Severity.PROBLEM, latest.check, latest.subject, latest.text, first,
                                    times[last], polls))
            continue
        notes.append(Finding(
            Severity.NOTE, latest.check, latest.subject,
            f"{latest.text} [not confirmed: seen "
            + (f"for {longest:.0f} s in a row" if longest > 0 else "at one poll at a time")
            + f", a problem once it lasts {latest.confirm_after_s:.0f} s]", first, times[last], polls))
    return problems, notes


def judge(target: str, snapshots: list[Snapshot], failures: list[tuple[float, str]]) -> Verdict:
    """The verdict for one bot from its snapshots and the polls that failed (time, why)."""
    if not snapshots:
        why = failures[-1][1] if failures else "never polled"
        return Verdict(target, UNREACHABLE, error=why, polls=0)
    rules = rules_of(snapshots)
    problems, notes = findings(snapshots, rules)
    last = snapshots[-1]
    if failures and failures[-1][0] > last.taken_at:
        problems.append(Finding(Severity.PROBLEM, "stopped_answering", "bot",
                                f"the bot stopped answering: {failures[-1][1]}", failures[0][0],
                                failures[-1][0], len(failures)))
    elif failures:
        notes.append(Finding(Severity.NOTE, "failed_polls", "bot",
                             f"{len(failures)} poll(s) failed, the last: {failures[-1][1]}",
                             failures[0][0], failures[-1][0], len(failures)))
    config = last.config
    verdict = Verdict(
        target, PROBLEM if problems else OK, polls=len(snapshots), rules=rules,
        started=snapshots[0].taken_at, ended=last.taken_at, problems=problems, notes=notes,
        bot={key: config.get(key) for key in ("bot_name", "strategy", "runmode", "dry_run", "trading_mode",
                                              "exchange", "version", "stoploss_on_exchange", "state")},
        health=health_line(last.log.health, last.log.health_logged_at, last.taken_at),
        warnings=warning_lines(last),
    )
    stop_on_exchange = bool(config.get("stoploss_on_exchange"))
    for trade in last.trades:
        verdict.trades[trade_subject(trade)] = trade_lines(
            trade, last.states.get(trade.get("trade_id")), stop_on_exchange, last.taken_at)
    verdict.holdings = observe_holdings(last)[1]
    return verdict
