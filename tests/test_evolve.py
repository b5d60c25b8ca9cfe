"""``evolve`` builds exactly the state ``dataclasses.replace`` builds, for any change of any field."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ts_plugin.core.evolve import evolve
from ts_plugin.core.state import Phase, TrailState, encode

BASE = TrailState(is_short=False, entry=100.0, activation_price=101.5, peak=100.0, stop=None,
                  phase=Phase.WAITING, opened_at=0.0, updated_at=0.0)
NAMES = [field.name for field in fields(TrailState)]
values = st.one_of(st.none(), st.floats(allow_nan=False), st.integers(0, 10), st.booleans(), st.text(max_size=5),
                   st.sampled_from(list(Phase)), st.tuples(st.text(max_size=3)))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES), values, max_size=len(NAMES)))
def test_evolve_equals_replace(changes):
    expected = replace(BASE, **changes)
    built = evolve(BASE, **changes)
    assert type(built) is TrailState
    assert [getattr(built, name) for name in NAMES] == [getattr(expected, name) for name in NAMES]
    assert built == expected and hash(built) == hash(expected)


def test_evolve_leaves_the_original_alone_and_stays_frozen():
    raised = evolve(BASE, stop=99.0, phase=Phase.ACTIVE, updated_at=5.0)
    assert BASE.stop is None and BASE.phase is Phase.WAITING
    assert encode(raised) == encode(replace(BASE, stop=99.0, phase=Phase.ACTIVE, updated_at=5.0))
    with pytest.raises(AttributeError):
        raised.stop = 1.0  # type: ignore[misc]


def test_evolve_refuses_an_unknown_field_as_replace_does():
    with pytest.raises(TypeError):
        evolve(BASE, top=1.0)
