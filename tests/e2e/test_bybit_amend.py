"""Live Bybit USDT perpetuals end to end: the real `freqtrade trade` process with ccxt's bybit client
(through the HTTPS proxy, Bybit's real host names) against the sandbox's Bybit v5 API.

The plugin moves the exchange stop by amend (``/v5/order/amend``): one conditional order whose trigger
(and limit) moves in place, the same order id throughout. What the exchange held is sampled from the
sandbox's book on a thread during each test, so "one live stop at every moment" is checked on the
exchange side, not taken from the bot's word; the unprotected time is measured from those samples.
"""

import threading
import time

import pytest

from tests.e2e.bot import BotProcess, free_port, wait_until
from tests.e2e.config import bot_config
from tests.e2e.conftest import STRATEGIES, closed_trade, enter, stored_state
from tests.e2e.test_live_spot import POLICY, counter, health
from ts_plugin.sandbox import SandboxExchange

pytestmark = pytest.mark.slow

PAIR = "BTC/USDT:USDT"
SYMBOL = "BTCUSDT"
SETTINGS = {"activation_profit": 0.015, "trail_distance": 0.005, "exchange": POLICY}
FUTURES = {"trading_mode": "futures", "margin_mode": "isolated"}
LIMIT_RATIO = 0.99  # the e2e strategy's stoploss_on_exchange_limit_ratio


@pytest.fixture
def sandbox():
    """Overrides the spot sandbox of conftest: one perpetual, traded on the sandbox's Bybit API."""
    exchange = SandboxExchange({PAIR: 100.0}).start()
    yield exchange
    exchange.stop()


@pytest.fixture
def start_bybit_bot(proxy, tmp_path):
    """start_bybit_bot(workdir=None) -> a live futures bot on exchange ``bybit``; reaped at the end."""
    bots: list[BotProcess] = []
    exchange_settings, environment = proxy.freqtrade_settings()

    def start(workdir=None, settings=SETTINGS, strategy="E2ETrailing") -> BotProcess:
        folder = workdir or tmp_path / f"bot{len(bots)}"
        folder.mkdir(exist_ok=True)
        config = bot_config({**exchange_settings, "name": "bybit"}, free_port(), [PAIR], dry_run=False,
                            smart_trailing=settings, **FUTURES)
        bot = BotProcess(folder, config, strategy, STRATEGIES, environment)
        bots.append(bot)
        return bot.start()

    yield start
    for bot in bots:
        bot.kill()


