"""The pure rules and their types: state machine, per-trade state and its stored form, settings and
their messages, events, momentum indicators, the consistency of a stored state with its trade.

Imports nothing of freqtrade, ccxt, databases or the rest of the package (a test checks it).
"""
