"""Issue 13.4 end to end: two real bots sharing one user_data folder, each with its own database.

The first bot trades and is stopped; the second runs on with every stop refused by the exchange, so its
health view says its trade is unprotected. Each wrote its own health file, and ``ts-plugin status`` on
the stopped bot's database shows that bot's view, never the running bot's alarm.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.bot import free_port, wait_until
from tests.e2e.conftest import PAIR, enter
from tests.e2e.test_alarm_delivery import REFUSED
from tests.e2e.test_live_spot import SETTINGS, health
from tests.e2e.test_status_live import status

pytestmark = pytest.mark.slow


def test_status_of_the_stopped_bot_never_shows_the_running_bots_health(sandbox, start_bot, tmp_path):
    folder = tmp_path / "shared"
    stopped = start_bot(dry_run=False, smart_trailing=SETTINGS, workdir=folder)
    enter(stopped)
    wait_until(lambda: health(stopped).get("exchange", {}).get("reconciled"), 60, "the first bot's health")
    stopped.stop()

    sandbox.faults.add("POST /api/v3/order", REFUSED)
    running = start_bot(dry_run=False, smart_trailing=SETTINGS, workdir=folder, api_port=free_port(),
                        db_url=f"sqlite:///{folder / 'other.sqlite'}", extra_config={"bot_name": "other"})
    trade = enter(running, "ETH/USDT")
    wait_until(lambda: trade["trade_id"] in health(running).get("last_reconciliation", {}).get(
        "unprotected_trades", []), 90, "the running bot's unprotected alarm in its health view")

    assert stopped.health_file != running.health_file and stopped.health_file.parent == running.health_file.parent
    assert json.loads(stopped.health_file.read_text())["db_url"] == stopped.db_url
    done = status(stopped)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Health file: {stopped.health_file}, written " in done.stdout
    assert "unprotected: no live stop" not in done.stdout and "ETH/USDT" not in done.stdout

    # the stopped bot's own file gone (it never wrote one, say): the running bot's is not taken for it
    (folder / "user_data" / "smart_trailing_health.json").write_text(running.health_file.read_text())
    stopped.health_file.unlink()
    done = status(stopped)
    assert done.returncode == 0 and "unprotected: no live stop" not in done.stdout
    assert done.stderr.strip() == (f"ignoring the health file {folder / 'user_data' / 'smart_trailing_health.json'}: "
                                   f"it belongs to bot 'other' with the database {running.db_url}")

    done = status(running)  # and the running bot's own view is where it belongs
    assert done.returncode == 0 and "unprotected: no live stop on the exchange" in done.stdout
    assert PAIR not in done.stdout
