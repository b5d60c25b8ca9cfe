"""What ``ts-plugin status`` shows: trades from the database, the health view beside it, as rows.

Pure: records (``readonly_db.TradeRecord``), the health file's JSON (or None) and the moment of the
report go in; a report (plain JSON-ready data), its table text and its JSON text come out. Prices are
written at the pair's precision (``events.format_price``), times in UTC with their age.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Iterable

from ts_plugin.core.events import TradeView, format_price, locked_profit
from ts_plugin.core.state import Phase, TrailState
from ts_plugin.strategy.health import HEALTH_INTERVAL_S
from ts_plugin.tools.readonly_db import TradeRecord

# A health file older than this says little about now: the bot is probably not running.
HEALTH_STALE_AFTER_S = 3 * HEALTH_INTERVAL_S
NO_PLUGIN_STATE = "no plugin state in this database"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _moment(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=timezone.utc)


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def format_age(seconds: float | None) -> str:
    """``45s``, ``12m``, ``3h 05m``, ``2d 04h``: how long ago, compactly."""
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 3600:
        return f"{minutes}m"
    if seconds < 86400:
        return f"{hours}h {minutes % 60:02d}m"
    return f"{days}d {hours % 24:02d}h"


def format_when(moment: datetime | None, now: datetime) -> str:
    """A UTC time with its age: ``12:45:00 (3m ago)`` today, ``2026-01-04 09:10 (1d 03h ago)`` before."""
    if moment is None:
        return "-"
    moment = moment.astimezone(timezone.utc)
    age = (now - moment).total_seconds()
    text = moment.strftime("%H:%M:%S") if moment.date() == now.astimezone(timezone.utc).date() \
        else moment.strftime("%Y-%m-%d %H:%M")
    return f"{text} ({format_age(age)} ago)"


def phase_at_exit(state: TrailState) -> str:
    """The phase a closed trade was in when it exited (the machine only moves forward; ``close`` keeps
    the times at which breakeven and activation were reached)."""
    if state.phase is not Phase.CLOSED:
        return state.phase.value
    if state.activated_at is not None:
        return Phase.ACTIVE.value
    if state.breakeven_at is not None:
        return Phase.BREAKEVEN.value
    return Phase.WAITING.value


# ----- health -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthView:
    """What status takes from the health file: when it was written and what only the bot knows."""

    source: str
    at: datetime | None
    age_s: float | None
    stale: bool
    circuit: str | None  # None without stoploss on exchange
    trades: dict[int, dict[str, Any]] = field(default_factory=dict)
    totals: dict[str, Any] = field(default_factory=dict)
    # channel -> the keys to set, for each enabled channel that drops the plugin's alarms
    alarms_not_delivered: dict[str, list[str]] = field(default_factory=dict)


def read_health(health: dict[str, Any] | None, source: str, now: datetime) -> HealthView | None:
    if not isinstance(health, dict):
        return None
    at = _parse_time(health.get("at"))
    age = None if at is None else max(0.0, (now - at).total_seconds())
    exchange = health.get("exchange") if isinstance(health.get("exchange"), dict) else None
    trades: dict[int, dict[str, Any]] = {}
    for key, value in (health.get("trades") or {}).items():
        if isinstance(value, dict) and str(key).isdigit():
            trades[int(key)] = value
    totals = {name: health.get(name) for name in
              ("rebuilt_states", "tick_errors", "unusable_rates", "store_write_failures")
              if health.get(name) is not None}
    if exchange:
        windows = exchange.get("unprotected_windows_ms") or {}
        totals["unprotected_windows"] = windows.get("count")
        totals["circuit_opened"] = exchange.get("circuit_opened")
    alarms = health.get("alarms") if isinstance(health.get("alarms"), dict) else {}
    dropped = alarms.get("not_delivered_to") if isinstance(alarms.get("not_delivered_to"), dict) else {}
    return HealthView(source=source, at=at, age_s=age, stale=age is None or age > HEALTH_STALE_AFTER_S,
                      circuit=exchange.get("circuit") if exchange else None, trades=trades, totals=totals,
                      alarms_not_delivered={str(k): [str(f) for f in v or ()] for k, v in dropped.items()})


# ----- rows ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRow:
    """One trade as status shows it; ``view`` says how to write its prices."""

    record: TradeRecord
    view: TradeView
    state: TrailState | None
    phase: str | None  # at the exit for a closed trade; None without a readable state
    entry: float
    peak: float | None
    bot_stop: float | None
    exchange_stop: float | None
    locks_in: float | None
    last_move: datetime | None
    warnings: tuple[str, ...]


def _side(record: TradeRecord) -> str:
    side = "short" if record.is_short else "long"
    leverage = record.leverage or 1.0
    return side if leverage == 1.0 else f"{side} {leverage:g}x"


def _state_warnings(record: TradeRecord, state: TrailState | None) -> list[str]:
    """What the database alone says is wrong or unusual with the trade's trailing state."""
    found: list[str] = []
    if record.smart_trailing_error is not None:
        found.append(f"corrupt state ({record.smart_trailing_error}): the bot rebuilds it")
    elif state is None:
        found.append("no plugin state yet")
    if state is not None and state.rebuilds:
        found.append(f"rebuilt x{state.rebuilds}")
    if record.is_open and state is not None and state.crossed_at is not None:
        found.append("stop through the price: exiting")
    return found