class LiveStops:
    """The sandbox's live (untriggered) Bybit stops, sampled on a thread straight from its book: each
    sample is (monotonic time, ids of the live stops) as the exchange held them at that instant."""

    def __init__(self, sandbox, interval_s: float = 0.002) -> None:
        self.book, self.interval_s = sandbox.bybit.book, interval_s
        self.samples: list[tuple[float, tuple[str, ...]]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bybit-live-stops", daemon=True)

    def _run(self) -> None:
        while not self._done.wait(self.interval_s):
            self.samples.append((time.monotonic(), tuple(o["orderId"] for o in self.book.open_stops(SYMBOL))))

    def __enter__(self) -> "LiveStops":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def counts(self) -> set[int]:
        return {len(ids) for _, ids in self.samples}

    def ids(self) -> list[str]:
        """Every stop id seen, in order of first sight."""
        return list(dict.fromkeys(i for _, ids in self.samples for i in ids))

    def unprotected_ms(self) -> float:
        """Time with no live stop: each run of empty samples counts from the last sample that showed
        a stop to the next one that does (an upper bound, as the make-before-break figure)."""
        total, protected_at, gap = 0.0, None, False
        for at, ids in self.samples:
            if ids:
                if gap and protected_at is not None:
                    total += at - protected_at
                protected_at, gap = at, False
            else:
                gap = True
        return total * 1000.0


def live_stops(sandbox):
    return sandbox.bybit.book.open_stops(SYMBOL)


def stop_near(sandbox, price, rel=0.002):
    stops = live_stops(sandbox)
    return len(stops) == 1 and abs(float(stops[0]["triggerPrice"]) - price) / price < rel and stops[0]


def position_size(sandbox) -> float:
    return abs(sandbox.bybit.account.futures.position(SYMBOL).amount)


def open_stop_records(bot, trade_id):
    """freqtrade's own open stop orders of the trade (REST): id and limit price as it read them back."""
    return [(o["order_id"], o["safe_price"]) for o in bot.client.trade(trade_id)["orders"]
            if o["ft_order_side"] == "stoploss" and o["is_open"]]


def requests(sandbox, method, path):
    return [i for i, request in enumerate(list(sandbox.requests)) if request == (method, path)]


def start_and_enter(start_bybit_bot, sandbox):
    bot = start_bybit_bot()
    trade = enter(bot, PAIR)
    entry = trade["open_rate"]
    first = wait_until(lambda: stop_near(sandbox, entry * 0.95), 60, "the initial conditional stop at -5 %")
    return bot, trade, entry, first


def test_stop_trails_by_amend_with_one_live_stop_and_fills_through_it(sandbox, start_bybit_bot):
    bot, trade, entry, first = start_and_enter(start_bybit_bot, sandbox)
    trade_id = trade["trade_id"]
    assert trade["trading_mode"] == "futures" and trade["exchange"] == "bybit"
    assert first["reduceOnly"] and first["side"] == "Sell" and first["triggerDirection"] == 2
    assert position_size(sandbox) == pytest.approx(trade["amount"])
    with LiveStops(sandbox) as sampled:
        sandbox.set_price(PAIR, entry * 1.03)  # activates: an emergency move, made by amend
        moved = wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "the first amend")
        assert float(moved["price"]) == pytest.approx(float(moved["triggerPrice"]) * LIMIT_RATIO, rel=1e-3)
        sandbox.set_price(PAIR, entry * 1.06)  # a regular move once the 3 s interval has passed
        again = wait_until(lambda: stop_near(sandbox, entry * 1.06 * 0.995), 60, "the second amend")
        wait_until(lambda: open_stop_records(bot, trade_id) == [(first["orderId"], float(again["price"]))], 30,
                   "freqtrade to read the amended limit back into its own stop order record")
        assert moved["orderId"] == again["orderId"] == first["orderId"]
        fill_at = round(float(again["triggerPrice"]) * 0.998, 3)  # through the trigger, above the limit
        sandbox.set_price(PAIR, fill_at)
        closed = wait_until(lambda: closed_trade(bot, trade_id), 60, "the trade to close on its stop")
    assert closed["exit_reason"] == "stoploss_on_exchange" and closed["close_rate"] == pytest.approx(fill_at)
    assert position_size(sandbox) == 0 and live_stops(sandbox) == []
    assert sandbox.bybit.book.orders[first["orderId"]]["orderStatus"] == "Filled"

    assert len(requests(sandbox, "POST", "/v5/order/create")) == 2  # the entry and the one stop
    assert requests(sandbox, "POST", "/v5/order/cancel") == []
    wait_until(lambda: counter(bot, "moves_amend") == 2, 30, "the health view to count both amends")
    assert len(requests(sandbox, "POST", "/v5/order/amend")) == 2
    assert health(bot)["exchange"]["replacement_path"] == "amend"
    # What the exchange held while the stop trailed: one live stop at every sample, always the same.
    until_fill = [ids for at, ids in sampled.samples if ids]
    assert sampled.ids() == [first["orderId"]] and all(len(ids) == 1 for ids in until_fill)
    assert sampled.samples[0][1] == (first["orderId"],) and sampled.unprotected_ms() == 0.0
    state = stored_state(bot, trade_id)
    assert state["phase"] == "CLOSED" and state["exchange_moves"] == 2 and state["exchange_stop_id"] == first["orderId"]
    log = bot.log_text()
    assert "Traceback" not in log and bot.events("UNPROTECTED_WINDOW") == 0
    assert sandbox.unknown_paths == []
    print(f"\namend path: {len(sampled.samples)} samples of the exchange's live stops over the trail, "
          f"unprotected {sampled.unprotected_ms():.1f} ms, stop ids seen {len(sampled.ids())}")


def test_a_refused_amend_falls_back_to_a_replacement_that_places_the_new_stop_first(sandbox, start_bybit_bot):
    bot, trade, entry, first = start_and_enter(start_bybit_bot, sandbox)
    trade_id = trade["trade_id"]
    sandbox.faults.add("POST /v5/order/amend", {"kind": "error", "code": 10001,
                                                "msg": "The order cannot be modified at this time"})
    with LiveStops(sandbox) as sampled:
        sandbox.set_price(PAIR, entry * 1.03)
        new = wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "the replacement stop")
        wait_until(lambda: counter(bot, "amend_refused") == 1, 30, "the refusal to be counted")
    assert new["orderId"] != first["orderId"]
    assert sandbox.bybit.book.orders[first["orderId"]]["orderStatus"] == "Deactivated"
    creates, cancels = requests(sandbox, "POST", "/v5/order/create"), requests(sandbox, "POST", "/v5/order/cancel")
    assert len(creates) == 3 and len(cancels) == 1 and creates[2] < cancels[0]  # new stop first
    assert 0 not in sampled.counts() and sampled.unprotected_ms() == 0.0  # never without a stop
    assert sampled.ids() == [first["orderId"], new["orderId"]]
    wait_until(lambda: [i for i, _ in open_stop_records(bot, trade_id)] == [new["orderId"]], 30,
               "freqtrade to hold the replacement as its only open stop order")
    warnings = [line for line in bot.log_text().splitlines()
                if "event=WARNING" in line and "refused to amend" in line]
    assert len(warnings) == 1 and first["orderId"] in warnings[0]

    sandbox.set_price(PAIR, entry * 1.06)  # the next move amends the replacement in place again
    moved = wait_until(lambda: stop_near(sandbox, entry * 1.06 * 0.995), 60, "an amend after the fallback")
    assert moved["orderId"] == new["orderId"]
    wait_until(lambda: counter(bot, "moves_amend") == 1, 30, "the health view to count the amend")
    assert counter(bot, "amend_refused") == 1 and "Traceback" not in bot.log_text()


