"""The per-trade trailing state: one frozen value, and its JSON form for freqtrade's custom data.

The JSON form is what users read in Telegram's ``/list_custom_data <id> smart_trailing`` and the REST
API, so it uses plain words, prices and ISO-8601 UTC times. ``decode`` rejects anything it cannot trust
(wrong schema version, missing or mistyped fields) so the adapter can rebuild the state from the trade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

SCHEMA_VERSION = 1


class Phase(str, Enum):
    """Where a trade's trailing stop is in its life."""

    WAITING = "WAITING"  # initial hard stop (the strategy's ``stoploss``) in charge
    BREAKEVEN = "BREAKEVEN"  # stop locked at entry plus offset, trailing not yet active
    ACTIVE = "ACTIVE"  # trailing behind the peak
    CLOSED = "CLOSED"  # trade exited; kept for inspection, never stepped again


@dataclass(frozen=True, slots=True)
class TrailState:
    """Everything the machine needs to continue a trade's trailing stop exactly where it was.

    Prices are absolute. ``peak`` is the best price seen (highest for long, lowest for short).
    ``stop`` is None until breakeven or activation sets one. Times are epoch seconds taken from what
    freqtrade passes in, never from the wall clock, so backtests are deterministic.
    """

    is_short: bool
    entry: float
    activation_price: float
    peak: float
    stop: float | None
    phase: Phase
    opened_at: float
    updated_at: float
    activated_at: float | None = None
    breakeven_at: float | None = None
    distance: float | None = None
    stop_raises: int = 0
    rebuilds: int = 0
    exit_reason: str | None = None
    # When the stop the rules demanded was found already at or through the price: the trade is due
    # to exit now (the adapter exits it through freqtrade's exit path). Never cleared while open.
    crossed_at: float | None = None
    # The stop order on the exchange (stoploss_on_exchange only); moved_at is wall-clock epoch seconds.
    exchange_stop: float | None = None
    # Id of the stop order the plugin saw created last: stored before freqtrade commits its own
    # record, so a crash in between leaves a live order that reconciliation can recognise as ours.
    exchange_stop_id: str | None = None
    exchange_moved_at: float | None = None
    exchange_moves: int = 0
    exchange_skips: int = 0
    # The native trailing backstop held beside the stop (``exchange.native_backstop``): its order id
    # and its distance in the exchange's own unit. Stored only while one is held.
    backstop_id: str | None = None
    backstop_native: float | None = None
    # The quantity it was placed for (an order venue; a DCA entry or a partial exit re-places it), and
    # older backstops kept beside it until the price is back at ``backstop_kept_until`` (the peak they
    # trail from), so a replacement below the peak never holds less than the one it replaced.
    backstop_amount: float | None = None
    backstop_kept: tuple[str, ...] = ()
    backstop_kept_until: float | None = None


