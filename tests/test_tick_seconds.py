"""The tick's time in seconds is remembered between calls (``SmartTrailingMixin._ts_seconds``, a hot-path
saving: freqtrade's backtest datetimes carry ``ZoneInfo("UTC")``, whose ``timestamp()`` is slow); it must
give exactly ``timestamp()`` for any sequence of times, including an ambiguous local hour, where two
datetimes that compare equal (same tzinfo, different ``fold``) are an hour apart."""

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from tests.freqtrade_helpers import make_strategy

NEW_YORK = ZoneInfo("America/New_York")
times = st.one_of(
    st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.timezones()),
    st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(2100, 1, 1)),  # naive
    st.sampled_from([datetime(2025, 11, 2, 1, 30, tzinfo=NEW_YORK, fold=fold) for fold in (0, 1)]),
)


@given(st.lists(times, min_size=1, max_size=12))
def test_remembered_seconds_are_always_the_timestamp_of_this_tick(sequence):
    strategy = make_strategy()
    for moment in sequence + sequence[::-1]:
        assert strategy._ts_seconds(moment) == moment.timestamp(), moment


def test_an_ambiguous_hour_gives_each_fold_its_own_seconds():
    strategy = make_strategy()
    first, second = (datetime(2025, 11, 2, 1, 30, tzinfo=NEW_YORK, fold=fold) for fold in (0, 1))
    assert first == second  # Python ignores fold between datetimes of one tzinfo
    assert strategy._ts_seconds(first) == first.timestamp()
    assert strategy._ts_seconds(second) == first.timestamp() + 3600
