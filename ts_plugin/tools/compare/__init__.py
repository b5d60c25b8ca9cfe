"""``ts-plugin compare``: the user's strategy backtested in variants that differ only in their exit rules.

variants.py says what each variant is (plugin off, freqtrade's built-in trailing, the plugin with the
built-in's semantics, the user's settings, one smart rule added at a time); running.py runs them in
freqtrade's own engine on data loaded once; table.py turns each run into a row; explanation.py names
the largest differences and their causes; split.py optimises the ``smart_trailing`` space before a date.
"""
