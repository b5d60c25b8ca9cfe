"""``ts-plugin diagnose``: a live diagnostic session of running bots, from what each bot reports.

Polls each bot's REST API (freqtrade-client; read-only: it never writes to the database and never
touches the exchange) for --duration minutes and checks that every open trade has its trailing state,
that the state keeps pace with prices (a trade past its activation price is ACTIVE, no stop looser
than the rules allow), that the exchange stop agrees with the bot's stop within the plugin's policy,
that no state was rebuilt and the exchange circuit is closed, and that the exchange holds no coins or
positions that no open trade accounts for. Prints one verdict per bot with the evidence per trade.
Exit code 0: every bot healthy; 1: a problem was found; 2: bad input or a bot that could not be
diagnosed (unreachable, login refused).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ts_plugin.tools.diagnose.checks import CONFIRM_S

USERNAME_ENV, PASSWORD_ENV = "FREQTRADE__API_SERVER__USERNAME", "FREQTRADE__API_SERVER__PASSWORD"


def _minutes(text: str) -> float:
    try:
        minutes = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if not minutes * 60 >= CONFIRM_S or minutes > 7 * 24 * 60:
        raise argparse.ArgumentTypeError(
            f"{text} minutes: allowed {CONFIRM_S / 60:.2f} (a problem must be seen at polls "
            f"{CONFIRM_S:g} s apart) to 10080 (a week)")
    return minutes


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 1 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"{text} seconds: allowed 1 to 3600")
    return seconds


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "diagnose", help="live diagnostic session of running bots through their REST API (read-only)",
        description=__doc__.split(": ", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--api", dest="apis", action="append", default=[], metavar="URL",
        help="the bot's REST API, e.g. http://127.0.0.1:8080 (repeatable: one verdict per bot; "
             "http://user:password@host:port overrides the login for that bot)")
    parser.add_argument(
        "--username", default=None,
        help=f"API login (default: ${USERNAME_ENV}, else the --config file's api_server.username)")
    parser.add_argument(
        "--password", default=None,
        help=f"API password (default: ${PASSWORD_ENV}, else the --config file's api_server.password; "
             "prefer the environment variable, a command line is visible to other users)")
    parser.add_argument(
        "--config", "-c", type=Path, default=None, metavar="FILE",
        help="the bot's freqtrade config: login from its api_server block, and its address when no "
             "--api is given")
    parser.add_argument(
        "--duration", type=_minutes, default=15.0, metavar="MINUTES",
        help="how long to watch, in minutes (default 15; at least 0.17, i.e. 10 s)")
    parser.add_argument(
        "--interval", type=_seconds, default=10.0, metavar="SECONDS",
        help="seconds between polls (default 10)")
    parser.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    return parser


def _api_server(path: Path, parser: argparse.ArgumentParser) -> dict:
    from freqtrade.exceptions import OperationalException

    from freqtrade.configuration.load_config import load_config_file

    try:
        config = load_config_file(str(path))
    except (OperationalException, OSError) as exc:
        parser.error(f"--config {path}: {str(exc).splitlines()[0]}")
    block = config.get("api_server") if isinstance(config, dict) else None
    if not isinstance(block, dict):
        parser.error(f"--config {path}: no api_server block (the bot's REST API settings)")
    return block


def targets_from(options: argparse.Namespace, parser: argparse.ArgumentParser) -> list:
    from ts_plugin.tools.diagnose.snapshot import Target

    server = _api_server(options.config, parser) if options.config else {}
    username = options.username or os.environ.get(USERNAME_ENV) or server.get("username")
    password = options.password or os.environ.get(PASSWORD_ENV) or server.get("password")
    apis = list(options.apis)
    if not apis and server:
        host = server.get("listen_ip_address") or "127.0.0.1"
        host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        apis = [f"http://{host}:{server.get('listen_port', 8080)}"]
    if not apis:
        parser.error("give the bot's REST API with --api URL (or its config with --config FILE)")
    targets = []
    for api in apis:
        try:
            targets.append(Target.parse(api, username, password))
        except ValueError as exc:
            parser.error(str(exc))
    if len({t.url for t in targets}) < len(targets):
        parser.error("--api: the same bot is given twice")
    if options.interval > options.duration * 60:
        parser.error(f"--interval {options.interval:g} s is longer than --duration "
                     f"{options.duration:g} min")
    return targets


def run(options: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ts_plugin.tools.diagnose.report import as_json, exit_code, format_text
    from ts_plugin.tools.diagnose.session import run_session

    targets = targets_from(options, parser)
    duration_s = options.duration * 60

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    say(f"diagnosing {len(targets)} bot(s) for {options.duration:g} min, a poll every "
        f"{options.interval:g} s (Ctrl-C ends early with the verdicts so far)")
    verdicts, interrupted = run_session(targets, duration_s, options.interval, say=say)
    print(as_json(verdicts) if options.json else format_text(verdicts, duration_s, options.interval))
    return 130 if interrupted else exit_code(verdicts)
