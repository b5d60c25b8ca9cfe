"""Soak: a live spot bot with stop on exchange, several pairs on real-candle price paths, faults and a
kill -9, bounded to a few minutes; then the exchange's own order records are checked.

The prices of four pairs follow real Binance 5m candles from ``../shared/data`` (four points per
candle: open, the two extremes, close), one candle a second. The test keeps every pair in a trade
with force-entries through the REST API, so each pair trades several times. Faults while it runs:
latency on every request (30 ms, 250 ms for 20 s); bursts of HTTP 429 on stop creates, cancels and
every endpoint (the last burst opens the circuit); -2011 on every cancel of an ACTIVE trade's stop
order, which stays live until the price reaches it and it fills (up to four such orders before the
kill, two after); one ``kill -9`` and a restart on the same database. The scenario and its figures are
in ``tests/e2e/soak.py``; the figures also go to ``soak.json`` in the test's tmp dir (``make soak``
prints them, ``python -m benchmarks.soak`` records them in BENCHMARKS.md).

At the end: no stop order on the exchange without an open trade whose current stop it is; exactly one
live stop per open trade (freqtrade's record and the stored state name it); per position, the stop
prices of the stop orders the exchange saw created never go down; the stored ``smart_trailing``
``stop`` and ``exchange_stop`` of every trade, sampled over REST during the run, never loosen; and the
bot's iterations positions spent without any live stop on the exchange, beyond what placing a first
stop or a cancel-then-create replacement needs (``soak.ITERATION_GRACES``), stay within
``soak.UNPROTECTED_ITERATIONS_BOUND`` for the whole run. Counted in iterations (freqtrade's heartbeat
after each), not seconds: a loaded machine makes each iteration longer, not the position's wait
longer in iterations; the seconds are reported as figures.

The same soak runs on Binance USD-M futures and on Bybit linear (``soak.PLANS``) with the native
backstop on and the ``E2ESoakAdjust`` strategy (a DCA while trailing, a partial exit, a DCA on a
dip, by trade id); on Binance the restart switches the backstop off. Their extra end checks: the
exchange's positions equal the open trades' amounts (no naked position), each live stop and backstop
closes exactly the position, no backstop without an open trade or left live with the feature off,
what the exchange filled per position equals what freqtrade booked for its trade, the wallet equals
the fills' realised profit, and every alarm the plugin raised reached the webhook receiver on
127.0.0.1 (every venue, spot too).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED_DATA
from tests.e2e import soak

pytestmark = pytest.mark.slow


def run_and_check(tmp_path, plan: soak.SoakPlan) -> None:
    reason = soak.data_missing(SHARED_DATA)
    if reason:
        pytest.skip(reason)
    report = soak.run_soak(tmp_path, SHARED_DATA, plan=plan)
    print(f"\nsoak report: {tmp_path / 'soak.json'}")
    print(json.dumps({k: v for k, v in report.items() if k not in ("per_trade", "timeline")}, indent=1))
    print("trade pair open_s exit first_stop_s replacements(max_s) bot_down_s unprotected_s adds partial_exits")
    for t in report["per_trade"]:
        print(f"{t['trade_id']} {t['pair']} {t['open_s']} {t['exit_reason']} {t['first_stop_s']} "
              f"{t['replacements']}({t['replacement_max_s']}) {t['bot_down_s']} {t['unprotected_s']} "
              f"{t.get('adds', 0)} {t.get('partial_exits', 0)}")
    assert not report["problems"], "soak found:\n- " + "\n- ".join(report["problems"])


def test_soak_live_spot_real_candles_faults_and_a_kill(tmp_path):
    run_and_check(tmp_path, soak.PLANS["spot"])


def test_soak_binance_futures_backstop_position_adjustments_and_backstop_off_at_restart(tmp_path):
    run_and_check(tmp_path, soak.PLANS["binance_futures"])


def test_soak_bybit_linear_backstop_and_position_adjustments(tmp_path):
    run_and_check(tmp_path, soak.PLANS["bybit"])
