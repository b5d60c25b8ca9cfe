"""A diagnostic session: poll every bot every ``interval_s`` for ``duration_s``, then judge each.

At least two polls are taken (at the start and at the end), since one snapshot never makes a
problem (verdict.py). A bot that does not answer the first poll gets its verdict at once
(UNREACHABLE) and is not polled again; one that stops answering later is a problem in its verdict.
Ctrl-C ends the session early with the verdicts of what was seen so far.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ts_plugin.tools.diagnose.snapshot import BotUnavailable, Snapshot, Target, poll
from ts_plugin.tools.diagnose.verdict import Verdict, judge

REQUEST_TIMEOUT_S = 10


def _client(target: Target) -> Any:
    from freqtrade_client import FtRestClient

    return FtRestClient(target.url, target.username, target.password, timeout=REQUEST_TIMEOUT_S)


def poll_times(duration_s: float, interval_s: float) -> list[float]:
    """Offsets from the start: every interval, and the end itself (so at least two polls)."""
    offsets, at = [], 0.0
    while at < duration_s:
        offsets.append(at)
        at += interval_s
    return offsets + [duration_s]


def run_session(targets: list[Target], duration_s: float, interval_s: float,
                say: Callable[[str], None] = lambda text: None,
                make_client: Callable[[Target], Any] = _client) -> tuple[list[Verdict], bool]:
    """(one verdict per target, in order; whether Ctrl-C ended the session early)."""
    clients = {target.url: make_client(target) for target in targets}
    snapshots: dict[str, list[Snapshot]] = {target.url: [] for target in targets}
    failures: dict[str, list[tuple[float, str]]] = {target.url: [] for target in targets}
    dropped: set[str] = set()
    started = time.monotonic()
    interrupted = False
    try:
        for offset in poll_times(duration_s, interval_s):
            wait = started + offset - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            for target in targets:
                if target.url in dropped:
                    continue
                try:
                    snapshots[target.url].append(poll(clients[target.url], target.url, time.time()))
                except BotUnavailable as exc:
                    failures[target.url].append((time.time(), str(exc)))
                    if not snapshots[target.url]:
                        dropped.add(target.url)
                        say(f"{exc}: not diagnosed")
            if len(dropped) == len(targets):
                break
    except KeyboardInterrupt:
        interrupted = True
        say("interrupted: the verdicts below cover what was seen so far")
    return [judge(target.url, snapshots[target.url], failures[target.url]) for target in targets], interrupted
