"""freqtrade's trade database, read strictly read-only: what ``status`` and ``plot`` show.

freqtrade's own ``init_db`` creates and migrates tables, which is a write; this module never calls it.
It reads freqtrade's tables (``trades``, ``orders``, ``trade_custom_data``) with plain SQLAlchemy Core
selects. SQLite is opened through a ``mode=ro`` URI (the file cannot be created, changed or locked for
writing), PostgreSQL in read-only transactions. Each ``trades()`` call is one short transaction on a
fresh connection that is closed right after, so a running bot is never held up beyond one read.
Columns a database lacks (an older freqtrade) read as None.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import (Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text,
                        create_engine, event, inspect, select)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ts_plugin.core.events import TradeView
from ts_plugin.core.state import StateError, TrailState, decode
from ts_plugin.strategy.store import CUSTOM_DATA_KEY

# How long a read waits for a writer's lock (SQLite) or a server to answer (PostgreSQL), seconds.
BUSY_TIMEOUT_S = 5
CONNECT_TIMEOUT_S = 5
# freqtrade's custom-data types stored as plain text (CustomDataWrapper.unserialized_types).
_PLAIN_TYPES = ("bool", "float", "int", "str")
_REQUIRED_TRADE_COLUMNS = ("id", "pair", "is_open", "open_rate", "open_date")

_META = MetaData()
# The columns read, with the types freqtrade declares them with (persistence/trade_model.py).
_TRADES = Table(
    "trades", _META,
    Column("id", Integer, primary_key=True), Column("exchange", String), Column("pair", String),
    Column("stake_currency", String), Column("is_open", Boolean), Column("open_rate", Float),
    Column("close_rate", Float), Column("close_profit", Float), Column("amount", Float),
    Column("open_date", DateTime), Column("close_date", DateTime), Column("stop_loss", Float),
    Column("initial_stop_loss", Float), Column("is_stop_loss_trailing", Boolean),
    Column("max_rate", Float), Column("min_rate", Float), Column("exit_reason", String),
    Column("strategy", String), Column("trading_mode", String), Column("price_precision", Float),
    Column("precision_mode_price", Integer), Column("leverage", Float), Column("is_short", Boolean),
)
_ORDERS = Table(
    "orders", _META,
    Column("id", Integer, primary_key=True), Column("ft_trade_id", Integer),
    Column("ft_order_side", String), Column("ft_is_open", Boolean), Column("ft_price", Float),
    Column("order_id", String), Column("status", String), Column("stop_price", Float),
    Column("order_date", DateTime),
)
_CUSTOM_DATA = Table(
    "trade_custom_data", _META,
    Column("id", Integer, primary_key=True), Column("ft_trade_id", Integer), Column("cd_key", String),
    Column("cd_type", String), Column("cd_value", Text), Column("updated_at", DateTime),
    Column("created_at", DateTime),
)


class DatabaseError(ValueError):
    """The database cannot be read as freqtrade's: the message says why, for a person."""


def _utc(moment: datetime | None) -> datetime | None:
    """freqtrade stores naive UTC times; aware UTC for everyone downstream."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def decode_custom_value(cd_type: str, cd_value: str) -> Any:
    """A stored custom-data value as freqtrade's ``CustomDataWrapper`` returns it; ValueError if bad."""
    if cd_type in _PLAIN_TYPES:
        if cd_type == "bool":
            return cd_value.lower() == "true"
        if cd_type == "int":
            return int(cd_value)
        if cd_type == "float":
            return float(cd_value)
        return cd_value
    return json.loads(cd_value)


@dataclass(frozen=True)
class TradeRecord:
    """One trade as the database holds it, with its decoded custom data and its open stop order."""

    id: int
    pair: str
    is_short: bool
    leverage: float
    open_rate: float
    open_date: datetime
    close_date: datetime | None
    close_rate: float | None
    exit_reason: str | None
    is_open: bool
    amount: float | None
    stop_loss: float | None
    initial_stop_loss: float | None = None
    close_profit: float | None = None
    max_rate: float | None = None
    min_rate: float | None = None
    stake_currency: str | None = None
    exchange: str | None = None
    strategy: str | None = None
    trading_mode: str | None = None
    price_precision: float | None = None
    precision_mode_price: int | None = None
    # The open stop order on the exchange as freqtrade recorded it: id, stop, status, placed_at.
    stoploss_order: dict | None = None
    custom_data: dict[str, Any] = field(default_factory=dict)
    # custom-data keys whose stored value could not be decoded -> why
    custom_data_errors: dict[str, str] = field(default_factory=dict)
    custom_data_updated_at: dict[str, datetime] = field(default_factory=dict)

    @cached_property
    def _trailing(self) -> tuple[TrailState | None, str | None]:
        key = next((k for k in (*self.custom_data, *self.custom_data_errors)
                    if k.casefold() == CUSTOM_DATA_KEY), None)  # freqtrade looks keys up with ilike
        if key is None:
            return None, None
        if key in self.custom_data_errors:
            return None, self.custom_data_errors[key]
        try:
            return decode(self.custom_data[key]), None
        except StateError as exc:
            return None, str(exc)

    @property
    def smart_trailing(self) -> TrailState | None:
        """The plugin's state of this trade; None when it has none or it cannot be read."""
        return self._trailing[0]

    @property
    def smart_trailing_error(self) -> str | None:
        """Why the stored ``smart_trailing`` value cannot be read (corrupt row), else None."""
        return self._trailing[1]

    @property
    def has_smart_trailing(self) -> bool:
        """The trade carries a ``smart_trailing`` row at all (readable or not)."""
        return self._trailing != (None, None)

    def view(self) -> TradeView:
        """How messages and tables write this trade's prices (``events.format_price``)."""
        return TradeView(is_short=self.is_short, entry=self.open_rate, leverage=self.leverage or 1.0,
                         price_precision=self.price_precision, precision_mode=self.precision_mode_price,
                         quote=self.stake_currency)