def _newer_stop_in_database(record: TradeRecord, state: TrailState | None, health: HealthView) -> bool:
    """Does the database show a live stop placed or moved after the health file was written?"""
    if record.stoploss_order is None or health.at is None:
        return False
    placed = record.stoploss_order.get("placed_at")
    moved = _moment(state.exchange_moved_at) if state is not None else None
    return any(moment is not None and moment > health.at for moment in (placed, moved))


def _exchange_warnings(record: TradeRecord, state: TrailState | None, exchange_stop: float | None,
                       health: HealthView | None) -> list[str]:
    """The exchange side of an open trade: freqtrade's stop order record, and what only the running
    bot knows (from a health file that is not stale)."""
    live = health if health is not None and not health.stale else None
    uses_exchange_stop = (state is not None and (state.exchange_stop is not None or bool(state.exchange_stop_id))) \
        or record.stoploss_order is not None or (live is not None and live.circuit is not None)
    bot_side = live.trades.get(record.id, {}) if live else {}
    if bot_side and _newer_stop_in_database(record, state, live):
        # the bot placed or moved the stop after it wrote the health file: what the file says about
        # the stop's absence is older than what the database shows
        bot_side = {k: v for k, v in bot_side.items() if k not in ("unprotected", "awaiting_stop", "create_failed")}
    found: list[str] = []
    if bot_side.get("unprotected"):
        found.append("unprotected: no live stop on the exchange")
    elif bot_side.get("awaiting_stop"):
        found.append("exchange stop not placed yet")
    elif uses_exchange_stop and exchange_stop is None:
        found.append("no exchange stop")
    if bot_side.get("create_failed"):
        found.append("last stop placement failed")
    if bot_side.get("exchange_lagging"):  # beyond the policy's limits: the bot raised its lag alarm
        found.append(f"exchange stop behind ({bot_side.get('last_skip') or 'waiting'})")
    if live is not None and live.circuit == "OPEN":
        found.append("circuit open: exchange stop moves paused")
    elif live is not None and live.circuit == "HALF_OPEN" and uses_exchange_stop:
        found.append("circuit half-open")
    return found


def build_row(record: TradeRecord, health: HealthView | None) -> StatusRow:
    state = record.smart_trailing
    view = replace(record.view(), quote=None)  # the pair names the quote currency
    if state is not None:
        phase = state.phase.value if record.is_open else phase_at_exit(state)
        peak: float | None = state.peak
    else:
        phase = None
        peak = (record.min_rate if record.is_short else record.max_rate) or None
    bot_stop = record.stop_loss or (state.stop if state is not None else None)
    order = record.stoploss_order if record.is_open else None
    # freqtrade's record of the open stop order, not the state's copy: that one may name an order
    # freqtrade no longer holds
    exchange_stop = order.get("stop") if order else None
    last_move = _moment(state.exchange_moved_at) if state is not None else None
    return StatusRow(
        record=record, view=view, state=state, phase=phase, entry=record.open_rate, peak=peak,
        bot_stop=bot_stop, exchange_stop=exchange_stop,
        locks_in=locked_profit(bot_stop, view) if record.is_open else None,
        last_move=last_move,
        warnings=tuple(_state_warnings(record, state) + (
            _exchange_warnings(record, state, exchange_stop, health) if record.is_open else [])))


