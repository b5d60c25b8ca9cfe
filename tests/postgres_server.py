"""A throwaway PostgreSQL server on 127.0.0.1 for the tests: the real server binaries, trust auth.

The server's data directory, unix socket and log live in one temporary folder that is removed when the
server stops. PostgreSQL refuses to run as root, so under root the server runs as an unprivileged
account (``postgres`` when the Debian package created it, else ``nobody``) that owns that folder.
``Unavailable`` says, for people, why no server could be started; the fixtures turn it into a skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
SERVER_HINT = "install PostgreSQL's server binaries (Debian: apt-get install postgresql)"
DRIVER_HINT = "install psycopg 3 (pip install 'ts_plugin[postgres]')"
SUPERUSER = "postgres"  # the database role initdb creates; trust auth, no password
# A scratch server: durability off, small and quick to start; no autovacuum, so that every write
# transaction on it is one a test made (a test can tell from the transaction ids that nothing wrote).
TEST_SETTINGS = {
    "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
    "shared_buffers": "16MB", "max_connections": "50", "autovacuum": "off",
}


class Unavailable(RuntimeError):
    """No PostgreSQL server can run here; the message names what is missing."""


def find_server_tools() -> Path:
    """The folder holding initdb, pg_ctl and postgres: PATH first, then Debian's versioned folders."""
    candidates = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += [Path(p) for p in sorted(versions, key=_major_version, reverse=True)]
    for folder in candidates:
        if all(os.access(folder / tool, os.X_OK) for tool in SERVER_TOOLS):
            return folder
    raise Unavailable(f"no PostgreSQL server binaries ({', '.join(SERVER_TOOLS)}) in PATH or "
                      f"/usr/lib/postgresql/*/bin: {SERVER_HINT}")


def _major_version(folder: str) -> int:
    name = Path(folder).parent.name
    return int(name) if name.isdigit() else 0


def _server_account() -> tuple[list[str], int | None, int | None]:
    """(command prefix, uid, gid) to run the server with: as is, or dropped from root."""
    if os.geteuid() != 0:
        return [], None, None
    for name in (SUPERUSER, "nobody"):
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            continue
        setpriv = shutil.which("setpriv")
        if setpriv:
            prefix = [setpriv, f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups", "--"]
        elif shutil.which("runuser"):
            prefix = [shutil.which("runuser"), "-u", name, "--"]
        else:
            raise Unavailable("running as root, and neither setpriv nor runuser is there to start "
                              "PostgreSQL as an unprivileged user (PostgreSQL refuses to run as root)")
        return prefix, account.pw_uid, account.pw_gid
    raise Unavailable("running as root with no 'postgres' or 'nobody' account to start PostgreSQL as "
                      "(PostgreSQL refuses to run as root)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One server process; ``start`` waits until it accepts connections, ``stop`` removes everything."""

    def __init__(self) -> None:
        self.tools = find_server_tools()
        self.prefix, self._uid, self._gid = _server_account()
        self.folder = Path(tempfile.mkdtemp(prefix="ts-plugin-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = 0
        self.running = False
        self._databases = 0
        if self._uid is not None:
            os.chown(self.folder, self._uid, self._gid)

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        command = [*self.prefix, str(self.tools / tool), *args]
        return subprocess.run(command, cwd=self.folder, capture_output=True, text=True, timeout=120)

    def start(self) -> "PostgresServer":
        """initdb, then pg_ctl -w start (it returns once the server accepts connections)."""
        made = self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                         "--no-sync", "--no-instructions")
        if made.returncode != 0:
            raise Unavailable(f"initdb failed ({made.returncode}): {(made.stderr or made.stdout).strip()}")
        settings = " ".join(f"-c {key}={value}" for key, value in TEST_SETTINGS.items())
        for _attempt in range(3):  # a free port can be taken between choosing and binding it
            self.port = _free_port()
            options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} {settings}"
            started = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                                "-o", options, "start")
            if started.returncode == 0:
                self.running = True
                return self
        raise Unavailable(f"PostgreSQL did not start ({started.returncode}): {started.stdout.strip()}\n"
                          f"{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (immediate: nothing of a scratch server needs to reach disk) and remove it."""
        try:
            if self.running:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
                self.running = False
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL (freqtrade's ``--db-url``); ``driver="postgresql"`` gives a libpq one."""
        return f"{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        """A psycopg connection in autocommit mode (the caller closes it)."""
        import psycopg

        return psycopg.connect(self.url(database, driver="postgresql"), autocommit=True)

    def last_transaction_id(self) -> int:
        """The newest transaction id, by taking one: a write anywhere on the server takes one too, a
        read-only transaction never does, so ``last_transaction_id() + 1`` next means nobody wrote."""
        with self.connect() as connection:
            return int(connection.execute("SELECT pg_current_xact_id()::text").fetchone()[0])

    def create_database(self, prefix: str = "ts_plugin_test") -> str:
        """A new empty database; its name."""
        self._databases += 1
        name = f"{prefix}_{self._databases}"
        with self.connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return name
