"""``ts-plugin plot --timerange``: which trades a page draws and which candles it shows.

The range is freqtrade's own format (``20180115-20180120``, ``20180115-``, ``-20180120``), parsed by
freqtrade's ``TimeRange`` so it means on a chart what it means to ``freqtrade backtesting``. A trade
is drawn when it was open at any moment of the range; the page shows the range's candles, widened so
that every drawn trade is whole (its entry and its exit on the chart)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, TypeVar

EXAMPLE = "20180115-20180120"


class TimeRangeError(ValueError):
    """A ``--timerange`` value freqtrade's format does not accept; the message names it."""


@dataclass(frozen=True)
class Span:
    """A time range in epoch seconds; ``None`` at an open end."""

    text: str
    start: float | None = None
    stop: float | None = None

    def overlaps(self, opened: float, closed: float | None) -> bool:
        """Whether a trade open from ``opened`` to ``closed`` (None: still open) was open in the range."""
        if self.stop is not None and opened >= self.stop:
            return False
        return self.start is None or closed is None or closed >= self.start


def parse_span(text: str) -> Span:
    """``--timerange`` in freqtrade's format; TimeRangeError with the value and an example otherwise."""
    from freqtrade.configuration import TimeRange

    try:
        parsed = TimeRange.parse_timerange(text)
    except Exception as exc:  # freqtrade's ConfigurationError, worded for its own option
        raise TimeRangeError(f"{text!r} is not a time range in freqtrade's format such as {EXAMPLE}, "
                             f"20180115- or -20180120 ({exc})") from None
    start = float(parsed.startts) if parsed.starttype else None
    stop = float(parsed.stopts) if parsed.stoptype else None
    if start is None and stop is None:
        raise TimeRangeError(f"{text!r} names neither a start nor an end (such as {EXAMPLE})")
    return Span(text, start, stop)


T = TypeVar("T")


def trades_in(trades: Iterable[T], span: Span | None) -> list[T]:
    """The trades (anything with ``open_time`` and ``close_time``) open at some moment of ``span``."""
    if span is None:
        return list(trades)
    return [trade for trade in trades if span.overlaps(trade.open_time, trade.close_time)]