class StateError(ValueError):
    """Stored state that cannot be trusted; the caller rebuilds it from the trade."""


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def _epoch(text: Any, field: str, optional: bool = False) -> float | None:
    if text is None and optional:
        return None
    if not isinstance(text, str):
        raise StateError(f"{field}: expected an ISO-8601 time, got {text!r}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise StateError(f"{field}: {exc}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _price(value: Any, field: str, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StateError(f"{field}: expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise StateError(f"{field}: expected a positive finite price, got {value!r}")
    return number


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StateError(f"{field}: expected a non-negative integer, got {value!r}")
    return value


# Significant digits kept for the values the plugin computes (stop, activation price, distance):
# far more than any price tick needs, few enough to drop the last-bits noise of binary floats
# (60893.909999999996 -> 60893.91). The rounding moves a value by less than 1e-13 of it.
STORED_DIGITS = 14


def noise_free(value: float | None) -> float | None:
    """``value`` to ``STORED_DIGITS`` significant digits (nearest); idempotent and monotone. The
    machine compares stops and the activation price in this form (machine.step), so a state read
    back from its stored form steps exactly like the state that was never stored."""
    return None if value is None else float(f"{value:.{STORED_DIGITS}g}")


def encode(state: TrailState) -> dict[str, Any]:
    """The JSON object stored under the trade's ``smart_trailing`` custom-data key.

    Values the plugin computes are stored without float noise (``noise_free``); ``entry`` and
    ``peak`` are freqtrade's and the market's prices and are stored exactly as given, because the
    machine derives every level from them.
    """
    stored = {
        "v": SCHEMA_VERSION,
        "phase": state.phase.value,
        "side": "short" if state.is_short else "long",
        "entry": state.entry,
        "activation_price": noise_free(state.activation_price),
        "peak": state.peak,
        "stop": noise_free(state.stop),
        "distance": noise_free(state.distance),
        "stop_raises": state.stop_raises,
        "opened_at": _iso(state.opened_at),
        "breakeven_at": _iso(state.breakeven_at),
        "activated_at": _iso(state.activated_at),
        "updated_at": _iso(state.updated_at),
        "rebuilds": state.rebuilds,
        "exit_reason": state.exit_reason,
        "crossed_at": _iso(state.crossed_at),
        "exchange_stop": noise_free(state.exchange_stop),
        "exchange_stop_id": state.exchange_stop_id,
        "exchange_moved_at": _iso(state.exchange_moved_at),
        "exchange_moves": state.exchange_moves,
        "exchange_skips": state.exchange_skips,
    }
    if state.backstop_id is not None:
        stored["backstop_id"] = state.backstop_id
        stored["backstop_native"] = state.backstop_native
        if state.backstop_amount is not None:
            stored["backstop_amount"] = state.backstop_amount
    if state.backstop_kept:
        stored["backstop_kept"] = list(state.backstop_kept)
        stored["backstop_kept_until"] = state.backstop_kept_until
    return stored


def decode(stored: Any) -> TrailState:
    """Read a stored object back, or raise ``StateError`` saying what is wrong with it."""
    if not isinstance(stored, dict):
        raise StateError(f"expected a JSON object, got {type(stored).__name__}")
    if stored.get("v") != SCHEMA_VERSION:
        raise StateError(f"unknown schema version {stored.get('v')!r} (expected {SCHEMA_VERSION})")
    try:
        phase = Phase(stored["phase"])
        side = stored["side"]
        if side not in ("long", "short"):
            raise StateError(f"side: expected 'long' or 'short', got {side!r}")
        distance = stored["distance"]
        if distance is not None and not (isinstance(distance, (int, float)) and 0 < distance < 1):
            raise StateError(f"distance: expected a ratio in (0, 1), got {distance!r}")
        exit_reason = stored["exit_reason"]
        stop_id = stored.get("exchange_stop_id")  # absent in objects stored before it existed
        if stop_id is not None and not isinstance(stop_id, str):
            raise StateError(f"exchange_stop_id: expected text, got {stop_id!r}")
        if exit_reason is not None and not isinstance(exit_reason, str):
            raise StateError(f"exit_reason: expected text, got {exit_reason!r}")
        backstop_id = stored.get("backstop_id")  # present only while a backstop is held
        if backstop_id is not None and not isinstance(backstop_id, str):
            raise StateError(f"backstop_id: expected text, got {backstop_id!r}")
        kept = stored.get("backstop_kept") or []  # present only while older backstops are kept
        if not isinstance(kept, list) or not all(isinstance(k, str) for k in kept):
            raise StateError(f"backstop_kept: expected a list of order ids, got {kept!r}")
        return TrailState(
            is_short=side == "short",
            entry=_price(stored["entry"], "entry"),
            activation_price=_price(stored["activation_price"], "activation_price"),
            peak=_price(stored["peak"], "peak"),
            stop=_price(stored["stop"], "stop", optional=True),
            phase=phase,
            opened_at=_epoch(stored["opened_at"], "opened_at"),
            updated_at=_epoch(stored["updated_at"], "updated_at"),
            activated_at=_epoch(stored["activated_at"], "activated_at", optional=True),
            breakeven_at=_epoch(stored["breakeven_at"], "breakeven_at", optional=True),
            distance=None if distance is None else float(distance),
            stop_raises=_count(stored["stop_raises"], "stop_raises"),
            rebuilds=_count(stored["rebuilds"], "rebuilds"),
            exit_reason=exit_reason,
            # absent in objects stored before it existed
            crossed_at=_epoch(stored.get("crossed_at"), "crossed_at", optional=True),
            exchange_stop=_price(stored["exchange_stop"], "exchange_stop", optional=True),
            exchange_stop_id=stop_id,
            exchange_moved_at=_epoch(stored["exchange_moved_at"], "exchange_moved_at", optional=True),
            exchange_moves=_count(stored["exchange_moves"], "exchange_moves"),
            exchange_skips=_count(stored["exchange_skips"], "exchange_skips"),
            backstop_id=backstop_id,
            backstop_native=_price(stored.get("backstop_native"), "backstop_native", optional=True)
            if backstop_id is not None else None,
            backstop_amount=_price(stored.get("backstop_amount"), "backstop_amount", optional=True)
            if backstop_id is not None else None,
            backstop_kept=tuple(kept),
            backstop_kept_until=_price(stored.get("backstop_kept_until"), "backstop_kept_until")
            if kept else None,
        )
    except KeyError as exc:
        raise StateError(f"missing field {exc.args[0]!r}") from None
    except ValueError as exc:
        if isinstance(exc, StateError):
            raise
        raise StateError(str(exc)) from None