def test_429_burst_retries_then_the_circuit_opens_and_closes_with_the_stop_live(sandbox, start_bybit_bot):
    bot, trade, entry, first = start_and_enter(start_bybit_bot, sandbox)
    # Bybit limits each endpoint on its own: a burst of 429s on the amend path. Two iterations' worth,
    # each amend retried once (retry_attempts 2): the second failure in a row opens the circuit
    # (threshold 2); the cool-down runs its course (the reconciliation's listings in between succeed
    # but do not close it), then the trial amend goes through and closes it.
    sandbox.faults.add("POST /v5/order/amend", {"kind": "http", "status": 429, "times": 4})
    with LiveStops(sandbox) as sampled:
        sandbox.set_price(PAIR, entry * 1.03)
        wait_until(lambda: bot.events("CIRCUIT_OPEN") == 1, 60, "the circuit to open")
        moved = wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "the amend after the cool-down")
        wait_until(lambda: health(bot)["exchange"]["circuit"] == "CLOSED", 30, "the circuit to close")
    assert sandbox.faults.hits["POST /v5/order/amend"] == 4
    wait_until(lambda: counter(bot, "moves_amend") == 1, 30, "the health view to count the amend")
    assert counter(bot, "retries") == 4 and counter(bot, "amend_failures") == 2 and counter(bot, "failures") == 2
    assert health(bot)["exchange"]["circuit_opened"] == 1
    assert len(requests(sandbox, "POST", "/v5/order/amend")) == 5  # 4 answered 429, then 1 through
    assert moved["orderId"] == first["orderId"] and sampled.ids() == [first["orderId"]]
    assert sampled.counts() == {1}  # the old stop stayed live throughout the burst
    assert requests(sandbox, "POST", "/v5/order/cancel") == [] and "Traceback" not in bot.log_text()


def test_kill_9_mid_amend_then_restart_leaves_exactly_one_live_stop(sandbox, start_bybit_bot):
    bot, trade, entry, first = start_and_enter(start_bybit_bot, sandbox)
    trade_id = trade["trade_id"]
    sandbox.set_price(PAIR, entry * 1.03)
    wait_until(lambda: stop_near(sandbox, entry * 1.03 * 0.995), 60, "the first amend")
    # The next amend reaches the exchange and is held there for 3 s: the bot dies while it waits, and
    # the exchange carries it out anyway. The new process must learn it from the exchange.
    sandbox.faults.add("POST /v5/order/amend", {"kind": "delay", "ms": 3000})
    with LiveStops(sandbox) as sampled:
        sandbox.set_price(PAIR, entry * 1.06)
        wait_until(lambda: sandbox.faults.hits.get("POST /v5/order/amend") == 1, 60, "the held amend")
        bot.kill()
        amended = wait_until(lambda: stop_near(sandbox, entry * 1.06 * 0.995), 30,
                             "the exchange to carry out the amend the dead bot sent")
        again = start_bybit_bot(workdir=bot.workdir)
        wait_until(lambda: health(again).get("exchange", {}).get("reconciliations", 0) >= 3, 60,
                   "three reconciliations")
        wait_until(lambda: open_stop_records(again, trade_id) == [(first["orderId"], float(amended["price"]))],
                   30, "freqtrade's record to show the amend its previous process never saw answered")
    assert amended["orderId"] == first["orderId"]
    assert sampled.counts() == {1} and sampled.ids() == [first["orderId"]]  # one live stop, before and after
    assert live_stops(sandbox)[0]["orderId"] == first["orderId"]
    assert requests(sandbox, "POST", "/v5/order/cancel") == []
    assert len(requests(sandbox, "POST", "/v5/order/create")) == 2
    log = again.log_text()
    assert "no live stop order on the exchange" not in log and "ORPHAN_CANCELLED" not in log
    assert "Traceback" not in log and stored_state(again, trade_id)["phase"] == "ACTIVE"
