"""What operators run, reading only: ``status`` (read-only database), ``diagnose`` (REST), ``plot``,
the offline demo/backtest and its sample data. The ``ts-plugin`` command (``ts_plugin.cli``) sits on top;
only tools, the command and tests import the sandbox.
"""