class FreqtradeDatabase:
    """A freqtrade database opened read-only; ``open_database`` builds one."""

    def __init__(self, engine: Engine, description: str, sqlite_path: Path | None) -> None:
        self._engine = engine
        self.description = description  # the URL with any password hidden
        self.sqlite_path = sqlite_path  # the file, for SQLite
        self._columns: dict[str, set[str]] = {}

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> FreqtradeDatabase:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _check(self, connection: Any) -> None:
        """Learn which of freqtrade's tables and columns exist; refuse what is not freqtrade's."""
        inspector = inspect(connection)
        tables = set(inspector.get_table_names())
        if "trades" not in tables:
            raise DatabaseError(f"{self.description} is not a freqtrade database (it has no 'trades' table)")
        for table in (_TRADES, _ORDERS, _CUSTOM_DATA):
            if table.name in tables:
                self._columns[table.name] = {c["name"] for c in inspector.get_columns(table.name)}
        missing = [c for c in _REQUIRED_TRADE_COLUMNS if c not in self._columns["trades"]]
        if missing:
            raise DatabaseError(f"{self.description} is not a freqtrade database: its 'trades' table has "
                                f"no {', '.join(missing)} column")

    def _select(self, table: Table) -> Any:
        present = self._columns.get(table.name, set())
        return select(*(c for c in table.c if c.name in present))

    def trades(self, include_closed: bool = False) -> list[TradeRecord]:
        """Open trades (all trades with ``include_closed``) in one read transaction, oldest first."""
        try:
            with self._engine.connect() as connection, connection.begin():
                if not self._columns:
                    self._check(connection)
                query = self._select(_TRADES).order_by(_TRADES.c.id)
                if not include_closed:
                    query = query.where(_TRADES.c.is_open.is_(True))
                rows = [row._mapping for row in connection.execute(query)]
                ids = [row["id"] for row in rows]
                custom = self._custom_data(connection, ids)
                stops = self._open_stop_orders(connection, ids)
        except DatabaseError:
            raise
        except SQLAlchemyError as exc:
            raise DatabaseError(f"could not read {self.description}: {_reason(exc)}") from None
        return [_record(row, custom.get(row["id"], ({}, {}, {})), stops.get(row["id"])) for row in rows]

    def _custom_data(self, connection: Any, ids: list[int]) -> dict[int, tuple[dict, dict, dict]]:
        if "trade_custom_data" not in self._columns or not ids:
            return {}
        result: dict[int, tuple[dict, dict, dict]] = {}
        query = self._select(_CUSTOM_DATA).order_by(_CUSTOM_DATA.c.id)
        for batch in _batches(ids):
            for row in connection.execute(query.where(_CUSTOM_DATA.c.ft_trade_id.in_(batch))):
                row = row._mapping
                values, errors, updated = result.setdefault(row["ft_trade_id"], ({}, {}, {}))
                key = row["cd_key"]
                try:
                    values[key] = decode_custom_value(row["cd_type"], row["cd_value"])
                except (ValueError, TypeError, AttributeError) as exc:
                    errors[key] = f"stored {row['cd_type']} value could not be decoded: {exc}"
                moment = row.get("updated_at") or row.get("created_at")
                if moment is not None:
                    updated[key] = _utc(moment)
        return result

    def _open_stop_orders(self, connection: Any, ids: list[int]) -> dict[int, dict]:
        """Each trade's open stop order as freqtrade sees it (``Trade.open_sl_orders``, the newest)."""
        if "orders" not in self._columns or not ids:
            return {}
        result: dict[int, dict] = {}
        query = (self._select(_ORDERS)
                 .where(_ORDERS.c.ft_order_side == "stoploss", _ORDERS.c.ft_is_open.is_(True))
                 .order_by(_ORDERS.c.id))
        for batch in _batches(ids):
            for row in connection.execute(query.where(_ORDERS.c.ft_trade_id.in_(batch))):
                row = row._mapping
                result[row["ft_trade_id"]] = {
                    "id": row["order_id"],
                    "stop": row.get("stop_price") or row.get("ft_price"),
                    "status": row.get("status"),
                    "placed_at": _utc(row.get("order_date")),
                }
        return result


