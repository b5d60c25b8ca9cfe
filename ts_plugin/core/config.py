"""Configuration of the smart trailing stop: one validated, immutable object.

Ratios follow freqtrade (0.015 = 1.5 %) and are measured on price from the entry or the peak,
independent of leverage and fees. ``breakeven``, ``time_activation`` and ``momentum`` are off when
absent or null; ``steps`` null means no steps; ``exchange`` null means its defaults (the governor's
safety rules cannot be switched off, only tuned). Types are strict, so a typo such as ``"0.01"`` or
``"yes"`` is refused instead of silently coerced (an integer is accepted where a number is expected).
Validation happens once at start-up; the trading loop only ever sees a valid ``TrailingConfig``.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ts_plugin.core.config_messages import describe_errors, show

CONFIG_SECTION = "smart_trailing"

# Open interval (0, 1): a ratio of price that must move something and cannot exceed the price itself.
Ratio = Field(gt=0, lt=1)


class ConfigError(ValueError):
    """An invalid ``smart_trailing`` setting; the message names the key, the value and what is allowed."""


class _Block(BaseModel):
    # strict: "0.01", "yes" or true for a count are mistakes to report, not values to coerce
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class BreakevenConfig(_Block):
    """Before activation, once profit reaches ``trigger_profit``, lock the stop at entry x (1 + offset)."""

    trigger_profit: float = Field(gt=0, lt=1)
    offset: float = Field(default=0.002, ge=0, lt=1)

    @model_validator(mode="after")
    def _offset_below_trigger(self) -> "BreakevenConfig":
        if self.offset >= self.trigger_profit:
            raise ValueError(
                f"offset {self.offset} must be below trigger_profit {self.trigger_profit}, "
                "otherwise the breakeven stop would sit above the price that triggered it"
            )
        return self


class TimeActivationConfig(_Block):
    """Activate trailing once the trade is ``after_minutes`` old and at least ``min_profit`` up."""

    after_minutes: float = Field(gt=0, le=525_600)
    min_profit: float = Field(default=0.0, ge=0, lt=1)


class StepConfig(_Block):
    """From a peak profit of ``profit`` on, trail ``trail_distance`` behind the peak."""

    profit: float = Field(gt=0, lt=1)
    trail_distance: float = Field(gt=0, lt=1)


class MomentumConfig(_Block):
    """Scale the distance with volatility (ATR) and tighten it on strong momentum (rate of change).

    distance = atr_multiplier x ATR / close when ``atr_multiplier`` is set (else the step distance);
    multiplied by ``roc_factor`` while the rate of change over ``roc_period`` candles runs in the
    trade's favour by at least ``roc_threshold``; finally clamped to [min_distance, max_distance].
    """

    atr_period: int = Field(default=14, ge=2, le=500)
    atr_multiplier: float | None = Field(default=None, gt=0, le=50)
    roc_period: int = Field(default=12, ge=1, le=500)
    roc_threshold: float | None = Field(default=None, gt=0, lt=1)
    roc_factor: float = Field(default=0.5, gt=0, le=3)
    min_distance: float = Ratio
    max_distance: float = Ratio

    @model_validator(mode="after")
    def _bounds_ordered(self) -> "MomentumConfig":
        if self.min_distance > self.max_distance:
            raise ValueError(
                f"min_distance {self.min_distance} must not exceed max_distance {self.max_distance}"
            )
        if self.atr_multiplier is None and self.roc_threshold is None:
            raise ValueError("set atr_multiplier and/or roc_threshold, or remove the momentum block")
        return self


class ExchangeConfig(_Block):
    """How the stop order on the exchange follows the bot's stop (stoploss_on_exchange only)."""

    min_update_interval_s: float = Field(default=60.0, ge=0, le=86_400)
    min_improvement: float = Field(default=0.001, ge=0, lt=1)
    emergency_improvement: float = Field(default=0.01, gt=0, lt=1)
    hold_while_tightening: bool = True
    alert_unprotected_window_ms: float = Field(default=500.0, ge=0, le=600_000)
    orphan_check_interval_s: float = Field(default=300.0, ge=1, le=86_400)
    cancel_foreign_stop_orders: bool = False
    retry_attempts: int = Field(default=4, ge=1, le=20)
    retry_budget_s: float = Field(default=8.0, gt=0, le=120)
    circuit_failure_threshold: int = Field(default=5, ge=1, le=100)
    circuit_cooldown_s: float = Field(default=120.0, gt=0, le=86_400)
    # How far the exchange's reference price (Binance spot: a minutes-long average) may be from the
    # last price when a stop is clamped into its price band (see exchange/price_band.py).
    price_band_margin: float = Field(default=0.02, ge=0, le=0.2)
    # Also hold a native trailing order on the exchange while a trade trails, so the exchange goes
    # on trailing if the bot stops (see exchange/backstop.py; exchanges without support: a WARNING).
    native_backstop: bool = False

    @model_validator(mode="after")
    def _emergency_above_minimum(self) -> "ExchangeConfig":
        if self.emergency_improvement <= self.min_improvement:
            raise ValueError(
                f"emergency_improvement {self.emergency_improvement} must be greater than "
                f"min_improvement {self.min_improvement}"
            )
        return self


