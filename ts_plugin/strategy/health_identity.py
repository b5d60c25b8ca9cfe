"""Whose health file is this: the bot and database a health view belongs to, and the file's name.

Two bots often share a ``user_data`` folder (one per strategy). With one fixed file name the second
bot overwrote the first's health view, and ``ts-plugin status`` on the stopped bot's database showed
the running bot's health. So each bot writes ``smart_trailing_health.<database>.json`` (named after
its database file, or the database's name on a server), the file says which bot and database wrote
it, and status reads a file only when that database is the one it was asked about.

A database is the identity: two bots never share one (they would share their trades). The bot's
``db_url`` is kept with any password removed. For SQLite the file's absolute path on the bot's
machine is kept too; it may not exist where status runs (Docker mounts the folder elsewhere), so the
file name must match and, where the bot's path exists here as well, it must be the same file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

LEGACY_HEALTH_FILE = "smart_trailing_health.json"  # before each bot had its own file
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _url(db_url: str) -> Any | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = (db_url or "").strip()
    if text and "://" not in text:
        text = f"sqlite:///{text}"  # a bare path, as ts-plugin status accepts one
    try:
        return make_url(text)
    except (ArgumentError, ValueError):
        return None


def redacted_url(db_url: str) -> str:
    """``db_url`` with any password replaced by ``***``."""
    url = _url(db_url)
    return db_url if url is None else url.render_as_string(hide_password=True)


def _is_sqlite(url: Any) -> bool:
    return url.get_backend_name() == "sqlite"


def database_identity(db_url: str, base: Path | None = None) -> dict[str, Any]:
    """What identifies the database of ``db_url``: for SQLite the absolute path (a relative one taken
    from ``base``, the bot's working folder) and the file name; on a server its name, user, host, port."""
    url = _url(db_url)
    if url is None:
        return {"kind": "unknown", "url": db_url}
    if _is_sqlite(url):
        if not url.database or url.database == ":memory:":
            return {"kind": "sqlite", "path": None, "file": ":memory:"}
        path = Path(url.database).expanduser()
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        path = Path(os.path.abspath(path))
        return {"kind": "sqlite", "path": str(path), "file": path.name}
    return {"kind": url.get_backend_name(), "name": url.database, "user": url.username,
            "host": url.host, "port": url.port}


def health_file_name(db_url: str | None) -> str:
    """``smart_trailing_health.<database>.json``: ``tradesv3.dryrun`` for
    ``sqlite:///tradesv3.dryrun.sqlite``, the database's name on a server; the old fixed name when
    there is no URL."""
    if not db_url:
        return LEGACY_HEALTH_FILE
    identity = database_identity(db_url)
    if identity["kind"] == "sqlite":
        stem = identity["file"]
        stem = "memory" if stem == ":memory:" else stem.removesuffix(".sqlite")
    else:
        stem = str(identity.get("name") or identity["kind"])
    stem = _UNSAFE.sub("_", stem).strip("._") or "database"
    return f"smart_trailing_health.{stem}.json"


def owner(health: Mapping[str, Any]) -> str:
    """``bot 'name' (url)``: who wrote a health file, for the line that says it was ignored."""
    bot = health.get("bot_name")
    url = health.get("db_url")
    who = f"bot {bot!r}" if bot else "a bot"
    return f"{who} with the database {url}" if url else who


def belongs_to(health: Mapping[str, Any], db_url: str) -> str | None:
    """None when ``health`` was written by the bot of ``db_url``; else why it was not (one phrase)."""
    recorded = health.get("database")
    if not isinstance(recorded, Mapping):
        return "it does not say which database it belongs to (written by an older plugin version)"
    mine = database_identity(db_url)
    if recorded.get("kind") != mine["kind"]:
        return f"it belongs to {owner(health)}"
    if mine["kind"] == "sqlite":
        if recorded.get("file") != mine["file"]:
            return f"it belongs to {owner(health)}"
        theirs = recorded.get("path")
        if theirs and mine["path"] and Path(theirs).exists() and Path(mine["path"]).exists():
            if not os.path.samefile(theirs, mine["path"]):
                return f"it belongs to {owner(health)}"
        return None
    if recorded.get("name") != mine.get("name") or (
            recorded.get("user") and mine.get("user") and recorded.get("user") != mine.get("user")):
        return f"it belongs to {owner(health)}"
    return None


def identity_fields(config: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a bot writes into its health view: bot name, redacted db_url, database identity."""
    db_url = str(config.get("db_url") or "")
    return {"bot_name": config.get("bot_name"), "db_url": redacted_url(db_url) if db_url else None,
            "database": database_identity(db_url) if db_url else None}
