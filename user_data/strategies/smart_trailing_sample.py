"""SmartTrailingSample for this folder (freqtrade looks for strategies in user_data/strategies).

The sample itself ships inside the package, so that ``ts-plugin demo`` works after ``pip install``:
read it in ts_plugin/data/strategies/smart_trailing_sample.py (or, installed, next to ts_plugin's
files). freqtrade loads only classes defined in this file, hence the one-line subclass.
"""

from ts_plugin.data.strategies.smart_trailing_sample import SmartTrailingSample as _Shipped


class SmartTrailingSample(_Shipped):
    pass
