"""ts-plugin diagnose against real `freqtrade trade` processes on the sandbox, through their REST API.

A healthy trailing trade gives exit 0 and a verdict naming it; an unreachable second target gets its
own verdict (exit 2); planted problems (coins no trade accounts for, a stop order cancelled behind the
bot's back that cannot be placed again) give exit 1, each named. Sessions last 10-12 s.
"""

import json

import pytest

from tests.e2e.bot import API_PASSWORD, API_USER, free_port, wait_until
from tests.e2e.conftest import PAIR, enter, stored_state
from tests.e2e.test_live_spot import SETTINGS, SYMBOL, live_stops, stop_near
from ts_plugin.cli import main

pytestmark = pytest.mark.slow

LOGIN = ["--username", API_USER, "--password", API_PASSWORD]


def api(bot):
    return f"http://127.0.0.1:{bot.api_port}"


def test_a_healthy_trailing_trade_passes_and_an_unreachable_bot_gets_its_own_verdict(
        sandbox, start_bot, capsys, monkeypatch):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS)
    trade = enter(bot)
    entry = trade["open_rate"]
    sandbox.set_price(PAIR, entry * 1.02)  # activates; the exchange stop follows at once (emergency)
    wait_until(lambda: stop_near(sandbox, entry * 1.02 * 0.995), 60, "the exchange stop to follow")
    wait_until(lambda: stored_state(bot, trade["trade_id"])["exchange_stop"], 30, "the stored exchange stop")
    capsys.readouterr()

    assert main(["diagnose", "--api", api(bot), *LOGIN, "--duration", "0.17", "--interval", "2"]) == 0
    text = capsys.readouterr().out
    assert f"{api(bot)}: OK" in text and "problems: none" in text
    assert f"trade #{trade['trade_id']} {PAIR}" in text and "trailing ACTIVE since" in text
    assert "exchange stop 101.480 USDT" in text and "Verdict: 1 OK, 0 with problems, 0 unreachable" in text

    nobody = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("FREQTRADE__API_SERVER__USERNAME", API_USER)  # the login from the environment
    monkeypatch.setenv("FREQTRADE__API_SERVER__PASSWORD", API_PASSWORD)
    assert main(["diagnose", "--api", api(bot), "--api", nobody, "--duration", "0.17", "--interval", "2",
                 "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    verdicts = {b["api"]: b for b in report["bots"]}
    assert verdicts[api(bot)]["verdict"] == "OK" and verdicts[api(bot)]["problems"] == []
    assert verdicts[api(bot)]["polls"] >= 2 and verdicts[api(bot)]["policy"]["from_bot"]
    assert verdicts[nobody]["verdict"] == "UNREACHABLE" and "cannot connect" in verdicts[nobody]["error"]


def test_planted_problems_are_found_and_named(sandbox, start_bot, capsys):
    sandbox.book.free["ETH"] = 0.5  # coins on the account that no trade accounts for (the bot's wallet
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS)  # is read at start-up, as after a crash)
    trade = enter(bot)
    stop = wait_until(lambda: stop_near(sandbox, trade["open_rate"] * 0.95), 60, "the initial stop order")
    # Behind the bot's back: the stop order is cancelled and every new stop is refused (503).
    sandbox.faults.add("POST /api/v3/order", {"kind": "http", "status": 503, "times": 10_000,
                                              "when": {"type": "STOP_LOSS_LIMIT"}})
    sandbox.book.cancel(SYMBOL, stop["orderId"])

    def bot_sees_no_live_stop():  # freqtrade lists open and filled orders only
        trades = [t for t in bot.client.status() if t["trade_id"] == trade["trade_id"]]
        return trades and not any(o["ft_order_side"] == "stoploss" for o in trades[0]["orders"])

    wait_until(bot_sees_no_live_stop, 60, "the bot to see its stop order cancelled")
    capsys.readouterr()

    assert main(["diagnose", "--api", api(bot), *LOGIN, "--duration", "0.2", "--interval", "2"]) == 1
    text = capsys.readouterr().out
    assert f"{api(bot)}: PROBLEM" in text
    assert (f"- trade #{trade['trade_id']} {PAIR}: no live stop order on the exchange (the plugin's "
            f"last: order {stop['orderId']} at 95.000 USDT, gone): nothing protects the trade") in text
    assert "- ETH holding: 0.5 ETH (about 25 USDT) on the exchange that no open trade accounts for: no stop" in text
    assert live_stops(sandbox) == []  # the diagnosis only read: nothing placed, nothing cancelled
