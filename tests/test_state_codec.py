"""The stored JSON form: round trip, readability, and refusal of anything untrustworthy."""

import json

import pytest

from ts_plugin.core.config import parse_config
from ts_plugin.core.machine import new_state, step
from ts_plugin.core.state import SCHEMA_VERSION, StateError, decode, encode

CONFIG = parse_config({})


def _active_state():
    state = new_state(50000.0, False, 1_700_000_000.123456, CONFIG)
    state, _ = step(state, 52000.0, 1_700_003_600.0, CONFIG)
    return state


def test_round_trip_is_exact():
    """The stored form reads back to itself exactly; the state differs only by float noise in the
    values the plugin computes (activation price 50749.99999999999 is stored as 50750.0)."""
    from dataclasses import replace

    state = _active_state()
    assert encode(decode(json.loads(json.dumps(encode(state))))) == encode(state)
    back = decode(encode(state))
    assert back == replace(state, activation_price=back.activation_price)
    assert back.activation_price == 50750.0 and abs(state.activation_price - 50750.0) < 1e-9


@pytest.mark.parametrize("is_short", [False, True])
def test_stored_prices_carry_no_float_noise(is_short):
    from dataclasses import replace

    state = replace(_active_state(), is_short=is_short, stop=60893.909999999996, peak=61200.0,
                    distance=0.0034999999999999996, exchange_stop=60893.909999999996)
    stored = encode(state)
    assert (stored["stop"], stored["exchange_stop"], stored["distance"]) == (60893.91, 60893.91, 0.0035)
    assert "60893.91," in json.dumps(stored) and "99999" not in json.dumps(stored)
    assert stored["peak"] == 61200.0 and stored["entry"] == 50000.0  # inputs: stored as given
    back = decode(stored)
    assert abs(back.stop - state.stop) < state.stop * 1e-13  # the same stop within float noise
    assert encode(back) == stored


def test_a_stop_tighter_only_by_float_noise_is_no_raise():
    """What makes a restart invisible: a level tighter than the held stop only within the stored
    precision does not replace it, so the reloaded (rounded) stop and the original decide alike."""
    import math
    from dataclasses import replace

    active = _active_state()
    level = 61200.0 * (1 - active.distance)  # what a tick at this peak computes
    state = replace(active, peak=61200.0, stop=math.nextafter(level, 0))  # one float step looser
    for held in (state, decode(encode(state))):
        after, events = step(held, 61100.0, 1_700_004_000.0, CONFIG)
        assert after.stop == held.stop and after.stop_raises == held.stop_raises
        assert "STOP_RAISED" not in [e.name for e in events]
    # A real raise, however small on the price's scale, still happens.
    after, events = step(replace(state, stop=level * (1 - 1e-9)), 61100.0, 1_700_004_000.0, CONFIG)
    assert after.stop == level and "STOP_RAISED" in [e.name for e in events]


def test_stored_form_reads_well():
    stored = encode(_active_state())
    assert stored["v"] == SCHEMA_VERSION and stored["phase"] == "ACTIVE" and stored["side"] == "long"
    assert stored["activated_at"] == "2023-11-14T23:13:20Z"
    assert len(json.dumps(stored)) < 600


@pytest.mark.parametrize(
    "mutate, complaint",
    [
        (lambda d: d.update(v=99), "schema version"),
        (lambda d: d.pop("peak"), "missing field 'peak'"),
        (lambda d: d.update(peak="52000"), "peak"),
        (lambda d: d.update(peak=-1), "peak"),
        (lambda d: d.update(phase="FLYING"), "FLYING"),
        (lambda d: d.update(side="up"), "side"),
        (lambda d: d.update(opened_at="yesterday"), "opened_at"),
        (lambda d: d.update(stop_raises=1.5), "stop_raises"),
        (lambda d: d.update(distance=3), "distance"),
        (lambda d: d.update(exchange_stop_id=1002), "exchange_stop_id"),
    ],
)
def test_untrustworthy_state_is_refused(mutate, complaint):
    stored = encode(_active_state())
    mutate(stored)
    with pytest.raises(StateError, match=complaint):
        decode(stored)


@pytest.mark.parametrize("stored", ["{not json", 42, None, [1, 2]])
def test_non_objects_are_refused(stored):
    with pytest.raises(StateError):
        decode(stored)


def test_objects_stored_before_the_stop_id_existed_still_read():
    from dataclasses import replace

    state = replace(_active_state(), exchange_stop=51_000.0, exchange_stop_id="1002")
    assert decode(encode(state)).exchange_stop_id == "1002"
    older = encode(state)
    del older["exchange_stop_id"]
    assert decode(older) == replace(decode(encode(state)), exchange_stop_id=None)