def _batches(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _record(row: Any, custom: tuple[dict, dict, dict], stop_order: dict | None) -> TradeRecord:
    values, errors, updated = custom
    mode = row.get("trading_mode")
    return TradeRecord(
        id=row["id"], pair=row["pair"], is_short=bool(row.get("is_short")),
        leverage=row.get("leverage") or 1.0, open_rate=row["open_rate"], open_date=_utc(row["open_date"]),
        close_date=_utc(row.get("close_date")), close_rate=row.get("close_rate"),
        exit_reason=row.get("exit_reason"), is_open=bool(row["is_open"]), amount=row.get("amount"),
        stop_loss=row.get("stop_loss"), initial_stop_loss=row.get("initial_stop_loss"),
        close_profit=row.get("close_profit"), max_rate=row.get("max_rate"), min_rate=row.get("min_rate"),
        stake_currency=row.get("stake_currency"), exchange=row.get("exchange"),
        strategy=row.get("strategy"), trading_mode=str(mode).lower() if mode else None,
        price_precision=row.get("price_precision"), precision_mode_price=row.get("precision_mode_price"),
        stoploss_order=stop_order, custom_data=values, custom_data_errors=errors,
        custom_data_updated_at=updated,
    )


def _reason(exc: BaseException) -> str:
    """The driver's own words, without SQLAlchemy's statement dump and documentation link."""
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__


# ----- opening ------------------------------------------------------------------------------------


def open_database(db_url: str) -> FreqtradeDatabase:
    """Open freqtrade's database at ``db_url`` read-only (a bare file path is taken as SQLite).

    Raises ``DatabaseError`` naming what is wrong: a bad URL, a missing file, a server that does not
    answer, or a database that is not freqtrade's."""
    text = (db_url or "").strip()
    if not text:
        raise DatabaseError("no database URL given (e.g. sqlite:///user_data/tradesv3.sqlite)")
    if "://" not in text:
        text = f"sqlite:///{text}"
    try:
        url = make_url(text)
    except ArgumentError:
        raise DatabaseError(f"not a database URL: {db_url!r} (e.g. sqlite:///user_data/tradesv3.sqlite "
                            "or postgresql+psycopg://user:password@host:5432/freqtrade)") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = _sqlite(url)
    elif backend == "postgresql":
        database = _postgresql(url)
    else:
        raise DatabaseError(f"unsupported database {backend!r} in {db_url!r}: "
                            "SQLite and PostgreSQL are supported")
    try:
        with database._engine.connect() as connection:
            database._check(connection)
    except DatabaseError:
        database.close()
        raise
    except SQLAlchemyError as exc:
        database.close()
        raise DatabaseError(f"could not open {database.description}: {_reason(exc)}") from None
    return database


def _sqlite(url: Any) -> FreqtradeDatabase:
    if not url.database or url.database == ":memory:":
        raise DatabaseError("an in-memory SQLite database holds no trades: give the bot's file, "
                            "e.g. sqlite:///user_data/tradesv3.sqlite")
    path = Path(url.database).expanduser()
    if not path.is_file():
        where = "" if path.is_absolute() else f" (relative to {Path.cwd()})"
        raise DatabaseError(f"no such database file: {path}{where}")
    uri = f"{path.resolve().as_uri()}?mode=ro"

    def connect() -> sqlite3.Connection:
        # isolation_level=None: transactions are begun explicitly below, so the selects of one
        # trades() call see one snapshot and the lock is released at its end.
        return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                               check_same_thread=False)

    engine = create_engine("sqlite+pysqlite://", creator=connect, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _query_only(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only = ON")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return FreqtradeDatabase(engine, f"SQLite database {path}", path)


def _postgresql(url: Any) -> FreqtradeDatabase:
    if url.drivername in ("postgresql", "postgresql+psycopg2"):
        try:  # freqtrade's docs write psycopg2 URLs; psycopg 3 is what the postgres extra installs
            import psycopg  # noqa: F401

            url = url.set(drivername="postgresql+psycopg")
        except ImportError:
            pass
    description = f"PostgreSQL database {url.render_as_string(hide_password=True)}"
    try:
        engine = create_engine(
            url, poolclass=NullPool,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S,
                          # every transaction of this session read-only, enforced by the server
                          "options": "-c default_transaction_read_only=on"},
        ).execution_options(postgresql_readonly=True)
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(f"cannot open {description}: {exc} (pip install 'ts_plugin[postgres]')") from None
    return FreqtradeDatabase(engine, description, None)
