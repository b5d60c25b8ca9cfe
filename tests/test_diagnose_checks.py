"""ts-plugin diagnose, the pure part: every check both ways on hand-built snapshots (the REST API's
shapes as freqtrade 2026.9 returns them), confirmation over polls, the verdict, the report and the
command line's input errors. The real bot and sandbox are in tests/e2e/test_diagnose.py."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from ts_plugin.cli import main
from ts_plugin.core.state import Phase, TrailState, encode
from ts_plugin.tools.diagnose.checks import CONFIRM_S, Severity, warning_lines
from ts_plugin.tools.diagnose.holdings import observe_holdings
from ts_plugin.tools.diagnose.logs import parse_settings, read_plugin_log
from ts_plugin.tools.diagnose.report import exit_code, format_text
from ts_plugin.tools.diagnose.rules import Rules, rules_from_settings
from ts_plugin.tools.diagnose.snapshot import BotUnavailable, Snapshot, Target, poll
from ts_plugin.tools.diagnose.verdict import OK, PROBLEM, UNREACHABLE, findings, judge

T0 = 1_790_000_000.0  # 2026-09-21 14:13:20 UTC
SETTINGS_LINE = (
    "smart_trailing settings in force: activation_profit=0.015 [config.json], trail_distance=0.005 "
    "[config.json], breakeven.trigger_profit=0.008 [config.json], breakeven.offset=0.002 [config.json], "
    "steps=[0.03:0.005,0.06:0.004] [config.json], exchange.min_update_interval_s=3 [config.json], "
    "exchange.min_improvement=0.002 [config.json], exchange.emergency_improvement=0.01 [config.json]")
RULES = rules_from_settings(parse_settings(SETTINGS_LINE))


def order(order_id, side, status="closed", price=100.0):
    return {"pair": "BTC/USDT", "order_id": str(order_id), "status": status, "amount": 1.0,
            "safe_price": price, "ft_order_side": side, "order_type": "limit",
            "is_open": status == "open"}


def trade(trade_id=1, current=101.989, stop=101.48, max_rate=None, stop_orders=(("1002", "open"),),
          **fields):
    """An open long BTC/USDT trade as /status shows it: entry 100, tick 0.001."""
    shown = {
        "trade_id": trade_id, "pair": "BTC/USDT", "base_currency": "BTC", "quote_currency": "USDT",
        "is_open": True, "is_short": False, "amount": 1.0, "open_rate": 100.0,
        "open_timestamp": int((T0 - 600) * 1000), "open_fill_timestamp": int((T0 - 600) * 1000),
        "current_rate": current, "max_rate": max_rate if max_rate is not None else current,
        "min_rate": 100.0, "stop_loss_abs": stop, "initial_stop_loss_abs": 95.0,
        "nr_of_successful_entries": 1, "has_open_orders": False, "leverage": 1.0,
        "price_precision": 0.001, "precision_mode": 4,
        "orders": [order(1000, "buy")] + [order(i, "stoploss", s, 99.0) for i, s in stop_orders],
    }
    shown.update(fields)
    return shown


def state(phase=Phase.ACTIVE, peak=101.989, stop=101.479055, **fields):
    values = dict(is_short=False, entry=100.0, activation_price=101.5, peak=peak, stop=stop, phase=phase,
                  opened_at=T0 - 600, updated_at=T0 - 300, activated_at=T0 - 300, distance=0.005,
                  stop_raises=1, exchange_stop=101.48, exchange_stop_id="1002",
                  exchange_moved_at=T0 - 300, exchange_moves=1)
    if phase is not Phase.ACTIVE:
        values.update(activated_at=None, distance=None)
    values.update(fields)
    return encode(TrailState(**values))


def health(**fields):
    line = {"at": "2026-09-21T14:13:00Z", "rebuilt_states": 0, "tick_errors": 0, "unusable_rates": 0,
            "store_write_failures": 0, "events": {},
            "exchange": {"circuit": "CLOSED", "counters": {}, "unprotected_windows_ms": {"count": 0}},
            "last_reconciliation": {"unprotected_trades": [], "awaiting_stop_trades": [], "foreign": 0}}
    exchange = fields.pop("exchange", {})
    line.update(fields)
    line["exchange"].update(exchange)
    return line


def logs(health_line=None, settings=SETTINGS_LINE, warnings=()):
    records = []
    if settings:
        records.append(["", (T0 - 900) * 1000, "ts_plugin", "INFO", settings])
    for text in warnings:
        records.append(["", (T0 - 60) * 1000, "ts_plugin", "WARNING", text])
    if health_line is not None:
        records.append(["", (T0 - 20) * 1000, "ts_plugin", "INFO",
                        "smart_trailing health " + json.dumps(health_line)])
    return read_plugin_log(records)


def balance(*rows):
    currencies = [{"currency": "USDT", "balance": 9900.0, "est_stake": 9900.0, "is_position": False}]
    for coin, total, worth in rows:
        currencies.append({"currency": coin, "balance": total, "est_stake": worth, "is_position": False})
    return {"currencies": currencies, "total": 10_000.0, "total_bot": 10_000.0}


def snapshot(at=T0, trades=None, states=None, bal=None, health_line=None, config=None, log=None, **log_args):
    trades = [trade()] if trades is None else trades
    states = {1: state()} if states is None else states
    bot = {"state": "running", "dry_run": False, "trading_mode": "spot", "stake_currency": "USDT",
           "stake_amount": "100", "max_open_trades": 3, "stoploss_on_exchange": True,
           "bot_name": "bot", "strategy": "S", "exchange": "binance", "version": "2026.9"}
    bot.update(config or {})
    return Snapshot(taken_at=at, config=bot, trades=tuple(trades), states=states,
                    balance=bal if bal is not None else balance(("BTC", 1.0, 102.0)),
                    whitelist=("BTC/USDT", "ETH/USDT"),
                    log=log or logs(health() if health_line is None else health_line, **log_args))


def series(*snapshots_or_kwargs, every=CONFIRM_S):
    """Snapshots ``every`` seconds apart, each built from the same keyword arguments."""
    return [replace(s, taken_at=T0 + i * every) for i, s in enumerate(snapshots_or_kwargs)]


def checks_found(snapshots, rules=RULES):
    problems, notes = findings(snapshots, rules)
    return {f.check for f in problems}, {f.check for f in notes}


def problems_of(**kwargs):
    return checks_found(series(snapshot(**kwargs), snapshot(**kwargs)))[0]


# ----- the healthy case, and confirmation ------------------------------------------------------


def test_a_healthy_trailing_trade_has_no_finding():
    assert checks_found(series(snapshot(), snapshot())) == (set(), set())


def test_a_problem_needs_consecutive_polls_spanning_the_confirmation_time():
    bad = snapshot(states={})
    assert checks_found(series(bad, bad))[0] == {"no_state"}
    assert checks_found(series(bad, bad, every=CONFIRM_S - 1)) == (set(), {"no_state"})
    assert checks_found(series(bad, snapshot(), bad)) == (set(), {"no_state"})  # gone in between
    problems, notes = findings(series(bad, bad, every=4), RULES)
    assert "not confirmed: seen for 4 s in a row, a problem once it lasts 10 s" in notes[0].text
    _, notes = findings(series(bad, snapshot()), RULES)
    assert "not confirmed: seen at one poll at a time, a problem once it lasts 10 s" in notes[0].text


# ----- the trade's state -----------------------------------------------------------------------


def test_every_filled_trade_needs_a_readable_state_that_belongs_to_it():
    assert problems_of(states={}) == {"no_state"}
    assert problems_of(states={1: {"v": 99}}) == {"unreadable_state"}
    assert problems_of(states={1: {**state(), "side": "short"}}) == {"contradicts_trade"}
    assert problems_of(states={1: state(phase=Phase.CLOSED, stop=None)}) == {"contradicts_trade"}
    unfilled = trade(nr_of_successful_entries=0, amount=0.0, has_open_orders=True, stop_orders=())
    assert problems_of(trades=[unfilled], states={}, bal=balance()) == set()


def test_a_fill_away_from_the_quote_or_an_adjustment_is_no_moved_stop():
    """freqtrade re-sets its hard stop from the fill (100.3 x 0.95) or the new average entry and
    flags it trailing: a WAITING state without a stop belongs to that trade; a trailed stop still
    needs a stored one."""
    waiting = state(phase=Phase.WAITING, peak=100.3, stop=None, entry=100.3, activation_price=101.8045)
    held = [order("1002", "stoploss", "open", 99.0)]  # the exchange stop, as trade() shows it
    filled = trade(current=100.3, stop=95.285, open_rate=100.3, initial_stop_loss_ratio=-0.05,
                   orders=[order(1000, "buy", price=100.3)] + held)
    assert problems_of(trades=[filled], states={1: waiting}) == set()
    adjusted = trade(current=100.3, stop=95.475, open_rate=100.5, initial_stop_loss_ratio=-0.05,
                     nr_of_successful_entries=2, amount=2.0,
                     orders=[order(1000, "buy", price=100.0), order(1001, "buy", price=101.0)] + held)
    assert problems_of(trades=[adjusted], states={1: {**waiting, "entry": 100.5}},
                       bal=balance(("BTC", 2.0, 204.0))) == set()
    trailed = trade(current=100.3, stop=95.4, open_rate=100.3, initial_stop_loss_ratio=-0.05,
                    orders=[order(1000, "buy", price=100.3)] + held)
    assert "contradicts_trade" in problems_of(trades=[trailed], states={1: waiting})


def test_a_trade_past_its_activation_price_must_be_active():
    waiting = state(phase=Phase.WAITING, peak=101.2, stop=None)
    assert problems_of(trades=[trade(current=101.2, stop=95.0)], states={1: waiting}) == set()
    assert "not_active" in problems_of(trades=[trade(current=101.5, stop=95.0)], states={1: waiting})
    # the best rate freqtrade saw counts too, unless a position adjustment reset the peak
    assert "not_active" in problems_of(trades=[trade(current=101.2, max_rate=101.6, stop=95.0)],
                                       states={1: waiting})
    adjusted = trade(current=101.2, max_rate=101.6, stop=95.0, nr_of_successful_entries=2)
    assert problems_of(trades=[adjusted], states={1: waiting}) == set()


def test_an_active_stop_is_no_looser_than_the_trailing_level():
    assert problems_of(trades=[trade(stop=95.0)], states={1: state(stop=None)}) == {"active_without_stop"}
    loose = state(stop=101.3)  # the level is 101.989 x 0.995 = 101.479
    assert "looser_than_trailing" in problems_of(trades=[trade(stop=101.3)], states={1: loose})
    within_a_tick = state(stop=101.4785)
    assert problems_of(trades=[trade(stop=101.479)], states={1: within_a_tick}) == set()


def test_a_trade_that_reached_breakeven_keeps_the_floor():
    floor = 100.0 * 1.002
    at_floor = state(phase=Phase.BREAKEVEN, peak=100.9, stop=floor, breakeven_at=T0 - 100)
    below = state(phase=Phase.BREAKEVEN, peak=100.9, stop=100.1, breakeven_at=T0 - 100)
    assert problems_of(trades=[trade(current=100.9, stop=100.2)], states={1: at_floor}) == set()
    assert problems_of(trades=[trade(current=100.9, stop=100.1)], states={1: below}) == {"looser_than_breakeven"}


def test_the_peak_keeps_pace_with_the_best_rate_the_bot_saw():
    assert problems_of(trades=[trade(max_rate=101.989)]) == set()
    assert "peak_behind" in problems_of(trades=[trade(current=101.9, max_rate=102.5)])


def test_freqtrades_stop_is_no_looser_than_the_plugins():
    assert problems_of(trades=[trade(stop=101.48)]) == set()  # rounded up to the tick: tighter
    assert "bot_stop_looser" in problems_of(trades=[trade(stop=101.2)])


def test_a_stop_through_the_price_has_its_exit():
    crossed = state(crossed_at=T0 - 50)
    assert problems_of(states={1: crossed}) == {"exit_due"}
    pending = trade(has_open_orders=True)
    assert checks_found(series(snapshot(trades=[pending], states={1: crossed}),
                               snapshot(trades=[pending], states={1: crossed}))) == (set(), {"exit_due"})


def test_a_rebuilt_state_is_a_problem():
    assert problems_of(states={1: state(rebuilds=1)}) == {"rebuilt"}


# ----- the exchange stop -----------------------------------------------------------------------


def test_exactly_one_live_stop_order_on_the_exchange():
    gone = [trade(stop_orders=())]  # freqtrade lists open and filled orders only
    problems, _ = findings(series(snapshot(trades=gone), snapshot(trades=gone)), RULES)
    assert [f.check for f in problems] == ["no_exchange_stop"]
    assert "(the plugin's last: order 1002 at 101.480 USDT, gone)" in problems[0].text
    assert problems_of(trades=[trade(stop_orders=(("1002", "open"), ("1003", "open")))]) == {
        "several_exchange_stops"}
    assert problems_of(trades=[trade(stop_orders=())], config={"stoploss_on_exchange": False}) == set()


def test_an_emergency_gap_is_a_problem_only_past_the_plugins_own_alarm_limit():
    behind = state(exchange_stop=100.0)  # bot stop 101.48: 1.48 % behind, emergency 1 %
    lag = [snapshot(states={1: behind}) for _ in range(3)]
    assert checks_found(series(*lag, every=10)) == (set(), {"exchange_stop_behind"})
    assert checks_found(series(*lag, every=RULES.lag_limit_s / 2)) == ({"exchange_stop_behind"}, set())
    within_policy = state(exchange_stop=101.0)  # 0.48 %: the policy may hold it
    assert problems_of(states={1: within_policy}) == set()


# ----- the bot: health line, settings ----------------------------------------------------------


def test_the_circuit_must_be_closed_and_nothing_rebuilt():
    assert problems_of(health_line=health(exchange={"circuit": "OPEN"})) == {"circuit_open"}
    assert checks_found(series(*[snapshot(health_line=health(exchange={"circuit": "HALF_OPEN"}))] * 2)) == (
        set(), {"circuit_half_open"})
    assert problems_of(health_line=health(rebuilt_states=2)) == {"rebuilt_states"}
    assert problems_of(health_line=health(tick_errors=1)) == {"tick_errors"}


def test_unprotected_trades_reported_by_the_plugin():
    reported = health(last_reconciliation={"unprotected_trades": [1], "foreign": 0})
    assert problems_of(health_line=reported) == {"unprotected"}
    closed_since = health(last_reconciliation={"unprotected_trades": [7], "foreign": 0})
    assert problems_of(health_line=closed_since) == set()


def test_no_health_line_yet_is_a_note_not_a_problem():
    quiet = snapshot(log=logs(None))
    verdict = judge("http://bot", series(quiet, quiet), [])
    assert verdict.status == OK and [f.check for f in verdict.notes] == ["no_health"]


def test_the_policy_comes_from_the_bots_settings_line_else_the_defaults():
    verdict = judge("http://bot", series(snapshot(), snapshot()), [])
    assert verdict.rules.from_bot and verdict.rules.exchange.min_update_interval_s == 3
    assert verdict.rules.breakeven_offset == 0.002 and len(verdict.rules.config.steps) == 2
    forgotten = snapshot(log=logs(health(), settings=None))
    verdict = judge("http://bot", series(forgotten, forgotten), [])
    assert not verdict.rules.from_bot and verdict.rules.exchange.min_update_interval_s == 60
    assert "settings_unknown" in {f.check for f in verdict.notes} and verdict.status == OK


def test_the_settings_line_is_read_back_through_the_plugins_own_validation():
    from ts_plugin.core.config import parse_config
    from ts_plugin.strategy.settings_report import format_line, settings_in_force

    written = parse_config({"activation_profit": 0.02, "trail_distance": 0.01,
                            "breakeven": {"trigger_profit": 0.008}, "time_activation": {"after_minutes": 90},
                            "steps": [{"profit": 0.03, "trail_distance": 0.006}],
                            "momentum": {"atr_multiplier": 2.0, "min_distance": 0.003, "max_distance": 0.02},
                            "exchange": {"min_update_interval_s": 30, "emergency_improvement": 0.02}})
    for exchange_in_use in (True, False):
        line = format_line(settings_in_force(written, {}, {}, exchange_in_use=exchange_in_use))
        rules = rules_from_settings(parse_settings(line))
        expected = written if exchange_in_use else written.model_copy(update={"exchange": rules.exchange})
        assert rules.config == expected
    assert not rules_from_settings({"activation_profit": "optimised 0.010-0.050"}).from_bot


def test_time_activation_and_the_steps_distance_with_the_settings_in_force():
    timed = rules_from_settings(parse_settings(SETTINGS_LINE.replace(
        "steps=", "time_activation.after_minutes=5 [config.json], time_activation.min_profit=0.001 [x], steps=")))
    waiting = state(phase=Phase.WAITING, peak=100.5, stop=None, opened_at=T0 - 600)
    due = [trade(current=100.5, stop=95.0)]
    assert checks_found(series(snapshot(trades=due, states={1: waiting}),
                               snapshot(trades=due, states={1: waiting})), timed)[0] == {"not_active"}
    assert checks_found(series(snapshot(trades=due, states={1: waiting}),
                               snapshot(trades=due, states={1: waiting})))[0] == set()  # no timer
    young = state(phase=Phase.WAITING, peak=100.5, stop=None, opened_at=T0 - 60)
    assert checks_found(series(snapshot(trades=due, states={1: young}),
                               snapshot(trades=due, states={1: young})), timed)[0] == set()
    # peak +4 %: the first step (from +3 %) trails 0.5 % behind, whatever distance was stored
    stepped = state(peak=104.0, stop=103.48, distance=0.005)
    assert problems_of(trades=[trade(current=104.0, stop=103.48)], states={1: stepped}) == set()
    stale = state(peak=104.0, stop=103.2, distance=0.008)
    assert problems_of(trades=[trade(current=104.0, stop=103.2)], states={1: stale}) == {"looser_than_trailing"}


def test_log_lines_of_other_loggers_and_garbage_are_ignored():
    records = [["", T0 * 1000, "freqtrade.worker", "WARNING", "smart_trailing health {}"],
               ["bad"], ["", "x", "ts_plugin", "INFO", "y"],
               ["", T0 * 1000, "ts_plugin", "INFO", "smart_trailing health {not json"],
               ["", T0 * 1000, "ts_plugin", "WARNING", "smart_trailing event=WARNING trade_id=1"]]
    log = read_plugin_log(records)
    assert log.health is None and [w.message for w in log.warnings] == ["smart_trailing event=WARNING trade_id=1"]
    assert logs(settings=SETTINGS_LINE).settings["steps"] == "[0.03:0.005,0.06:0.004]"


def test_repeated_warning_lines_are_shown_once_with_their_count():
    repeated = snapshot(log=logs(health(), warnings=["create stop failed", "circuit open", "create stop failed"]))
    assert warning_lines(repeated) == [
        "2026-09-21 14:12:20 UTC (a minute ago): circuit open",
        "2026-09-21 14:12:20 UTC (a minute ago), 2 times: create stop failed"]


# ----- holdings --------------------------------------------------------------------------------


def test_coins_no_open_trade_accounts_for_are_a_problem():
    stranded = balance(("BTC", 1.0, 102.0), ("ETH", 0.5, 25.0))
    assert problems_of(bal=stranded) == {"untracked_holding"}
    dust = balance(("BTC", 1.0, 102.0), ("ETH", 0.001, 0.05))  # 1 % of the 100 USDT stake is 1 USDT
    assert problems_of(bal=dust) == set()
    gone = balance(("BTC", 0.2, 20.4))
    assert problems_of(bal=gone) == {"missing_holding"}
    foreign = balance(("BTC", 1.0, 102.0), ("BNB", 3.0, 1800.0))
    assert checks_found(series(snapshot(bal=foreign), snapshot(bal=foreign))) == (set(), {"foreign_holding"})


def test_holdings_in_dry_run_and_futures():
    assert observe_holdings(snapshot(config={"dry_run": True}, bal=balance(("ETH", 5.0, 250.0))))[0] == []
    futures = {"trading_mode": "futures"}
    short = trade(pair="BTC/USDT:USDT", is_short=True, amount=0.5)

    def positions(*rows):
        return {"currencies": [{"currency": pair, "position": size, "side": side, "is_position": True,
                                "balance": 0, "est_stake": 50.0} for pair, size, side in rows]}

    matching = snapshot(config=futures, trades=[short], states={}, bal=positions(("BTC/USDT:USDT", 0.5, "short")))
    assert observe_holdings(matching)[0] == []
    stray = snapshot(config=futures, trades=[short], states={},
                     bal=positions(("BTC/USDT:USDT", 0.5, "short"), ("ETH/USDT:USDT", 2.0, "long")))
    assert [o.check for o in observe_holdings(stray)[0]] == ["untracked_position"]


# ----- verdicts, report, exit codes ------------------------------------------------------------


def test_verdicts_and_exit_codes():
    healthy = judge("http://a", series(snapshot(), snapshot()), [])
    broken = judge("http://b", series(snapshot(states={}), snapshot(states={})), [])
    missing = judge("http://c", [], [(T0, "http://c: cannot connect")])
    assert (healthy.status, broken.status, missing.status) == (OK, PROBLEM, UNREACHABLE)
    assert exit_code([healthy]) == 0 and exit_code([healthy, broken]) == 1
    assert exit_code([healthy, broken, missing]) == 2


def test_a_bot_that_stops_answering_during_the_session_is_a_problem():
    verdict = judge("http://a", series(snapshot(), snapshot()), [(T0 + 30, "http://a: cannot connect")])
    assert verdict.status == PROBLEM and verdict.problems[0].check == "stopped_answering"


def test_the_report_is_written_for_people():
    lagging = snapshot(trades=[trade(stop_orders=())])
    verdict = judge("http://127.0.0.1:8080", series(lagging, lagging), [])
    text = format_text([verdict], 60, 10)
    assert "http://127.0.0.1:8080: PROBLEM" in text
    assert "- trade #1 BTC/USDT: no live stop order on the exchange" in text
    assert "price 101.989 USDT (+1.99% vs entry 100.000 USDT)" in text
    assert "trailing ACTIVE since 2026-09-21 14:08:20 UTC (" in text
    assert "stop 101.479 USDT (freqtrade's 101.480 USDT, locks in +1.48% vs entry)" in text
    assert "exchange: no live stop order (the plugin's record: 101.480 USDT, order 1002, moved 1" in text
    assert "BTC: 1 BTC held, open trades account for 1 BTC" in text
    assert "Verdict: 0 OK, 1 with problems, 0 unreachable (exit code 1)" in text


# ----- polling and the command line ------------------------------------------------------------


class FakeClient:
    """Answers like freqtrade-client: None when unreachable, {"detail": ...} when refused."""

    def __init__(self, **answers):
        self.answers = answers

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.answers.get(name, {})


def test_polling_turns_the_clients_answers_into_clear_errors():
    with pytest.raises(BotUnavailable, match="cannot connect"):
        poll(FakeClient(show_config=None), "http://x", T0)
    with pytest.raises(BotUnavailable, match="login refused"):
        poll(FakeClient(show_config={"detail": "Unauthorized"}), "http://x", T0)
    with pytest.raises(BotUnavailable, match="not what freqtrade's REST API answers"):
        poll(FakeClient(show_config={"state": "running"}, status="<html>"), "http://x", T0)
    ok = FakeClient(show_config={"state": "running"}, status=[],
                    list_open_trades_custom_data={"detail": "No open trades found."},
                    balance={"currencies": []}, whitelist={"whitelist": ["BTC/USDT"]}, logs={"logs": []})
    assert poll(ok, "http://x", T0).states == {}


def test_targets_parse_urls_and_their_own_login():
    target = Target.parse("http://me:secret@127.0.0.1:8080/", "shared", "pw")
    assert (target.url, target.username, target.password) == ("http://127.0.0.1:8080", "me", "secret")
    with pytest.raises(ValueError, match="expected the bot's API address"):
        Target.parse("127.0.0.1:8080", None, None)


@pytest.mark.parametrize("arguments, message", [
    (["--api", "http://127.0.0.1:1", "--duration", "0.1"], "allowed 0.17"),
    (["--api", "http://127.0.0.1:1", "--duration", "soon"], "not a number of minutes"),
    (["--api", "localhost:8080"], "expected the bot's API address"),
    ([], "give the bot's REST API with --api URL"),
    (["--api", "http://127.0.0.1:1", "--interval", "30", "--duration", "0.2"], "longer than --duration"),
])
def test_bad_input_is_refused_with_a_message(arguments, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["diagnose", *arguments])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_the_config_file_gives_the_address_and_login(tmp_path, capsys):
    from tests.e2e.bot import free_port

    port = free_port()  # nothing listens there
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_server": {"listen_ip_address": "0.0.0.0", "listen_port": port,
                                                 "username": "u", "password": "p"}}))
    assert main(["diagnose", "--config", str(config), "--duration", "0.2", "--interval", "1"]) == 2
    output = capsys.readouterr().out
    assert f"http://127.0.0.1:{port}: UNREACHABLE" in output and "Traceback" not in output
    (tmp_path / "plain.json").write_text("{}")
    with pytest.raises(SystemExit):
        main(["diagnose", "--config", str(tmp_path / "plain.json")])
    assert "no api_server block" in capsys.readouterr().err


def test_severities_are_problem_or_note():
    assert {s.value for s in Severity} == {"problem", "note"}
