"""Issue 9.1 end to end: ``ts-plugin status`` on the database of a running live bot (real freqtrade,
real ccxt, the sandbox exchange), beside the health file the bot writes."""

import json
import subprocess

import pytest

from tests.e2e.bot import wait_until
from tests.e2e.conftest import PAIR, enter
from tests.e2e.test_live_spot import SETTINGS, stop_near
from tests.test_cli import TS_PLUGIN, USER_ENV

pytestmark = pytest.mark.slow


def status(bot, *argv):
    return subprocess.run([TS_PLUGIN, "status", "--db-url", bot.db_url, *argv], capture_output=True,
                          text=True, timeout=60, env=USER_ENV)


def status_json(bot):
    done = status(bot, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_status_of_a_running_live_bot(sandbox, start_bot):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS)
    trade = enter(bot)
    entry, trade_id = trade["open_rate"], trade["trade_id"]
    sandbox.set_price(PAIR, entry * 1.02)  # activates; the exchange's stop follows at once
    wait_until(lambda: stop_near(sandbox, entry * 1.02 * 0.995), 60, "the exchange stop's move")

    def moved(report):
        row = next((t for t in report["open_trades"] if t["trade_id"] == trade_id), None)
        return row if row and row["exchange_moves"] >= 1 and row["exchange_stop"] else None

    row = wait_until(lambda: moved(status_json(bot)), 60, "status to show the moved exchange stop")
    assert row["phase"] == "ACTIVE" and row["pair"] == PAIR and row["side"] == "long"
    assert row["bot_stop"] == pytest.approx(entry * 1.02 * 0.995, rel=0.002)
    assert row["exchange_stop"] == pytest.approx(row["bot_stop"], rel=0.002)
    assert row["warnings"] == [] and row["last_move_at"].endswith("Z")

    done = status(bot)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    line = next(line for line in text.splitlines() if line.lstrip().startswith(f"{trade_id} "))
    assert "ACTIVE" in line and "BTC/USDT" in line and " ago)" in line
    health_file = bot.health_file
    assert f"Health file: {health_file}, written " in text and "circuit CLOSED" in text
    report = status_json(bot)
    assert report["health"]["stale"] is False
    assert "database is locked" not in bot.log_text() and "Traceback" not in bot.log_text()