class TrailingConfig(_Block):
    """The whole smart trailing configuration (the ``smart_trailing`` section)."""

    activation_profit: float = Field(default=0.015, gt=0, lt=1)
    # "price": activate at entry x (1 + activation_profit). "profit_after_fees": activate once the
    # trade's profit as freqtrade computes it (fees, leverage and funding included) exceeds
    # activation_profit, as freqtrade's trailing_stop_positive_offset does (see builtin_match.py).
    activation_basis: Literal["price", "profit_after_fees"] = "price"
    trail_distance: float = Field(default=0.005, gt=0, lt=1)
    breakeven: BreakevenConfig | None = None
    time_activation: TimeActivationConfig | None = None
    steps: tuple[StepConfig, ...] = ()
    momentum: MomentumConfig | None = None
    exchange: ExchangeConfig = ExchangeConfig()
    notify: bool = True

    @field_validator("steps", mode="before")
    @classmethod
    def _steps_list(cls, value: Any) -> Any:
        """JSON has lists, not tuples; null means no steps."""
        if value is None:
            return ()
        return tuple(value) if isinstance(value, list) else value

    @field_validator("exchange", mode="before")
    @classmethod
    def _exchange_defaults(cls, value: Any) -> Any:
        """null means the defaults: the exchange safety rules can be tuned, never switched off."""
        return {} if value is None else value

    @model_validator(mode="after")
    def _steps_tighten(self) -> "TrailingConfig":
        previous_profit, previous_distance = 0.0, self.trail_distance
        for index, step in enumerate(self.steps):
            if step.profit <= previous_profit:
                raise ValueError(
                    f"steps[{index}].profit {step.profit} must be greater than the previous "
                    f"step's profit {previous_profit} (sorted, no overlap)"
                )
            if step.trail_distance > previous_distance:
                raise ValueError(
                    f"steps[{index}].trail_distance {step.trail_distance} must not exceed "
                    f"{previous_distance} (distances only tighten as profit grows)"
                )
            previous_profit, previous_distance = step.profit, step.trail_distance
        if self.breakeven and self.breakeven.trigger_profit >= self.activation_profit:
            raise ValueError(
                f"breakeven.trigger_profit {self.breakeven.trigger_profit} must be below "
                f"activation_profit {self.activation_profit}: breakeven acts before activation"
            )
        return self


def parse_config(raw: Mapping[str, Any] | None) -> TrailingConfig:
    """Validate a ``smart_trailing`` mapping; raise ``ConfigError`` naming every bad key and value."""
    if raw is None:
        return TrailingConfig()
    _require_mapping(raw)
    try:
        return TrailingConfig.model_validate(dict(raw))
    except ValidationError as exc:
        problems = describe_errors(TrailingConfig, CONFIG_SECTION, exc.errors(include_url=False))
        raise ConfigError(f"Invalid smart trailing configuration: {problems}") from None


def merge_settings(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge setting layers, later ones winning key by key (blocks are replaced, not deep-merged).

    A block is replaced whole so that a config.json block never inherits a stray key from the
    strategy's block that the user did not write. A layer that is not a mapping (the strategy's
    attribute or config.json's section written as a list or a string) is refused by name.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer is not None:
            _require_mapping(layer)
            merged.update(layer)
    return merged


def _require_mapping(raw: Any) -> None:
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"Invalid smart trailing configuration: {CONFIG_SECTION} = {show(raw)}: allowed: an object "
            "of settings, or null (for the strategy's smart_trailing attribute and for config.json's "
            "smart_trailing section alike)"
        )
