"""ts_plugin: a smart, restart-proof trailing stop for Freqtrade strategies."""

from ts_plugin.strategy.compat import check_freqtrade

__version__ = "0.1.0"

__all__ = ["SmartTrailingMixin", "__version__"]

# Refuse a freqtrade the plugin cannot work with, with the versions in the message (reads the installed
# metadata only; freqtrade itself is not imported here).
check_freqtrade()


def __getattr__(name: str):
    # Lazy import: the pure core (machine, config) stays importable without loading freqtrade.
    if name == "SmartTrailingMixin":
        from ts_plugin.strategy.mixin import SmartTrailingMixin

        return SmartTrailingMixin
    raise AttributeError(name)
