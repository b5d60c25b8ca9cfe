"""ts_plugin: a smart, restart-proof trailing stop for Freqtrade strategies."""

__version__ = "0.1.0"

__all__ = ["SmartTrailingMixin", "__version__"]


def __getattr__(name: str):
    # Lazy import: the pure core (machine, config) stays importable without loading freqtrade.
    if name == "SmartTrailingMixin":
        from ts_plugin.mixin import SmartTrailingMixin

        return SmartTrailingMixin
    raise AttributeError(name)