def build_rows(records: Iterable[TradeRecord], health: HealthView | None) -> list[StatusRow]:
    return [build_row(record, health) for record in records]


# ----- the report ---------------------------------------------------------------------------------


def _price(value: float | None) -> float | None:
    return None if value is None else float(value)


def _order_data(order: dict | None) -> dict | None:
    return None if order is None else {**order, "placed_at": _iso(order.get("placed_at"))}


def row_data(row: StatusRow, now: datetime) -> dict[str, Any]:
    """A row for machines: numbers as numbers, times as ISO-8601 UTC, ages in seconds."""
    record, state = row.record, row.state
    data: dict[str, Any] = {
        "trade_id": record.id, "pair": record.pair, "side": "short" if record.is_short else "long",
        "leverage": record.leverage or 1.0, "is_open": record.is_open,
        "phase": row.phase if record.is_open else Phase.CLOSED.value,
        "entry": _price(row.entry), "peak": _price(row.peak), "bot_stop": _price(row.bot_stop),
        "exchange_stop": _price(row.exchange_stop),
        "exchange_stop_order": _order_data(record.stoploss_order) if record.is_open else None,
        "locks_in": None if row.locks_in is None else round(row.locks_in, 6), "opened_at": _iso(record.open_date),
        "last_move_at": _iso(row.last_move),
        "last_move_age_s": None if row.last_move is None else round((now - row.last_move).total_seconds()),
        "exchange_moves": state.exchange_moves if state else None,
        "exchange_skips": state.exchange_skips if state else None,
        "stop_raises": state.stop_raises if state else None,
        "rebuilds": state.rebuilds if state else None,
        "state_updated_at": _iso(_moment(state.updated_at)) if state else None,
        "warnings": list(row.warnings),
    }
    if not record.is_open:
        data.update({"closed_at": _iso(record.close_date), "close_rate": _price(record.close_rate),
                     "close_profit": record.close_profit, "exit_reason": record.exit_reason,
                     "phase_at_exit": row.phase})
    return data


@dataclass(frozen=True)
class StatusReport:
    """Everything status says: rows of open (and with ``--all`` closed) trades, the health view."""

    now: datetime
    database: str
    trades_in_database: int
    plugin_state: bool  # some trade of the database carries smart_trailing data
    open_rows: list[StatusRow]
    closed_count: int
    closed_rows: list[StatusRow] | None  # None unless asked for
    health: HealthView | None


def build_status(records: list[TradeRecord], health: HealthView | None, now: datetime, database: str,
                 include_closed: bool = False) -> StatusReport:
    """``records``: every trade read from the database, open and closed."""
    closed = sorted((r for r in records if not r.is_open), key=lambda r: (r.close_date or r.open_date, r.id))
    return StatusReport(
        now=now, database=database, trades_in_database=len(records),
        plugin_state=any(r.has_smart_trailing for r in records),
        open_rows=build_rows((r for r in records if r.is_open), health), closed_count=len(closed),
        closed_rows=build_rows(closed, health) if include_closed else None, health=health)


def status_data(report: StatusReport) -> dict[str, Any]:
    """The report for machines (``--json``)."""
    data: dict[str, Any] = {
        "at": _iso(report.now), "database": report.database, "plugin_state": report.plugin_state,
        "trades_in_database": report.trades_in_database, "open_trades_count": len(report.open_rows),
        "closed_trades_count": report.closed_count,
        "open_trades": [row_data(row, report.now) for row in report.open_rows],
    }
    if report.closed_rows is not None:
        data["closed_trades"] = [row_data(row, report.now) for row in report.closed_rows]
    health = report.health
    data["health"] = None if health is None else {
        "file": health.source, "at": _iso(health.at),
        "age_s": None if health.age_s is None else round(health.age_s), "stale": health.stale,
        "circuit": health.circuit, "alarms_not_delivered": health.alarms_not_delivered, **health.totals}
    return data


def status_json(report: StatusReport) -> str:
    return json.dumps(status_data(report), indent=1)


