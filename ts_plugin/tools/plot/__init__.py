"""``ts-plugin plot``: pictures of every trade's stop path.

replay.py replays a backtest trade's stops from its candles (pure); trace.py is the bounded stop path a
dry-run/live trade stores as it trades; sources.py reads a backtest result or a trade database (read
only); timerange.py picks the trades and candles of --timerange; figure.py draws one offline HTML page
per pair with plotly.
"""
