"""The freqtrade adapter: ``SmartTrailingMixin``, the callback wrapping, the custom-data store and the
stop-path trace it writes, the hyperopt space, the settings report, the health writer, the freqtrade
version check and the backtest summary. Imports ``exchange`` and ``core``, never the tools.
"""