# ----- text ---------------------------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) if rows else len(headers[i])
              for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                         for i, cell in enumerate(cells)).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(row) for row in rows)]


def _pct(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:+.2%}"


def _phase(row: StatusRow) -> str:
    return row.phase or ("?" if row.record.smart_trailing_error else "-")


def _counts(row: StatusRow) -> str:
    state = row.state
    return "-" if state is None else f"{state.exchange_moves}/{state.exchange_skips}"


def _open_table(rows: list[StatusRow], now: datetime) -> list[str]:
    headers = ["ID", "Pair", "Side", "Phase", "Entry", "Peak", "Bot stop", "Locks in", "Exch. stop",
               "Last exch. move", "Moves/skips", "Warnings"]
    cells = [[str(r.record.id), r.record.pair, _side(r.record), _phase(r),
              format_price(r.entry, r.view), "-" if r.peak is None else format_price(r.peak, r.view),
              "-" if r.bot_stop is None else format_price(r.bot_stop, r.view), _pct(r.locks_in),
              "-" if r.exchange_stop is None else format_price(r.exchange_stop, r.view),
              format_when(r.last_move, now), _counts(r), "; ".join(r.warnings) or "-"]
             for r in rows]
    return _table(headers, cells, right={0, 4, 5, 6, 7, 8, 10})


def _closed_table(rows: list[StatusRow], now: datetime) -> list[str]:
    headers = ["ID", "Pair", "Side", "Closed (UTC)", "Entry", "Exit", "Profit", "Exit reason",
               "Phase at exit", "Moves/skips", "Warnings"]
    cells = [[str(r.record.id), r.record.pair, _side(r.record), format_when(r.record.close_date, now),
              format_price(r.entry, r.view),
              "-" if r.record.close_rate is None else format_price(r.record.close_rate, r.view),
              _pct(r.record.close_profit), r.record.exit_reason or "-", _phase(r), _counts(r),
              "; ".join(r.warnings) or "-"]
             for r in rows]
    return _table(headers, cells, right={0, 4, 5, 6, 9})


def _health_lines(health: HealthView | None, now: datetime) -> list[str]:
    if health is None:
        return ["Health file: none found beside the database (--health FILE names one); exchange-side "
                "warnings (circuit, unprotected trades) are not shown."]
    lines = [f"Health file: {health.source}, written {format_when(health.at, now)}"]
    if health.stale:
        lines.append(f"  older than {format_age(HEALTH_STALE_AFTER_S)}: is the bot running? "
                     "Exchange-side warnings from it are not shown.")
    parts = [f"circuit {health.circuit}"] if health.circuit else []
    labels = (("rebuilt_states", "states rebuilt"), ("tick_errors", "plugin errors"),
              ("unusable_rates", "unusable rates"), ("store_write_failures", "store write failures"),
              ("unprotected_windows", "unprotected windows"))
    parts += [f"{label} {health.totals[key]}" for key, label in labels if health.totals.get(key) is not None]
    if parts:
        lines.append("  since the bot started: " + ", ".join(parts))
    for channel, fixes in health.alarms_not_delivered.items():
        lines.append(f"  alarms not delivered to {channel}: set {' and '.join(fixes)} in the bot's config")
    return lines


def status_text(report: StatusReport) -> str:
    """The report for people (times UTC, with their age)."""
    now = report.now
    lines = [f"Smart trailing status of {report.database}, {now.strftime('%Y-%m-%d %H:%M:%S')} UTC", ""]
    if report.open_rows:
        lines.append(f"Open trades ({len(report.open_rows)}). Prices in the pair's quote currency; "
                     "'Locks in': profit the bot stop locks in vs entry, before fees.")
        lines += _open_table(report.open_rows, now)
    else:
        hint = " (--all shows them)" if report.closed_count and report.closed_rows is None else ""
        lines.append(f"No open trades ({report.closed_count} closed{hint}).")
    if report.closed_rows is not None:
        lines += ["", f"Closed trades ({len(report.closed_rows)}):"]
        lines += _closed_table(report.closed_rows, now) if report.closed_rows else ["(none)"]
    lines += [""] + _health_lines(report.health, now)
    return "\n".join(lines)
