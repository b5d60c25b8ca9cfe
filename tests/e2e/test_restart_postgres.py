"""kill -9 the live bot mid-trail on a PostgreSQL database (--db-url postgresql+psycopg://...) and
restart it: the state read back is the one written, trailing goes on, one live stop on the exchange;
ts-plugin status and diagnose then report the running bot."""

import json

import pytest

from tests.e2e.bot import API_PASSWORD, API_USER, BotProcess, free_port, wait_until
from tests.e2e.config import bot_config
from tests.e2e.conftest import PAIR, STRATEGIES, enter, stored_state
from tests.e2e.test_live_spot import SETTINGS, live_stops, stop_near
from tests.e2e.test_restart import _restart
from ts_plugin.cli import main
from ts_plugin.strategy.store import CUSTOM_DATA_KEY, TRACE_KEY

pytest_plugins = ["tests.pg_fixtures"]
pytestmark = pytest.mark.slow


@pytest.fixture
def start_bot(proxy, tmp_path, postgres_url):
    """The e2e ``start_bot`` fixture's signature, every bot on this test's PostgreSQL database."""
    bots: list[BotProcess] = []
    exchange_settings, environment = proxy.freqtrade_settings()

    def start(dry_run: bool = True, smart_trailing: dict | None = None, workdir=None,
              api_port: int | None = None) -> BotProcess:
        folder = workdir or tmp_path / f"bot{len(bots)}"
        folder.mkdir(exist_ok=True)
        config = bot_config(exchange_settings, api_port or free_port(), [PAIR, "ETH/USDT"], dry_run=dry_run,
                            smart_trailing=smart_trailing)
        bot = BotProcess(folder, config, "E2ETrailing", STRATEGIES, environment, db_url=postgres_url)
        bots.append(bot)
        return bot.start()

    yield start
    for bot in bots:
        bot.kill()


def rows(postgres_server, url, query, *params):
    with postgres_server.connect(url.rsplit("/", 1)[1]) as connection:
        return connection.execute(query, params).fetchall()


def custom_data(postgres_server, url, trade_id):
    """The trade's custom-data rows on the server: key -> (stored text, last written)."""
    return {key: (value, written) for key, value, written in rows(
        postgres_server, url, "SELECT cd_key, cd_value, updated_at FROM trade_custom_data WHERE ft_trade_id = %s",
        trade_id)}


def test_kill_and_restart_on_postgres_keeps_the_trailing_state(sandbox, start_bot, postgres_server, postgres_url,
                                                                capsys):
    bot = start_bot(dry_run=False, smart_trailing=SETTINGS)
    trade = enter(bot)
    entry, trade_id = trade["open_rate"], trade["trade_id"]
    wait_until(lambda: stop_near(sandbox, entry * 0.95), 60, "the initial stop order")
    sandbox.set_price(PAIR, entry * 1.03)
    wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "the trailed exchange stop")
    wait_until(lambda: (stored_state(bot, trade_id) or {}).get("exchange_moves") == 1, 30,
               "the move to be stored")
    before = stored_state(bot, trade_id)
    assert before["phase"] == "ACTIVE" and before["peak"] == pytest.approx(entry * 1.03, rel=0.002)
    bot.kill()
    written = custom_data(postgres_server, postgres_url, trade_id)  # what the dead bot left
    assert set(written) == {CUSTOM_DATA_KEY, TRACE_KEY}  # the state and the stop path for plot
    assert json.loads(written[CUSTOM_DATA_KEY][0]) == before  # on the server, not in a file
    assert not bot.db.exists()

    restarted = _restart(start_bot, bot)
    after = stored_state(restarted, trade_id)
    assert after == before  # phase, peak, stop, activation time, counters: identical
    assert custom_data(postgres_server, postgres_url, trade_id) == written  # every row, as it was
    assert restarted.events("ACTIVATED") == 0 and "rebuilt from the trade" not in restarted.log_text()
    (live,) = live_stops(sandbox)
    open_records = rows(postgres_server, postgres_url, "SELECT order_id FROM orders WHERE ft_trade_id = %s "
                        "AND ft_order_side = 'stoploss' AND ft_is_open", trade_id)
    assert open_records == [(str(live["orderId"]),)]  # freqtrade's one open stop is the live one

    sandbox.set_price(PAIR, entry * 1.06)  # and it keeps trailing from where it was
    wait_until(lambda: stop_near(sandbox, entry * 1.06 * 0.995), 60, "a move after the restart")
    final = wait_until(lambda: (s := stored_state(restarted, trade_id)) and s["exchange_moves"] == 2 and s, 30,
                       "the second move to be stored")
    assert final["activated_at"] == before["activated_at"] and final["stop_raises"] > before["stop_raises"]
    assert final["peak"] == pytest.approx(entry * 1.06, rel=0.002) and len(live_stops(sandbox)) == 1
    assert "Traceback" not in restarted.log_text() and "Traceback" not in bot.log_text()

    # status reads the running bot's database on the server; diagnose watches the bot through its API
    capsys.readouterr()
    assert main(["status", "--db-url", postgres_url, "--json"]) == 0
    (shown,) = json.loads(capsys.readouterr().out)["open_trades"]
    assert (shown["trade_id"], shown["phase"]) == (trade_id, "ACTIVE")
    assert shown["peak"] == pytest.approx(final["peak"])
    assert shown["bot_stop"] == pytest.approx(restarted.client.trade(trade_id)["stop_loss_abs"])
    assert main(["diagnose", "--api", f"http://127.0.0.1:{restarted.api_port}", "--username", API_USER,
                 "--password", API_PASSWORD, "--duration", "0.17", "--interval", "2"]) == 0
    verdict = capsys.readouterr().out
    assert f"trade #{trade_id} {PAIR}" in verdict and "trailing ACTIVE since" in verdict
