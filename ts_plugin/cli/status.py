"""``ts-plugin status``: the smart trailing stop of each open trade, read from freqtrade's database.

One table row per open trade: pair, side, phase, entry, peak, the bot's stop, the exchange's stop order,
the profit the stop locks in, the exchange stop's last move (UTC, with its age), its move/skip counters
and warnings (state rebuilt or corrupt, no exchange stop, circuit open). --all adds closed trades with
their exit reason and the phase they exited in; --json prints the same for machines.

The database is read strictly read-only (SQLite opened with mode=ro, PostgreSQL in read-only
transactions), in one short read: safe while the bot runs. Nothing touches the exchange. What only the
running bot knows (circuit, trades found without a live stop, alarms its channels drop) comes from its
health file smart_trailing_health.<database>.json when it sits beside the database (or in a user_data
folder there), or --health. A health file written by another bot's database is ignored, and said so.

Exit codes: 0 shown; 1 the database holds no plugin state; 2 bad input or not a freqtrade database.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from ts_plugin.strategy.health_identity import LEGACY_HEALTH_FILE, belongs_to, health_file_name

NO_STATE_EXIT = 1


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "status", help="open trades' trailing stops, read-only from freqtrade's database",
        description=__doc__.split(": ", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--db-url", required=True, metavar="URL",
        help="the bot's database, as in its config's db_url: sqlite:///user_data/tradesv3.sqlite "
             "(a plain file path works too) or postgresql+psycopg://user:password@host:5432/db")
    parser.add_argument("--all", action="store_true", dest="include_closed",
                        help="also list closed trades, with exit reason and phase at exit")
    parser.add_argument("--json", action="store_true", help="print JSON for machines instead of tables")
    parser.add_argument(
        "--health", type=Path, default=None, metavar="FILE",
        help="the bot's health file (default: smart_trailing_health.<database file>.json, else the "
             f"older {LEGACY_HEALTH_FILE}, beside an SQLite database or in a user_data folder there; "
             "either is read only when it names this database)")
    return parser


def _health_candidates(database_path: Path | None) -> list[Path]:
    if database_path is None:
        return []
    folder = database_path.parent  # as given: a relative database names a relative health file
    names = (health_file_name(f"sqlite:///{database_path}"), LEGACY_HEALTH_FILE)
    return [where / name for where in (folder, folder / "user_data") for name in names]


def _load_health(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def run(options: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ts_plugin.tools.readonly_db import DatabaseError, open_database
    from ts_plugin.tools.status_view import NO_PLUGIN_STATE, build_status, read_health, status_json, status_text

    if options.health is not None and not options.health.is_file():
        parser.error(f"no health file {options.health}")
    try:
        with open_database(options.db_url) as database:
            records = database.trades(include_closed=True)
            description, database_path = database.description, database.sqlite_path
    except DatabaseError as exc:
        parser.error(str(exc))
    now = datetime.now(timezone.utc)

    health = None
    paths = [options.health] if options.health is not None else \
        [p for p in _health_candidates(database_path) if p.is_file()]
    for health_path in paths:
        try:
            data = _load_health(health_path)
        except (OSError, ValueError) as exc:
            if options.health is not None:
                parser.error(f"cannot read the health file {health_path}: {exc}")
            print(f"ignoring the unreadable health file {health_path}: {exc}", file=sys.stderr)
            continue
        foreign = belongs_to(data, options.db_url)
        if foreign is not None and options.health is not None and "database" not in data:
            print(f"reading the health file {health_path} as asked: {foreign}", file=sys.stderr)
        elif foreign is not None:  # another bot's view must never be shown as this database's
            print(f"ignoring the health file {health_path}: {foreign}", file=sys.stderr)
            continue
        health = read_health(data, str(health_path), now)
        break

    report = build_status(records, health, now, description, include_closed=options.include_closed)
    if options.json:
        print(status_json(report))
    elif report.plugin_state:
        print(status_text(report))
    if not report.plugin_state:
        detail = (f"{report.trades_in_database} trades, none with smart_trailing custom data"
                  if report.trades_in_database else "it holds no trades yet")
        print(f"{NO_PLUGIN_STATE} ({description}: {detail}). Is the strategy using SmartTrailingMixin "
              "in dry-run or live?", file=sys.stderr if options.json else sys.stdout)
        return NO_STATE_EXIT
    return 0
