"""Settings through freqtrade's own start-up (StrategyResolver): refused by name, or null honoured."""

from pathlib import Path

import pytest
from freqtrade.enums import CandleType, RunMode, TradingMode
from freqtrade.exceptions import OperationalException
from freqtrade.resolvers import StrategyResolver

from tests.freqtrade_helpers import AuditStrategy, make_strategy
from ts_plugin.core.config import ConfigError

STRATEGIES = Path(__file__).parents[1] / "user_data" / "strategies"


def load_sample(tmp_path: Path, section: object):
    """SmartTrailingSample as `freqtrade trade` builds it, with config.json's smart_trailing section."""
    config = {"strategy": "SmartTrailingSample", "strategy_path": str(STRATEGIES), "user_data_dir": tmp_path,
              "runmode": RunMode.DRY_RUN, "dry_run": True, "stake_currency": "USDT", "timeframe": "5m",
              "candle_type_def": CandleType.SPOT, "trading_mode": TradingMode.SPOT, "smart_trailing": section}
    return StrategyResolver.load_strategy(config)


def test_null_blocks_are_honoured_at_start_up(tmp_path):
    config = load_sample(tmp_path, {"steps": None, "exchange": None, "momentum": None})._ts_config()
    assert config.steps == () and config.exchange.min_update_interval_s == 60 and config.momentum is None
    assert config.breakeven is not None  # the strategy's block survives: only named keys are replaced


@pytest.mark.parametrize("section, expected", [
    ({"notify": "yes"}, 'smart_trailing.notify = "yes": allowed: true or false, not a string'),
    ({"activation_profit": "0.02"}, 'smart_trailing.activation_profit = "0.02": allowed: a number > 0 and < 1'),
    ({"exchange": {"retry_attempts": True}}, "smart_trailing.exchange.retry_attempts = true: allowed: an integer"),
])
def test_bad_values_stop_start_up_by_name(tmp_path, section, expected):
    with pytest.raises(OperationalException) as caught:
        load_sample(tmp_path, section)
    assert expected in str(caught.value)


@pytest.mark.parametrize("section", [[{"trail_distance": 0.01}], "trail_distance=0.01"])
def test_a_section_that_is_not_an_object_stops_start_up_by_name(tmp_path, section):
    # ConfigError until the mixin turns it into freqtrade's OperationalException like the others
    with pytest.raises((ConfigError, OperationalException), match=r"smart_trailing = .*: allowed: an object"):
        load_sample(tmp_path, section)


@pytest.mark.parametrize("attribute", [["activation_profit", 0.02], "activation_profit=0.02"])
def test_a_strategy_attribute_that_is_not_a_dict_is_refused_by_name(attribute):
    class Listed(AuditStrategy):
        smart_trailing = attribute

    with pytest.raises((ConfigError, OperationalException), match=r"smart_trailing = .*: allowed: an object"):
        make_strategy(Listed)
