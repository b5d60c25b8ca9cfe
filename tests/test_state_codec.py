"""The stored JSON form: round trip, readability, and refusal of anything untrustworthy."""

import json

import pytest

from ts_plugin.config import parse_config
from ts_plugin.machine import new_state, step
from ts_plugin.state import SCHEMA_VERSION, StateError, decode, encode

CONFIG = parse_config({})


def _active_state():
    state = new_state(50000.0, False, 1_700_000_000.123456, CONFIG)
    state, _ = step(state, 52000.0, 1_700_003_600.0, CONFIG)
    return state


def test_round_trip_is_exact():
    state = _active_state()
    assert decode(encode(state)) == state
    assert encode(decode(json.loads(json.dumps(encode(state))))) == encode(state)


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
    assert decode(older) == replace(state, exchange_stop_id=None)
