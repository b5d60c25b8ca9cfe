"""The base-order rule: a class ahead of the mixin is refused exactly when it would shadow one of the
mixin's methods, and the refusal names the class and the methods (one line, freqtrade's
OperationalException); the start-up line naming the strategy's own overrides the plugin wrapped."""

import pytest
from freqtrade.exceptions import OperationalException
from freqtrade.strategy import IStrategy
from hypothesis import given
from hypothesis import strategies as st

from ts_plugin import SmartTrailingMixin
from ts_plugin.strategy.hooks import WiringError, describe_wrapped, mixin_methods

METHODS = sorted(mixin_methods(SmartTrailingMixin))


def test_the_mixins_methods_are_its_behaviour_not_its_settings():
    assert {"custom_stoploss", "custom_exit", "bot_loop_start", "order_filled", "ft_bot_start",
            "advise_indicators", "advise_exit"} <= set(METHODS)
    # settings a strategy is meant to set, and Python's own names, are not shadowing
    assert not {"smart_trailing", "use_custom_stoploss", "ts_trail_distance", "__init__", "_abc_impl"} & set(METHODS)


def test_a_plain_helper_ahead_that_defines_none_of_them_is_accepted():
    class IndicatorHelpers:
        smart_trailing = {"trail_distance": 0.01}  # a setting, not a method

        def populate_indicators(self, dataframe, metadata):
            return dataframe

        def shared_signal(self, dataframe):
            return dataframe

    class Helped(IndicatorHelpers, SmartTrailingMixin, IStrategy):
        pass

    assert Helped.populate_indicators is IndicatorHelpers.populate_indicators  # ahead of IStrategy's


def test_a_strategy_base_ahead_that_shadows_nothing_is_accepted():
    class MyBase(IStrategy):
        use_custom_stoploss = True
        stoploss = -0.05

        def populate_entry_trend(self, dataframe, metadata):
            return dataframe

    class Fine(MyBase, SmartTrailingMixin):
        pass

    assert Fine.__mro__.index(MyBase) < Fine.__mro__.index(SmartTrailingMixin)


def test_a_method_inherited_by_the_helper_is_found_on_the_class_that_defines_it():
    class Deep:
        def order_filled(self, pair, trade, order, current_time, **kwargs):
            return None

    class Helper(Deep):
        pass

    with pytest.raises(WiringError) as refused:
        class Strategy(Helper, SmartTrailingMixin, IStrategy):
            pass
    assert "(Deep defines order_filled)" in str(refused.value)
    assert "class Strategy(SmartTrailingMixin, Helper, IStrategy)" in str(refused.value)


def test_the_order_to_write_is_one_python_accepts():
    class Mine(SmartTrailingMixin, IStrategy):
        pass

    class Helper:
        def custom_exit(self, *args, **kwargs):
            return None

    for bases in ((Helper, SmartTrailingMixin), (Helper, SmartTrailingMixin, IStrategy), (Helper, Mine)):
        with pytest.raises(WiringError) as refused:
            type("Strategy", bases, {})
        written = str(refused.value).split("or write: class Strategy(")[1].rstrip(")").split(", ")
        names = {"SmartTrailingMixin": SmartTrailingMixin, "IStrategy": IStrategy, "Helper": Helper, "Mine": Mine}
        fixed = type("Strategy", tuple(names[name] for name in written), {})  # no MRO error, not refused
        assert fixed.__mro__.index(Helper) < fixed.__mro__.index(IStrategy)


@given(st.sets(st.sampled_from(METHODS), max_size=4))
def test_refused_exactly_when_a_base_ahead_shadows_and_every_name_is_said(names):
    body = {name: (lambda self, *args, **kwargs: None) for name in names}
    body["populate_indicators"] = lambda self, dataframe, metadata: dataframe
    helper = type("Helper", (), body)
    if not names:
        type("Accepted", (helper, SmartTrailingMixin, IStrategy), {})
        return
    with pytest.raises(OperationalException) as refused:
        type("Refused", (helper, SmartTrailingMixin, IStrategy), {})
    message = str(refused.value)
    assert isinstance(refused.value, WiringError) and "\n" not in message
    assert f"(Helper defines {', '.join(sorted(names))})" in message


def test_the_start_up_line_names_each_override_the_plugin_wrapped():
    class Mine(SmartTrailingMixin, IStrategy):
        def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
            return None  # no super()

        def bot_start(self, **kwargs):  # not wrapped: the plugin starts in ft_bot_start
            pass

    class Child(Mine):
        def custom_exit(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
            return None

    line = describe_wrapped(Child)
    assert "Mine.custom_stoploss, Child.custom_exit" in line and "bot_start" not in line
    assert describe_wrapped(type("Plain", (SmartTrailingMixin, IStrategy), {})) is None
