"""``evolve(state, **changes)``: ``dataclasses.replace`` for ``TrailState``, five times cheaper.

Every tick that changes a trade's state (a new best price while waiting, a raised stop) builds a new
frozen ``TrailState``. ``dataclasses.replace`` reads each of its two dozen fields by name into a dict
of keyword arguments and runs the frozen ``__init__``, which sets each field through
``object.__setattr__``: about 6 us a state, the largest part of such a tick in a backtest. ``evolve``
does the same with one function generated from the dataclass's own field list (as ``dataclasses``
generates ``__init__``): each field read from the old state or taken from ``changes`` and written
straight into its slot, about 1.2 us. ``TrailState`` has no ``__post_init__`` and no field with a
default factory, so nothing ``__init__`` does is skipped. The result equals what ``replace`` builds
(``tests/test_evolve.py`` holds it to that for every field).
"""

from __future__ import annotations

from dataclasses import MISSING, fields

from ts_plugin.core.state import TrailState

_KEEP = object()  # "this field is not changed"


def _build() -> object:
    names = [field.name for field in fields(TrailState)]
    assert not hasattr(TrailState, "__post_init__"), "evolve would skip TrailState.__post_init__"
    assert all(field.default_factory is MISSING and field.init for field in fields(TrailState))
    namespace: dict = {"_new": object.__new__, "_cls": TrailState, "_KEEP": _KEEP}
    lines = [f"def evolve(state, *, {', '.join(f'{name}=_KEEP' for name in names)}):", "    new = _new(_cls)"]
    for name in names:
        namespace[f"_set_{name}"] = getattr(TrailState, name).__set__  # the slot's own setter
        lines.append(f"    _set_{name}(new, state.{name} if {name} is _KEEP else {name})")
    lines.append("    return new")
    exec("\n".join(lines), namespace)  # noqa: S102 - code built from the dataclass's field names only
    return namespace["evolve"]


evolve = _build()
evolve.__doc__ = "A copy of ``state`` with the given fields changed, equal to ``dataclasses.replace``."
